"""Group commit: concurrent writes share transactions; a bad item fails alone."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from baliza.node.services.group_commit import GroupCommit
from baliza.node.storage import Database, TrustEvents
from baliza.protocol.errors import ReasonCode, StorageError


async def test_concurrent_items_share_transactions_and_all_commit(database: Database) -> None:
    calls: list[int] = []

    async def write(session: AsyncSession, items: Sequence[str]) -> None:
        calls.append(len(items))
        for item in items:
            await TrustEvents(session).record(at_ms=1, actor="t", action="a", subject=item)

    commits = GroupCommit(database, write)
    await asyncio.gather(*(commits.submit(f"item {i}") for i in range(50)))
    async with database.transaction() as session:
        stored = [e.subject for e in await TrustEvents(session).list(limit=100)]
    assert sorted(stored) == sorted(f"item {i}" for i in range(50))
    assert sum(calls) == 50
    assert len(calls) < 50  # shared: fewer transactions than items


async def test_a_failing_item_fails_alone(database: Database) -> None:
    async def write(session: AsyncSession, items: Sequence[str]) -> None:
        for item in items:
            if item == "bad":
                raise StorageError(ReasonCode.CONFLICT, "refused")
            await TrustEvents(session).record(at_ms=1, actor="t", action="a", subject=item)

    commits = GroupCommit(database, write)
    results = await asyncio.gather(
        *(commits.submit(x) for x in ("one", "bad", "two")), return_exceptions=True
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], StorageError)
    async with database.transaction() as session:
        stored = sorted(e.subject for e in await TrustEvents(session).list(limit=100))
    assert stored == ["one", "two"]  # nothing of the bad item, nothing lost of the others


async def test_an_unexpected_error_reaches_every_waiter(database: Database) -> None:
    async def write(session: AsyncSession, items: Sequence[str]) -> None:
        raise RuntimeError("bug")

    commits = GroupCommit(database, write)
    with pytest.raises(RuntimeError):
        await commits.submit("x")
