"""Live fan-out of newly stored notices to Server-Sent Event followers.

In-process only: each follower gets a bounded queue; a follower too slow to
keep up is dropped (it reconnects with ``Last-Event-ID`` and reads the gap
from storage), so one stuck browser tab never holds memory for the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from baliza.protocol.errors import ReasonCode, TrustError

QUEUE_SIZE = 1000


class LiveFeed:
    """Publish-subscribe of notice summaries (dicts ready for JSON)."""

    def __init__(self) -> None:
        self._followers: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self._per_owner: dict[str, int] = {}
        self._closed = False
        self._revocations = 0

    def saw_revocations(self, count: int) -> None:
        """Record the token revocation count a storing unit read (it only grows)."""
        self._revocations = max(self._revocations, count)

    @property
    def revocations(self) -> int:
        """The highest token revocation count seen: streams re-check their token when it moves."""
        return self._revocations

    def publish(self, item: dict[str, Any]) -> None:
        """Hand ``item`` to every follower; drop followers whose queue is full."""
        for queue in list(self._followers):
            try:
                queue.put_nowait(item)
            except asyncio.QueueFull:
                # Too slow: it reconnects and reads the gap from storage.
                self._end(queue)

    @asynccontextmanager
    async def follow(
        self, owner: str = "", limit: int | None = None
    ) -> AsyncIterator[asyncio.Queue[dict[str, Any] | None]]:
        """A queue receiving every item published while the context is open.

        ``owner`` (an API token) may hold at most ``limit`` queues at once;
        one more is refused ``busy``, so one credential cannot pile up
        streams that each hold a queue and a connection.
        """
        held = self._per_owner.get(owner, 0)
        if limit is not None and held >= limit:
            raise TrustError(ReasonCode.BUSY, f"this token already has {held} live streams")
        self._per_owner[owner] = held + 1
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_SIZE)
        if self._closed:
            queue.put_nowait(None)
        else:
            self._followers.add(queue)
        try:
            yield queue
        finally:
            self._followers.discard(queue)
            self._per_owner[owner] -= 1
            if not self._per_owner[owner]:
                del self._per_owner[owner]

    @property
    def followers(self) -> int:
        """How many followers are connected."""
        return len(self._followers)

    def close(self) -> None:
        """End every stream now and refuse new ones (the node is shutting down).

        Called from the application's ``on_shutdown``, before aiohttp waits
        for open requests to finish: a connected follower would otherwise
        hold the shutdown for the whole grace period.
        """
        self._closed = True
        for queue in list(self._followers):
            self._end(queue)

    def _end(self, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        """Leave only the end marker in ``queue`` and forget the follower."""
        self._followers.discard(queue)
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(None)
