"""Group commit: concurrent requests share one transaction (and one fsync).

With SQLite in ``synchronous=FULL`` (and PostgreSQL alike) a commit costs a
disk flush; one commit per request caps a node at a few hundred writes a
second however fast the rest is (docs/benchmarks.md). Requests that arrive while a
transaction is being written wait for the next one, which takes all of them
at once. If a combined write fails, its items are written one by one, so a
bad item fails alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from baliza.node.storage import Database
from baliza.protocol.errors import BalizaError

T = TypeVar("T")
Writer = Callable[[AsyncSession, Sequence[T]], Awaitable[None]]


class GroupCommit(Generic[T]):
    """Write items in shared transactions; ``submit`` returns once its item is committed."""

    def __init__(self, db: Database, write: Writer[T], *, max_batch: int = 100) -> None:
        self._db = db
        self._write = write
        self._max_batch = max_batch
        self._queue: list[tuple[T, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> None:
        """Queue ``item`` and wait until it is committed; raise what its write raised."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="group commit")
        await asyncio.shield(future)

    async def _drain(self) -> None:
        while self._queue:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            try:
                async with self._db.transaction() as session:
                    await self._write(session, [item for item, _ in batch])
            except BalizaError:
                await self._one_by_one(batch)
                continue
            except asyncio.CancelledError:
                # Shutting down: nobody will write what is queued; say so.
                for _, future in batch + self._queue:
                    if not future.done():
                        future.cancel()
                self._queue.clear()
                raise
            except Exception as exc:  # a bug: every waiter of this batch gets it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for _, future in batch:
                if not future.done():
                    future.set_result(None)

    async def _one_by_one(self, batch: list[tuple[T, asyncio.Future[None]]]) -> None:
        for item, future in batch:
            try:
                async with self._db.transaction() as session:
                    await self._write(session, [item])
            except BalizaError as err:
                if not future.done():
                    future.set_exception(err)
                continue
            if not future.done():
                future.set_result(None)
