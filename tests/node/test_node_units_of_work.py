"""Database.run: a unit of work is one transaction, run whole off the event loop on SQLite."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import Connection, insert, select

from baliza.node.storage import Database
from baliza.node.storage.models import TrustEventRow, table_of
from baliza.protocol.errors import InputError, ReasonCode, StorageError

_events = table_of(TrustEventRow)


def _record(connection: Connection, subject: str, seq: int | None = None) -> None:
    row = {"at_ms": 1, "actor": "t", "action": "a", "subject": subject, "detail": "{}"}
    connection.execute(insert(_events), row if seq is None else row | {"seq": seq})


def _subjects(connection: Connection) -> list[str]:
    return sorted(connection.execute(select(_events.c.subject)).scalars())


async def test_a_unit_commits_whole_or_not_at_all(database: Database) -> None:
    def two(connection: Connection) -> int:
        _record(connection, "one")
        _record(connection, "two")
        return 2

    assert await database.run(two, write=True) == 2

    def half_then_refuse(connection: Connection) -> None:
        _record(connection, "three")
        raise InputError(ReasonCode.INCONSISTENT, "refused halfway", path="x")

    with pytest.raises(InputError):  # a BalizaError passes through as it was
        await database.run(half_then_refuse, write=True)
    assert await database.run(_subjects, write=False) == ["one", "two"]  # nothing half-written


async def test_a_constraint_violation_is_a_conflict_and_stores_nothing(database: Database) -> None:
    await database.run(lambda c: _record(c, "first", seq=7), write=True)

    def clash(connection: Connection) -> None:
        _record(connection, "second")
        _record(connection, "again", seq=7)

    with pytest.raises(StorageError) as raised:
        await database.run(clash, write=True)
    assert raised.value.reason is ReasonCode.CONFLICT
    assert "again" not in str(raised.value)  # the statement's parameters never leak
    assert await database.run(_subjects, write=False) == ["first"]


# PostgreSQL units run through run_sync over asyncpg on the loop, by design.
@pytest.mark.parametrize("database_engine", ["sqlite"])
async def test_sqlite_units_never_run_on_the_event_loop_thread(database: Database) -> None:
    loop_thread = threading.get_ident()
    seen: list[int] = []

    def where(connection: Connection) -> None:
        seen.append(threading.get_ident())
        connection.execute(select(_events.c.seq)).all()

    await asyncio.gather(*(database.run(where, write=w) for w in (True, False) * 5))
    assert len(seen) == 10 and loop_thread not in seen


@pytest.mark.parametrize("database_engine", ["sqlite"])
async def test_readers_read_while_the_writer_writes(database: Database) -> None:
    inside = threading.Event()
    release = threading.Event()

    def slow_write(connection: Connection) -> None:
        _record(connection, "pending")
        inside.set()
        release.wait(10)

    writing = asyncio.ensure_future(database.run(slow_write, write=True))
    await asyncio.get_running_loop().run_in_executor(None, inside.wait, 10)
    # WAL: the read sees the last commit, not the unit still open, and does not wait for it.
    assert await asyncio.wait_for(database.run(_subjects, write=False), 5) == []
    release.set()
    await writing
    assert await database.run(_subjects, write=False) == ["pending"]
