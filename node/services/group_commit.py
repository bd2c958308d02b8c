"""Group commit: concurrent requests share one unit of work (and one fsync).

With SQLite in ``synchronous=FULL`` (and PostgreSQL alike) a commit costs a
disk flush; one commit per request caps a node at a few hundred writes a
second however fast the rest is (docs/benchmarks.md). Requests that arrive
while a unit is being written wait for the next one, which takes all of them
at once: one ``Database.run`` (one thread trip, one transaction) for the
group. The writer is a plain synchronous function over a connection, the
same on both engines, and returns one result per item in order. If a
combined unit fails, its items are written one by one, so a bad item fails
alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from functools import partial
from typing import Generic, TypeVar

from sqlalchemy import Connection

from baliza.node.storage import Database
from baliza.protocol.errors import BalizaError

T = TypeVar("T")
R = TypeVar("R")
Writer = Callable[[Connection, Sequence[T]], list[R]]


class GroupCommit(Generic[T, R]):
    """Write items in shared units of work; ``submit`` returns its item's result once committed."""

    def __init__(self, db: Database, write: Writer[T, R], *, max_batch: int = 100) -> None:
        self._db = db
        self._write = write
        self._max_batch = max_batch
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """Queue ``item`` and wait until it is committed; raise what its write raised."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="group commit")
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        while self._queue:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            try:
                results = await self._db.run(
                    partial(self._write_all, [item for item, _ in batch]), write=True
                )
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
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    def _write_all(self, items: list[T], connection: Connection) -> list[R]:
        return self._write(connection, items)

    async def _one_by_one(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        for item, future in batch:
            try:
                (result,) = await self._db.run(partial(self._write_all, [item]), write=True)
            except BalizaError as err:
                if not future.done():
                    future.set_exception(err)
                continue
            if not future.done():
                future.set_result(result)
