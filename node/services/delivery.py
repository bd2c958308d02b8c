"""Delivery: one courier per destination, one batch in flight each.

A courier takes the oldest pending outbox rows for its destination, pushes
them as one signed batch and records the receiver's answer per envelope.
Batching adapts to load without a timer: a lone notice leaves as soon as it
is queued (the publish wakes the courier), and whatever is queued while a
batch is in flight goes in the next request, up to ``batch_size`` envelopes
and ``BATCH_BYTES``, within the receiver's limits; rows left behind by
either limit go at once in the request after. Recording a batch's answers and
taking the next batch are one unit of work (``services/outbox.py``), so under
load a courier costs one database trip per batch. Per envelope:
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
from functools import partial

import aiohttp

from baliza.node.core.backoff import retry_delay_ms
from baliza.node.core.clock import now_ms
from baliza.node.core.logs import REQUEST_ID, new_request_id
from baliza.node.core.metrics import REFUSALS, refusal_labels
from baliza.node.core.trust import Peer
from baliza.node.services.audit_peers import PeerHeads
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
from baliza.node.services.outbox import (
    IDLE_MS,
    Answers,
    Round,
    Taking,
    ensure_destination,
    finish_round,
    give_back,
    pull_position,
    record_unreachable,
    set_pull_cursor,
    take_round,
)
from baliza.node.services.rules.peer_standing import clock_skew_suspected, peer_reason
from baliza.node.storage.delivery import PendingDelivery
from baliza.node.storage.leases import Lease
from baliza.protocol.errors import BalizaError, ReasonCode, TransportError, TrustError
from baliza.protocol.federation import MAX_BATCH_BYTES, Outcome

log = logging.getLogger(__name__)
STOP_TIMEOUT_S = 10
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


def log_failure(
    agency: str, error: str, batch: list[PendingDelivery], attempt: int, delay_ms: int
) -> None:
    """One WARNING line for a failed round, with the fields an operator filters on.

    ``error`` is the last error as kept for the destination
    (``rules/peer_standing.py`` reads the peer's reason from it); the first
    envelope of the batch is named, with how many were in it.
    """
    reason, _, _ = error.partition(":")
    skew = clock_skew_suspected(error)
    refused_with = peer_reason(error)
    log.warning(
        "delivery to %s failed (attempt %d, next in %d ms)%s: %s",
        agency,
        attempt,
        delay_ms,
        ", clock skew suspected" if skew else "",
        error,
        extra={
            "peer": agency,
            "reason": reason,
            "peer_reason": None if refused_with is None else refused_with.value,
            "envelope_id": batch[0].envelope_id if batch else None,
            "envelopes": len(batch),
            "attempt": attempt,
            "next_retry_ms": delay_ms,
            "clock_skew_suspected": skew,
        },
    )


class DeliveryService:
    """Owns the courier and puller tasks of a node, one pair per peer."""

    def __init__(self, ctx: NodeContext, session: aiohttp.ClientSession) -> None:
        self._ctx = ctx
        self._session = session
        self._tasks: dict[str, list[asyncio.Task[None]]] = {}
        self._gossip: list[asyncio.Task[None]] = []
        self._backing_off: set[str] = set()
        # The batch a courier took while recording the answers to the last one.
        self._carried: dict[str, Round] = {}
        self.channels = ChannelSync(ctx, session)
        # Peers' audit heads, checked after pushes (services/audit_peers.py).
        self.heads = PeerHeads(ctx, session, ctx.config.audit_peer_check_ms)
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
            peer = self._peer(agency)
            try:
                if peer is None:  # not (or no longer) a member in force
                    wakeup.clear()
                    delay_ms = IDLE_MS
                    await self._drop_carried(agency)
                else:
                    # One id per round: the lines logged here and the peer's
                    # request log line (X-Request-Id) carry the same.
                    REQUEST_ID.set(new_request_id())
                    delay_ms = await self.deliver_once(peer)
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

    def _taking(self, agency: str, now: int) -> Taking:
        ctx = self._ctx
        # On SQLite one process owns the outbox: a round only reads until it
        # has answers to record (most wake-ups find the peer backing off or
        # nothing to send, and must not cost a write, an fsync). On
        # PostgreSQL other workers share the outbox: lease what is taken.
        lease = None
        if ctx.db.dialect == "postgresql":
            lease = Lease(owner=self.worker, until_ms=now + ctx.config.delivery_lease_ms)
        return Taking(agency=agency, now_ms=now, limit=ctx.config.batch_size, fit=fit, lease=lease)

    async def _drop_carried(self, agency: str) -> None:
        """Forget a batch taken for a peer that is gone; its leases go back at once."""
        carried = self._carried.pop(agency, None)
        if carried is not None and self._ctx.db.dialect == "postgresql":
            await give_back(self._ctx.db, [item.seq for item in carried.batch], self.worker)

    async def deliver_once(self, peer: Peer) -> int:
        """Push one batch to ``peer``; return how long to wait before the next (ms).

        The batch is the one the previous round took when it recorded its
        answers, or else read now (one unit). The answers are recorded in one
        unit, which takes the next batch too when rows were left behind or
        queued meanwhile.
        """
        ctx = self._ctx
        now = now_ms()
        wakeup = ctx.wakeup(peer.agency)
        taken = self._carried.pop(peer.agency, None)
        if taken is None:
            # Cleared before reading the outbox, so a notice queued while a
            # batch is in flight sets the event again and is not left waiting.
            wakeup.clear()
            taking = self._taking(peer.agency, now)
            taken = await ctx.db.run(
                partial(take_round, taking=taking), write=taking.lease is not None
            )
        state = taken.destination
        if taken.block is not None:
            return IDLE_MS  # blocked or paused here: rows stay pending
        if state is not None and state.next_attempt_ms > now:
            self._backing_off.add(peer.agency)
            return state.next_attempt_ms - now
        if taken.held_ms is not None:
            return taken.held_ms  # another worker is sending them
        self._backing_off.discard(peer.agency)
        if state is None or state.url != peer.url:
            await ensure_destination(ctx.db, peer.agency, peer.url)
        batch = taken.batch
        if not batch:
            return IDLE_MS
        owner = self.worker if ctx.db.dialect == "postgresql" else None
        attempts = (state.attempts if state else 0) + 1
        try:
            results = await push_batch(
                self._session, ctx.signing_keys(), peer, [item.raw for item in batch]
            )
        except TransportError as err:
            delay = self._retry_delay(attempts)
            await ctx.db.run(
                partial(
                    record_unreachable,
                    agency=peer.agency,
                    now_ms=now,
                    error=f"{err.reason}: {err.detail}",
                    next_attempt_ms=now + delay,
                    seqs=[i.seq for i in batch],
                    owner=owner,
                ),
                write=True,
            )
            ctx.count("baliza_delivery_failures_total")
            if err.reason == ReasonCode.PEER_REFUSED:
                ctx.count_labelled(
                    REFUSALS, refusal_labels("out", peer.agency, err.reason.value), len(batch)
                )
            log_failure(peer.agency, f"{err.reason}: {err.detail}", batch, attempts, delay)
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
        done = now_ms()
        for item, result in zip(batch, results, strict=True):
            if result.outcome in (Outcome.ACCEPTED, Outcome.DUPLICATE):
                delivered.append(item.envelope_id)
                ctx.observe("baliza_delivery_latency_seconds", (done - item.created_ms) / 1000)
                continue
            reason = result.reason or "refused"
            ctx.count_labelled(REFUSALS, refusal_labels("out", peer.agency, reason))
            if result.reason in RETRYABLE:
                retry.append(f"{result.reason}: {result.detail}")
                retry_seqs.append(item.seq)
                if result.reason == ReasonCode.MEMBERSHIP_UNKNOWN:
                    unknown_channel.append(item.raw)
            else:
                refused.append((item.envelope_id, result.reason or "refused", result.detail or ""))
                if result.reason == ReasonCode.MEMBERSHIP_STALE:
                    stale.append(item.envelope_id)
        delay = self._retry_delay(attempts) if retry else 0
        for envelope_id, reason, detail in refused:
            log.warning(
                "%s refused envelope %s: %s: %s",
                peer.agency,
                envelope_id,
                reason,
                detail,
                extra={
                    "peer": peer.agency,
                    "reason": reason,
                    "peer_reason": reason,
                    "envelope_id": envelope_id,
                    "attempt": attempts,
                },
            )
        if retry:
            log_failure(peer.agency, retry[0], batch, attempts, delay)
        elif delivered and state is not None and state.failing_since_ms is not None:
            log.info(
                "delivery to %s recovered after %d attempts",
                peer.agency,
                attempts,
                extra={"peer": peer.agency, "attempt": attempts, "envelopes": len(delivered)},
            )
        answers = Answers(
            agency=peer.agency,
            done_ms=done,
            delivered=delivered,
            refused=refused,
            retry_seqs=retry_seqs,
            owner=owner,
            failure=(retry[0], done + delay) if retry else None,
        )
        # Rows left behind (a full batch, or one cut by bytes) go at once, and
        # so do rows queued while this batch was in flight (they set the
        # wake-up): take them while recording, in the same unit.
        then = None
        if not retry and (taken.more or wakeup.is_set()):
            wakeup.clear()
            then = self._taking(peer.agency, done)
        following = await ctx.db.run(partial(finish_round, answers=answers, then=then), write=True)
        ctx.count("baliza_envelopes_delivered_total", len(delivered))
        ctx.count("baliza_envelopes_refused_by_peer_total", len(refused))
        if following is not None:
            self._carried[peer.agency] = following
        await self._repair_channels(peer, unknown_channel, stale)
        if delivered:
            await self.heads.after_push(peer)
        if retry:
            self._backing_off.add(peer.agency)
            await self._share_directory(peer)
            return delay
        return 0 if following is not None else IDLE_MS

    def _retry_delay(self, attempts: int) -> int:
        config = self._ctx.config
        return retry_delay_ms(
            attempts,
            base_ms=config.backoff_base_ms,
            cap_ms=config.backoff_cap_ms,
            draw=random.random(),
        )

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
                    if clock_skew_suspected(f"{err.reason}: {err.detail}"):
                        # Our requests are refused as stale: nothing will
                        # come from this peer until the clocks agree.
                        log.warning(
                            "pull from %s refused, clock skew suspected: %s",
                            agency,
                            err.detail,
                            extra={
                                "peer": agency,
                                "reason": err.reason.value,
                                "peer_reason": ReasonCode.STALE.value,
                                "clock_skew_suspected": True,
                            },
                        )
                    else:
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
            cursor = await pull_position(ctx.db, peer.agency)
            if cursor is None:  # blocked here
                return total
            items, next_cursor = await pull_page(
                self._session, ctx.signing_keys(), peer, cursor, ctx.config.batch_size
            )
            if items:
                await ingest_batch(ctx, peer.agency, [env for _, env in items], via="pull")
                total += len(items)
            await set_pull_cursor(ctx.db, peer.agency, next_cursor)
            if len(items) < ctx.config.batch_size or next_cursor <= cursor:
                return total
