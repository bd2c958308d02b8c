"""Worker processes of one agency on one PostgreSQL database hear each other.

Four signals cross workers (see core/notify.py): envelopes queued for a
peer (every worker's courier for that peer wakes; the outbox leases decide
which one sends), notices stored (every worker announces them to its own live
followers, so a follower sees every notice whichever worker stored it),
directory versions applied (every worker puts the newest stored version in
force, so a revocation applied through one worker holds in all of them at
once), and local blocks changed (every worker drops the blocks it holds in
memory and reads them again on next use). On SQLite there is one worker and nothing to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from baliza.node.core.notify import (
    BLOCKS_CHANNEL,
    DIRECTORY_CHANNEL,
    LIVE_CHANNEL,
    OUTBOX_CHANNEL,
    Listener,
    from_live_payload,
)
from baliza.node.core.trust import TrustView
from baliza.node.services.announce import announce_relayed
from baliza.node.services.context import NodeContext
from baliza.node.services.directory_sync import load_directory
from baliza.protocol.errors import BalizaError

log = logging.getLogger(__name__)


class CrossWorker:
    """Listens for the other workers' signals and acts on them in this one."""

    def __init__(self, ctx: NodeContext) -> None:
        self._ctx = ctx
        self._stored: asyncio.Queue[list[str]] = asyncio.Queue()
        self._directory_changed = asyncio.Event()
        self._listener = Listener(
            ctx.config.db_url,
            {
                OUTBOX_CHANNEL: self._queued,
                LIVE_CHANNEL: self._announced,
                DIRECTORY_CHANNEL: lambda _version: self._directory_changed.set(),
                BLOCKS_CHANNEL: lambda _agencies: ctx.blocks.invalidate(),
            },
            self._wake_all,
        )
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start listening (PostgreSQL only)."""
        if self._ctx.db.dialect != "postgresql":
            return
        self._tasks = [
            asyncio.create_task(self._announce_loop(), name="live relay"),
            asyncio.create_task(self._directory_loop(), name="directory relay"),
        ]
        await self._listener.start()

    async def stop(self) -> None:
        """Stop listening."""
        await self._listener.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

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
        self._directory_changed.set()
        self._ctx.blocks.invalidate()

    async def _directory_loop(self) -> None:
        # The stored versions passed the update rules when they were applied;
        # reading the newest back is what a restart does.
        while True:
            await self._directory_changed.wait()
            self._directory_changed.clear()
            try:
                latest = await load_directory(self._ctx.db)
            except BalizaError as err:
                log.warning("could not read the directory another worker applied: %s", err)
                continue
            if latest is not None and latest.directory.version > self._ctx.trust.version:
                self._ctx.set_trust(TrustView(self._ctx.trust.me, latest))

    async def _announce_loop(self) -> None:
        # One at a time, in the order PostgreSQL delivered the signals.
        while True:
            envelope_ids = await self._stored.get()
            try:
                await announce_relayed(self._ctx, from_live_payload(envelope_ids))
            except BalizaError as err:
                log.warning("could not announce stored notices: %s", err)
