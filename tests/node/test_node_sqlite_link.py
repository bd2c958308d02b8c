"""The SQLite link touches ``sqlite3`` only on the connection's own thread.

A ``sqlite3`` cursor used from two threads at once crashes the process
(a cursor closed on the event loop's thread while its statement still ran on
the connection's thread killed a CI run with a segmentation fault). These
tests record the thread of every ``sqlite3`` call the node's database makes,
through writes, reads, constraint violations and a query cancelled halfway.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from functools import partial
from pathlib import Path
from typing import Any, Self

import pytest
from sqlalchemy import text

from baliza.node.storage import Database, TrustEvents
from baliza.node.storage import database as database_module
from baliza.node.storage.sqlite_link import sqlite_connector
from baliza.protocol.errors import StorageError

_calls: list[tuple[str, int]] = []


def _note(name: str) -> None:
    _calls.append((name, threading.get_ident()))


class _RecordingCursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = (), /) -> Self:
        _note("cursor.execute")
        return super().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> Self:
        _note("cursor.executemany")
        return super().executemany(sql, parameters)

    def fetchall(self) -> list[Any]:
        _note("cursor.fetchall")
        return super().fetchall()

    def close(self) -> None:
        _note("cursor.close")
        super().close()


class _RecordingConnection(sqlite3.Connection):
    def cursor(self, factory: Any = _RecordingCursor) -> Any:
        _note("connection.cursor")
        return super().cursor(factory)

    def commit(self) -> None:
        _note("connection.commit")
        super().commit()

    def rollback(self) -> None:
        _note("connection.rollback")
        super().rollback()

    def close(self) -> None:
        _note("connection.close")
        super().close()


# Counting to this many in a recursive query keeps SQLite busy for a while
# (about a second on the benchmark machine), long enough to cancel it halfway.
_SLOW_QUERY = text(
    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 3000000) "
    "SELECT count(*) FROM n"
)


@pytest.fixture
async def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setattr(
        database_module,
        "sqlite_connector",
        partial(sqlite_connector, factory=_RecordingConnection),
    )
    _calls.clear()
    database = await Database.open(f"sqlite:///{tmp_path / 'link.db'}")
    await database.upgrade()
    return database


async def test_every_sqlite_call_runs_on_the_connections_thread(recorded: Database) -> None:
    loop_thread = threading.get_ident()
    async with recorded.transaction() as session:
        await TrustEvents(session).record(at_ms=1, actor="a", action="x", subject="s")
    async with recorded.transaction(readonly=True) as session:
        assert [e.subject for e in await TrustEvents(session).list(limit=10)] == ["s"]
    with pytest.raises(StorageError):
        async with recorded.transaction() as session:
            await session.execute(text("INSERT INTO no_such_table VALUES (1)"))

    async def slow() -> None:
        async with recorded.transaction(readonly=True) as session:
            await session.execute(_SLOW_QUERY)

    for delay in (0.0, 0.01, 0.05):
        task = asyncio.create_task(slow())
        await asyncio.sleep(delay)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    # The node goes on after the cancellations, and the database answers.
    async with recorded.transaction() as session:
        await TrustEvents(session).record(at_ms=2, actor="a", action="x", subject="t")
    await recorded.close()

    names = {name for name, _ in _calls}
    assert {"connection.cursor", "cursor.execute", "cursor.close", "connection.close"} <= names
    on_loop = [name for name, thread in _calls if thread == loop_thread]
    assert on_loop == []


async def test_results_keep_rows_counts_and_ids_after_the_cursor_closed(
    recorded: Database,
) -> None:
    async with recorded.transaction() as session:
        await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
        inserted = await session.execute(text("INSERT INTO t (v) VALUES ('a')"))
        assert inserted.lastrowid == 1  # type: ignore[attr-defined]
        await session.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "b"}, {"v": "c"}])
        updated = await session.execute(text("UPDATE t SET v = 'z' WHERE id > 1"))
        assert updated.rowcount == 2  # type: ignore[attr-defined]
        rows = (await session.execute(text("SELECT id, v FROM t ORDER BY id"))).all()
        assert [tuple(r) for r in rows] == [(1, "a"), (2, "z"), (3, "z")]
        empty = (await session.execute(text("SELECT id FROM t WHERE id > 9"))).all()
        assert empty == []
    await recorded.close()
