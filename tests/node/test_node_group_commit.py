"""Group commit: concurrent writes share units of work; a bad item fails alone."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from sqlalchemy import Connection, insert, select

from baliza.node.services.group_commit import GroupCommit
from baliza.node.storage import Database
from baliza.node.storage.models import TrustEventRow, table_of
from baliza.protocol.errors import ReasonCode, StorageError

_events = table_of(TrustEventRow)


def _record(connection: Connection, subject: str) -> None:
    connection.execute(
        insert(_events),
        {"at_ms": 1, "actor": "t", "action": "a", "subject": subject, "detail": "{}"},
    )


def _subjects(connection: Connection) -> list[str]:
    return sorted(connection.execute(select(_events.c.subject)).scalars())


async def test_concurrent_items_share_units_and_all_commit(database: Database) -> None:
    calls: list[int] = []

    def write(connection: Connection, items: Sequence[str]) -> list[str]:
        calls.append(len(items))
        for item in items:
            _record(connection, item)
        return [f"stored {item}" for item in items]

    commits = GroupCommit(database, write)
    results = await asyncio.gather(*(commits.submit(f"item {i}") for i in range(50)))
    assert results == [f"stored item {i}" for i in range(50)]  # each its own result
    stored = await database.run(_subjects, write=False)
    assert stored == sorted(f"item {i}" for i in range(50))
    assert sum(calls) == 50
    assert len(calls) < 50  # shared: fewer units than items


async def test_a_failing_item_fails_alone(database: Database) -> None:
    def write(connection: Connection, items: Sequence[str]) -> list[None]:
        for item in items:
            if item == "bad":
                raise StorageError(ReasonCode.CONFLICT, "refused")
            _record(connection, item)
        return [None for _ in items]

    commits = GroupCommit(database, write)
    results = await asyncio.gather(
        *(commits.submit(x) for x in ("one", "bad", "two")), return_exceptions=True
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], StorageError)
    stored = await database.run(_subjects, write=False)
    assert stored == ["one", "two"]  # nothing of the bad item, nothing lost of the others


async def test_an_unexpected_error_reaches_every_waiter(database: Database) -> None:
    def write(connection: Connection, items: Sequence[str]) -> list[None]:
        raise RuntimeError("bug")

    commits = GroupCommit(database, write)
    with pytest.raises(RuntimeError):
        await commits.submit("x")
