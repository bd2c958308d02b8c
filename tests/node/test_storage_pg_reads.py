"""PostgreSQL units that only read: their statements alone, and a dropped connection survived.

A reading unit used to cost six round trips before its answer (the pool's
pre-ping opens and rolls back a transaction, then ``BEGIN``, the statement,
``COMMIT``). It now sends its statements and nothing else: the server's own
statements run each in its own transaction (no ``BEGIN`` around them). When
the server drops the pooled connection (a restart, an idle timeout, an
administrator's ``pg_terminate_backend``), the next read runs again on a new
connection instead of failing; a write still begins, commits and rolls back
as one transaction.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, event, text

from baliza.node.storage import Database
from baliza.protocol.errors import StorageError


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_engine(request: pytest.FixtureRequest) -> str:
    """PostgreSQL only: SQLite's units run on the node's own threads, with no pool to ping."""
    engine: str = request.param
    return engine


async def test_a_read_sends_its_statements_and_no_transaction(database: Database) -> None:
    await database.run(lambda c: c.execute(text("SELECT 1")), write=False)  # pool warmed
    sent: list[str] = []

    def capture(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        sent.append(sql.strip().split()[0].upper())

    for engine in database.engines:
        event.listen(engine, "before_cursor_execute", capture)
    try:

        def read(connection: Connection) -> tuple[int, int, int]:
            # Inside a transaction both statements would share one transaction id.
            first = connection.execute(text("SELECT pg_current_xact_id()::text::bigint"))
            second = connection.execute(text("SELECT pg_current_xact_id()::text::bigint"))
            count = connection.execute(text("SELECT count(*) FROM notices")).scalar_one()
            return int(first.scalar_one()), int(second.scalar_one()), int(count)

        first, second, count = await database.run(read, write=False)
    finally:
        for engine in database.engines:
            event.remove(engine, "before_cursor_execute", capture)
    assert first != second and count == 0
    assert sent == ["SELECT", "SELECT", "SELECT"]


async def test_a_read_survives_the_server_dropping_its_connection(database: Database) -> None:
    def backend(connection: Connection) -> int:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())

    first = await database.run(backend, write=False)

    def terminate(connection: Connection) -> None:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})

    await database.run(terminate, write=True)
    second = await database.run(backend, write=False)
    assert second != first


async def test_a_write_that_fails_leaves_nothing(database: Database) -> None:
    def half(connection: Connection) -> None:
        connection.execute(
            text(
                "INSERT INTO trust_events (at_ms, actor, action, subject, detail) "
                "VALUES (1, 'test', 'test', 'x', 'half')"
            )
        )
        connection.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(StorageError):
        await database.run(half, write=True)
    left = await database.run(
        lambda c: c.execute(
            text("SELECT count(*) FROM trust_events WHERE detail = 'half'")
        ).scalar_one(),
        write=False,
    )
    assert left == 0
