"""Delivery: one courier per destination, one batch in flight each.

A courier takes the oldest pending outbox rows for its destination, pushes
them as one signed batch and records the receiver's answer per envelope.
Batching adapts to load without a timer: a lone notice leaves as soon as it
is queued (the publish wakes the courier), and whatever is queued while a
batch is in flight goes in the next request, up to ``batch_size`` envelopes
and ``BATCH_BYTES``, within the receiver's limits; rows left behind by
either limit go at once in the request after. Per envelope:
accepted or duplicate mean delivered; refused keeps the receiver's reason code
for the sender to see. When the peer cannot be reached the courier backs off
(exponential, capped, jittered) and the rows stay pending; nothing is dropped,
and because rows are read in order from durable storage, a peer back from a
long outage gets everything, oldest first. Couriers are independent tasks, so
a slow or dead peer never delays the others. A courier looks its peer up in
the directory in force at every round, so a new node URL or key applies at
once, and a member that was removed, revoked, blocked or paused simply keeps
its rows pending.

Pulling is the other half of catch-up: at start and every so often the node
asks each peer for what that peer queued for it after the last cursor, and
for the peer's directory, which it applies if it is newer (gossip by pull).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import socket

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession

from baliza.node.core.backoff import retry_delay_ms
from baliza.node.core.clock import now_ms
from baliza.node.core.trust import Peer
from baliza.node.services.channel_sync import ChannelSync, channels_named
from baliza.node.services.context import NodeContext
from baliza.node.services.directory_sync import apply_directory, apply_directory_chain, gossip
from baliza.node.services.fedclient import (
    fetch_directory,
    fetch_directory_chain,
    pull_page,
    push_batch,
    push_directory,
)
from baliza.node.services.ingest import ingest_batch
from baliza.node.storage.delivery import Destinations, Outbox, PendingDelivery, PullCursors
from baliza.node.storage.leases import Lease, OutboxLeases
from baliza.node.storage.trust import LocalBlocks
from baliza.protocol.errors import BalizaError, ReasonCode, TransportError, TrustError
from baliza.protocol.federation import MAX_BATCH_BYTES, Outcome

log = logging.getLogger(__name__)
IDLE_MS = 60_000
STOP_TIMEOUT_S = 10
# A courier waiting for another worker's lease to end looks again this much later.
LEASE_SLACK_MS = 50
# Refusals that mean "we do not (yet) agree on the directory", not "this
# envelope is bad": the rows stay pending, the courier sends the peer our
# directory and tries again later, so a rotation that reaches the sender
# before the receiver loses nothing.
RETRYABLE = frozenset(
    {
        ReasonCode.UNKNOWN_KEY,
        ReasonCode.KEY_NOT_YET_VALID,
        ReasonCode.DIRECTORY_EXPIRED,
        ReasonCode.UNKNOWN_SENDER,
        # The receiver does not hold the channel membership version named:
        # the courier pushes the channel's chain, then tries again.
        ReasonCode.MEMBERSHIP_UNKNOWN,
    }
)


# Stay well inside the receiver's request limit (MAX_BATCH_BYTES) whatever the
# envelope sizes; the rest of the rows go in the next batch.
BATCH_BYTES = MAX_BATCH_BYTES // 2


def fit(batch: list[PendingDelivery]) -> list[PendingDelivery]:
    """The longest prefix of ``batch`` within ``BATCH_BYTES`` (always at least one row)."""
    total = 0
    for i, item in enumerate(batch):
        total += len(item.raw)
        if total > BATCH_BYTES and i > 0:
            return batch[:i]
    return batch


class DeliveryService:
    """Owns the courier and puller tasks of a node, one pair per peer."""

    def __init__(self, ctx: NodeContext, session: aiohttp.ClientSession) -> None:
        self._ctx = ctx
        self._session = session
        self._tasks: dict[str, list[asyncio.Task[None]]] = {}
        self._gossip: list[asyncio.Task[None]] = []
        self._backing_off: set[str] = set()
        self.channels = ChannelSync(ctx, session)
        # Names this process in outbox leases (several workers may share a database).
        self.worker = f"{socket.gethostname()[:40]}/{os.getpid()}/{secrets.token_hex(4)}"

    @property
    def session(self) -> aiohttp.ClientSession:
        """The client session couriers use (shared with directory gossip)."""
        return self._session

    async def start(self) -> None:
        """Start a courier and a puller for every peer, and follow directory changes."""
        self._ctx.on_trust_change.append(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        """Start tasks for peers that appeared in the directory in force."""
        for peer in self._ctx.peers():
            if peer.agency in self._tasks:
                continue
            self._tasks[peer.agency] = [
                asyncio.create_task(self._courier(peer.agency), name=f"courier {peer.agency}"),
                asyncio.create_task(self._puller(peer.agency), name=f"puller {peer.agency}"),
            ]

    async def stop(self) -> None:
        """Cancel every task and wait for them to end."""
        with contextlib.suppress(ValueError):
            self._ctx.on_trust_change.remove(self.refresh)
        tasks = [t for pair in self._tasks.values() for t in pair] + self._gossip
        for task in tasks:
            task.cancel()
        # Bounded: a task stuck past its cancellation must not hold the node's
        # shutdown (and with it the database) for ever.
        if tasks:
            _, stuck = await asyncio.wait(tasks, timeout=STOP_TIMEOUT_S)
            for task in stuck:
                log.warning("delivery task %s did not stop in time", task.get_name())
        self._tasks.clear()
        await self.channels.stop()

    async def apply_and_gossip(
        self,
        signed: bytes,
        *,
        actor: str,
        skip: tuple[str, ...] = (),
        fingerprint: str | None = None,
    ) -> bool:
        """Apply a directory version and, if it is new here, push it on to every peer."""
        applied = await apply_directory(self._ctx, signed, actor=actor, fingerprint=fingerprint)
        if applied:
            self._gossip.extend(gossip(self._ctx, self._session, signed, skip=skip))
            self._gossip = [t for t in self._gossip if not t.done()]
        return applied

    def _peer(self, agency: str) -> Peer | None:
        try:
            return self._ctx.trust.peer(agency, now_ms())
        except BalizaError:
            return None

    async def _courier(self, agency: str) -> None:
        wakeup = self._ctx.wakeup(agency)
        while True:
            # Clear before reading the outbox, so a notice queued while a batch
            # is in flight sets the event again and is not left waiting.
            wakeup.clear()
            peer = self._peer(agency)
            try:
                delay_ms = IDLE_MS if peer is None else await self.deliver_once(peer)
            except BalizaError as err:  # storage trouble: log and retry later
                log.warning("courier %s: %s", agency, err)
                delay_ms = self._ctx.config.backoff_cap_ms
            if delay_ms == 0:
                continue
            if agency in self._backing_off:
                # A failing peer is retried on schedule; new notices for it
                # need not wake the courier (each wake-up costs a database read).
                await asyncio.sleep(delay_ms / 1000)
                continue
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(wakeup.wait(), delay_ms / 1000)

    async def deliver_once(self, peer: Peer) -> int:
        """Push one batch to ``peer``; return how long to wait before the next (ms)."""
        ctx = self._ctx
        now = now_ms()
        # On SQLite read-only first: most wake-ups find the peer backing off
        # or nothing to send, and must not cost a write (an fsync) to find
        # that out. On PostgreSQL other workers share the outbox: lease.
        leasing = ctx.db.dialect == "postgresql"
        async with ctx.db.transaction(readonly=not leasing) as session:
            if await LocalBlocks(session).get(peer.agency) is not None:
                return IDLE_MS  # blocked or paused here: rows stay pending
            state = await Destinations(session).get(peer.agency)
            if state is not None and state.next_attempt_ms > now:
                self._backing_off.add(peer.agency)
                return state.next_attempt_ms - now
            if leasing:
                batch, more, held_ms = await self._lease(session, peer.agency, now)
                if held_ms is not None:
                    return held_ms  # another worker is sending them
            else:
                pending = await Outbox(session).pending_batch(peer.agency, ctx.config.batch_size)
                batch = fit(pending)
                more = len(pending) >= ctx.config.batch_size or len(batch) < len(pending)
        self._backing_off.discard(peer.agency)
        if state is None or state.url != peer.url:
            async with ctx.db.transaction() as session:
                await Destinations(session).ensure(peer.agency, peer.url)
        if not batch:
            return IDLE_MS
        try:
            results = await push_batch(
                self._session, ctx.signing_keys(), peer, [item.raw for item in batch]
            )
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
                if leasing:
                    await OutboxLeases(session).release([i.seq for i in batch], self.worker)
            ctx.count("baliza_delivery_failures_total")
            log.info("delivery to %s failed (%s), retry in %d ms", peer.agency, err, delay)
            self._backing_off.add(peer.agency)
            if err.reason == ReasonCode.PEER_REFUSED:
                # Refused as a whole: perhaps it does not know our current key yet.
                await self._share_directory(peer)
            return delay
        delivered = []
        refused = []
        retry: list[str] = []
        retry_seqs: list[int] = []
        unknown_channel: list[bytes] = []
        stale: list[str] = []
        for item, result in zip(batch, results, strict=True):
            if result.outcome in (Outcome.ACCEPTED, Outcome.DUPLICATE):
                delivered.append(item.envelope_id)
            elif result.reason in RETRYABLE:
                retry.append(f"{result.reason}: {result.detail}")
                retry_seqs.append(item.seq)
                if result.reason == ReasonCode.MEMBERSHIP_UNKNOWN:
                    unknown_channel.append(item.raw)
            else:
                refused.append((item.envelope_id, result.reason or "refused", result.detail or ""))
                if result.reason == ReasonCode.MEMBERSHIP_STALE:
                    stale.append(item.envelope_id)
        done = now_ms()
        async with ctx.db.transaction() as session:
            outbox = Outbox(session)
            await outbox.mark_delivered(peer.agency, delivered, done)
            for eid, reason, detail in refused:
                await outbox.mark_refused(peer.agency, eid, reason, detail)
            destinations = Destinations(session)
            if leasing:
                await OutboxLeases(session).release(retry_seqs, self.worker)
            if retry:
                delay = retry_delay_ms(
                    (state.attempts if state else 0) + 1,
                    base_ms=ctx.config.backoff_base_ms,
                    cap_ms=ctx.config.backoff_cap_ms,
                    draw=random.random(),
                )
                await destinations.record_failure(peer.agency, done, retry[0], done + delay)
            else:
                await destinations.record_success(peer.agency, done)
        ctx.count("baliza_envelopes_delivered_total", len(delivered))
        ctx.count("baliza_envelopes_refused_by_peer_total", len(refused))
        await self._repair_channels(peer, unknown_channel, stale)
        if retry:
            self._backing_off.add(peer.agency)
            await self._share_directory(peer)
            return delay
        # Rows left behind (a full batch, or one cut by bytes) go at once;
        # rows queued while this batch was in flight have set the wake-up.
        return 0 if more else IDLE_MS

    async def _lease(
        self, session: AsyncSession, agency: str, now: int
    ) -> tuple[list[PendingDelivery], bool, int | None]:
        """Lease the next batch for ``agency`` and say whether rows are left after it;
        or, if other workers hold every pending row, say how long until the
        first of their leases ends."""
        leases = OutboxLeases(session)
        limit = self._ctx.config.batch_size
        available = await leases.available(agency, limit, now)
        batch = fit(available)
        if batch:
            until = now + self._ctx.config.delivery_lease_ms
            await leases.take([i.seq for i in batch], Lease(owner=self.worker, until_ms=until))
            return batch, len(available) >= limit or len(batch) < len(available), None
        expiry = await leases.next_expiry(agency, now)
        if expiry is None:
            return [], False, None
        return [], False, min(IDLE_MS, expiry - now + LEASE_SLACK_MS)

    async def _repair_channels(self, peer: Peer, unknown: list[bytes], stale: list[str]) -> None:
        """Push memberships the peer lacks; re-seal what it refused as sealed to a stale one."""
        try:
            if unknown:
                await self.channels.share(peer, channels_named(unknown))
            if stale:
                await self.channels.reseal(peer, stale)
        except BalizaError as err:
            log.info("channel repair with %s: %s", peer.agency, err)

    async def _share_directory(self, peer: Peer) -> None:
        """Send the peer our directory: it may not know the key we now sign with."""
        directory = self._ctx.trust.directory
        if directory is None:
            return
        try:
            await push_directory(self._session, self._ctx.keyring, peer, directory.signed_bytes)
        except BalizaError as err:
            log.info("could not share the directory with %s: %s", peer.agency, err)

    async def _puller(self, agency: str) -> None:
        while True:
            peer = self._peer(agency)
            if peer is not None:
                try:
                    await self.sync_directory(peer)
                    await self.channels.catch_up(peer)
                    await self.pull_once(peer)
                except TransportError as err:
                    log.debug("pull from %s failed: %s", agency, err)
                except BalizaError as err:
                    log.warning("pull from %s: %s", agency, err)
            await asyncio.sleep(self._ctx.config.pull_interval_ms / 1000)

    async def sync_directory(self, peer: Peer) -> bool:
        """Fetch the peer's directory and apply it if it is newer; return whether it was."""
        signed = await fetch_directory(self._session, self._ctx.signing_keys(), peer)
        try:
            return await self.apply_and_gossip(
                signed, actor=f"pulled from {peer.agency}", skip=(peer.agency,)
            )
        except TrustError as err:
            if err.reason not in (ReasonCode.DIRECTORY_THRESHOLD, ReasonCode.NOT_AN_ADMINISTRATOR):
                log.debug("directory from %s not applied: %s", peer.agency, err)
                return False
            # Signed by administrators we do not know yet: we missed an
            # administrator change. Ask for every version since ours.
            chain = await fetch_directory_chain(
                self._session, self._ctx.signing_keys(), peer, self._ctx.trust.version
            )
            try:
                return await apply_directory_chain(
                    self._ctx, chain, actor=f"pulled from {peer.agency} (catch-up)"
                )
            except BalizaError as chain_err:
                log.warning("directory chain from %s refused: %s", peer.agency, chain_err)
                return False
        except BalizaError as err:
            # An older or equal version is normal; anything else is worth a line.
            log.debug("directory from %s not applied: %s", peer.agency, err)
            return False

    async def pull_once(self, peer: Peer) -> int:
        """Fetch and ingest what ``peer`` holds for us; return how many envelopes came."""
        ctx = self._ctx
        total = 0
        while True:
            async with ctx.db.transaction() as session:
                if await LocalBlocks(session).is_blocked(peer.agency):
                    return total
                cursor = await PullCursors(session).get(peer.agency)
            items, next_cursor = await pull_page(
                self._session, ctx.signing_keys(), peer, cursor, ctx.config.batch_size
            )
            if items:
                await ingest_batch(ctx, peer.agency, [env for _, env in items], via="pull")
                total += len(items)
            async with ctx.db.transaction() as session:
                await PullCursors(session).set(peer.agency, next_cursor)
            if len(items) < ctx.config.batch_size or next_cursor <= cursor:
                return total
