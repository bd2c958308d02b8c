"""Delivery: one courier per destination, one batch in flight each.

A courier takes the oldest pending outbox rows for its destination, pushes
them as one signed batch and records the receiver's answer per envelope:
accepted or duplicate mean delivered; refused keeps the receiver's reason code
for the sender to see. When the peer cannot be reached the courier backs off
(exponential, capped, jittered) and the rows stay pending; nothing is dropped,
and because rows are read in order from durable storage, a peer back from a
long outage gets everything, oldest first. Couriers are independent tasks, so
a slow or dead peer never delays the others.

Pulling is the other half of catch-up: every so often, and at start, the node
asks each peer for what that peer queued for it after the last cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

import aiohttp

from baliza.node.backoff import retry_delay_ms
from baliza.node.clock import now_ms
from baliza.node.context import NodeContext
from baliza.node.fedclient import pull_page, push_batch
from baliza.node.ingest import ingest_batch
from baliza.node.peers import Peer
from baliza.node.storage.delivery import Destinations, Outbox, PullCursors
from baliza.protocol.errors import BalizaError, TransportError
from baliza.protocol.federation import Outcome

log = logging.getLogger(__name__)


class DeliveryService:
    """Owns the courier and puller tasks of a node."""

    def __init__(self, ctx: NodeContext, session: aiohttp.ClientSession) -> None:
        self._ctx = ctx
        self._session = session
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start a courier and a puller for every peer."""
        async with self._ctx.db.transaction() as session:
            destinations = Destinations(session)
            for peer in self._ctx.peers:
                await destinations.ensure(peer.agency, peer.url)
        for peer in self._ctx.peers:
            self._tasks.append(
                asyncio.create_task(self._courier(peer), name=f"courier {peer.agency}")
            )
            self._tasks.append(
                asyncio.create_task(self._puller(peer), name=f"puller {peer.agency}")
            )

    async def stop(self) -> None:
        """Cancel every task and wait for them to end."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _courier(self, peer: Peer) -> None:
        wakeup = self._ctx.wakeup(peer.agency)
        while True:
            # Clear before reading the outbox, so a notice queued while a batch
            # is in flight sets the event again and is not left waiting.
            wakeup.clear()
            try:
                delay_ms = await self.deliver_once(peer)
            except BalizaError as err:  # storage trouble: log and retry later
                log.warning("courier %s: %s", peer.agency, err)
                delay_ms = self._ctx.config.backoff_cap_ms
            if delay_ms == 0:
                continue
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(wakeup.wait(), delay_ms / 1000)

    async def deliver_once(self, peer: Peer) -> int:
        """Push one batch to ``peer``; return how long to wait before the next (ms)."""
        ctx = self._ctx
        now = now_ms()
        async with ctx.db.transaction() as session:
            state = await Destinations(session).get(peer.agency)
            if state is not None and state.next_attempt_ms > now:
                return state.next_attempt_ms - now
            batch = await Outbox(session).pending_batch(peer.agency, ctx.config.batch_size)
        if not batch:
            return 60_000
        try:
            results = await push_batch(self._session, ctx.keys, peer, [item.raw for item in batch])
        except TransportError as err:
            attempts = (state.attempts if state else 0) + 1
            delay = retry_delay_ms(
                attempts,
                base_ms=ctx.config.backoff_base_ms,
                cap_ms=ctx.config.backoff_cap_ms,
                draw=random.random(),
            )
            async with ctx.db.transaction() as session:
                await Destinations(session).record_failure(
                    peer.agency, now, f"{err.reason}: {err.detail}", now + delay
                )
            ctx.count("baliza_delivery_failures_total")
            log.info("delivery to %s failed (%s), retry in %d ms", peer.agency, err, delay)
            return delay
        delivered = []
        refused = []
        for item, result in zip(batch, results, strict=True):
            if result.outcome in (Outcome.ACCEPTED, Outcome.DUPLICATE):
                delivered.append(item.envelope_id)
            else:
                refused.append((item.envelope_id, result.reason or "refused", result.detail or ""))
        done = now_ms()
        async with ctx.db.transaction() as session:
            outbox = Outbox(session)
            await outbox.mark_delivered(peer.agency, delivered, done)
            for eid, reason, detail in refused:
                await outbox.mark_refused(peer.agency, eid, reason, detail)
            await Destinations(session).record_success(peer.agency, done)
        ctx.count("baliza_envelopes_delivered_total", len(delivered))
        ctx.count("baliza_envelopes_refused_by_peer_total", len(refused))
        return 0 if len(batch) >= ctx.config.batch_size else 60_000

    async def _puller(self, peer: Peer) -> None:
        while True:
            try:
                await self.pull_once(peer)
            except TransportError as err:
                log.debug("pull from %s failed: %s", peer.agency, err)
            except BalizaError as err:
                log.warning("pull from %s: %s", peer.agency, err)
            await asyncio.sleep(self._ctx.config.pull_interval_ms / 1000)

    async def pull_once(self, peer: Peer) -> int:
        """Fetch and ingest what ``peer`` holds for us; return how many envelopes came."""
        ctx = self._ctx
        total = 0
        while True:
            async with ctx.db.transaction() as session:
                cursor = await PullCursors(session).get(peer.agency)
            items, next_cursor = await pull_page(
                self._session, ctx.keys, peer, cursor, ctx.config.batch_size
            )
            if items:
                await ingest_batch(ctx, peer.agency, [env for _, env in items], via="pull")
                total += len(items)
            async with ctx.db.transaction() as session:
                await PullCursors(session).set(peer.agency, next_cursor)
            if len(items) < ctx.config.batch_size or next_cursor <= cursor:
                return total
