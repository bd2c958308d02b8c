"""Live fan-out of newly stored notices to Server-Sent Event followers.

In-process only: each follower gets a bounded queue; a follower too slow to
keep up is dropped (it reconnects with ``Last-Event-ID`` and reads the gap
from storage), so one stuck browser tab never holds memory for the others.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

QUEUE_SIZE = 1000


class LiveFeed:
    """Publish-subscribe of notice summaries (dicts ready for JSON)."""

    def __init__(self) -> None:
        self._followers: set[asyncio.Queue[dict[str, Any] | None]] = set()

    def publish(self, item: dict[str, Any]) -> None:
        """Hand ``item`` to every follower; drop followers whose queue is full."""
        for queue in list(self._followers):
            try:
                queue.put_nowait(item)
            except asyncio.QueueFull:
                # Too slow: empty its queue and leave only the end marker, so it
                # reconnects and reads the gap from storage.
                self._followers.discard(queue)
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(None)

    @asynccontextmanager
    async def follow(self) -> AsyncIterator[asyncio.Queue[dict[str, Any] | None]]:
        """A queue receiving every item published while the context is open."""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_SIZE)
        self._followers.add(queue)
        try:
            yield queue
        finally:
            self._followers.discard(queue)

    @property
    def followers(self) -> int:
        """How many followers are connected."""
        return len(self._followers)

    def close(self) -> None:
        """Tell every follower the stream has ended."""
        for queue in list(self._followers):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)
        self._followers.clear()
