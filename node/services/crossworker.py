"""Worker processes of one agency on one PostgreSQL database hear each other.

Two signals cross workers (see core/notify.py): envelopes queued for a peer
(every worker's courier for that peer wakes; the outbox leases decide which
one sends) and notices stored (every worker announces them to its own live
followers, so a follower sees every notice whichever worker stored it). On
SQLite there is one worker and nothing to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from baliza.node.core.notify import LIVE_CHANNEL, OUTBOX_CHANNEL, Listener
from baliza.node.services.context import NodeContext
from baliza.node.services.ingest import announce
from baliza.protocol.errors import BalizaError

log = logging.getLogger(__name__)


class CrossWorker:
    """Listens for the other workers' signals and acts on them in this one."""

    def __init__(self, ctx: NodeContext) -> None:
        self._ctx = ctx
        self._stored: asyncio.Queue[list[str]] = asyncio.Queue()
        self._listener = Listener(
            ctx.config.db_url,
            {OUTBOX_CHANNEL: self._queued, LIVE_CHANNEL: self._announced},
            self._wake_all,
        )
        self._announcer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start listening (PostgreSQL only)."""
        if self._ctx.db.dialect != "postgresql":
            return
        self._announcer = asyncio.create_task(self._announce_loop(), name="live relay")
        await self._listener.start()

    async def stop(self) -> None:
        """Stop listening."""
        await self._listener.stop()
        if self._announcer is not None:
            self._announcer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._announcer

    def _queued(self, payload: str) -> None:
        for destination in payload.split(","):
            self._ctx.wakeup(destination).set()

    def _announced(self, payload: str) -> None:
        if self._ctx.live.followers:
            self._stored.put_nowait(payload.split(","))

    def _wake_all(self) -> None:
        # Signals sent while the connection was down are lost: look again.
        for event in self._ctx.wakeups.values():
            event.set()

    async def _announce_loop(self) -> None:
        # One at a time, in the order PostgreSQL delivered the signals.
        while True:
            envelope_ids = await self._stored.get()
            try:
                await announce(self._ctx, envelope_ids, relayed=True)
            except BalizaError as err:
                log.warning("could not announce stored notices: %s", err)
