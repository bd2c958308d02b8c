"""Inbound envelopes: verify, authorise, persist, acknowledge — in that order.

A batch from one origin node is checked envelope by envelope, cheapest checks
first (shape, addressing, local blocks, freshness, duplicates) so that the
expensive ones (signature, decryption) run only on what could be accepted.
Everything accepted in a batch is stored in one transaction, then announced
to live followers; the answer says, per envelope, accepted, duplicate, or
refused with the reason code, so the sender can show it to a person.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from baliza.crypto import open_envelope
from baliza.node.core.clock import now_ms
from baliza.node.core.notify import LIVE_CHANNEL, signal
from baliza.node.services.channels import ChannelView, channel_view, check_channel_envelope
from baliza.node.services.context import NodeContext
from baliza.node.services.index import IndexedNotice, index_notice, notice_row_json
from baliza.node.services.recipients import ChannelRoster, check_addressed, header_recipients
from baliza.node.storage.envelopes import (
    ReceivedEnvelope,
    ReceivedEnvelopes,
    SentEnvelopes,
    Via,
)
from baliza.node.storage.notices import Direction, Notices
from baliza.node.storage.receipts import Receipt as StoredReceipt
from baliza.node.storage.receipts import Receipts, ReceiptState
from baliza.node.storage.recipients import Addressee, Recipients
from baliza.node.storage.trust import LocalBlocks
from baliza.protocol.envelope import Envelope, parse_envelope
from baliza.protocol.errors import BalizaError, ReasonCode, StorageError, TrustError
from baliza.protocol.federation import EnvelopeResult, Outcome
from baliza.protocol.ids import AgencyId
from baliza.protocol.notices import Receipt as ReceiptNotice

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Accepted:
    index: int
    envelope: Envelope
    indexed: IndexedNotice | None  # None for a receipt: it is not a notice to list
    since_revoked: bool
    receipt: StoredReceipt | None = None
    roster: ChannelRoster | None = None


async def ingest_batch(
    ctx: NodeContext, origin: AgencyId, batch: list[bytes], *, via: str = "push"
) -> list[EnvelopeResult]:
    """Process one batch from ``origin``; return one result per envelope, in order."""
    now = now_ms()
    results: dict[int, EnvelopeResult] = {}
    candidates: list[tuple[int, Envelope]] = []
    rosters: dict[int, ChannelRoster | None] = {}
    async with ctx.db.transaction(readonly=True) as session:
        blocked = await LocalBlocks(session).is_blocked(origin)
        parsed: list[tuple[int, Envelope]] = []
        for index, raw in enumerate(batch):
            envelope = None
            try:
                envelope = parse_envelope(raw)
                view = await channel_view(session, envelope.header)
                rosters[index] = _authorise(ctx, origin, envelope, blocked=blocked, view=view)
                parsed.append((index, envelope))
            except BalizaError as err:
                results[index] = _refused(index, envelope, err)
        received = ReceivedEnvelopes(session)
        known = await received.exists_many({e.id for _, e in parsed})
        # An id this node already holds is a duplicate only if the bytes are
        # the same: ids are in clear headers, and another member must not be
        # able to suppress a notice by sending its own envelope under that id
        # first. A clash is refused visibly, never answered "duplicate".
        stored = {eid: await received.get_raw(eid) for eid in known}
    seen: dict[str, bytes] = {}
    for index, envelope in parsed:
        earlier = stored.get(envelope.id, seen.get(envelope.id))
        if earlier is not None:
            if earlier == envelope.raw:
                results[index] = EnvelopeResult(
                    index=index, id=envelope.id, outcome=Outcome.DUPLICATE
                )
            else:
                results[index] = _refused(
                    index,
                    envelope,
                    TrustError(
                        ReasonCode.CONFLICT, "another envelope with this id is already here"
                    ),
                )
            continue
        seen[envelope.id] = envelope.raw
        try:
            # Freshness after de-duplication: a copy of something already
            # received is a duplicate whatever its age.
            _check_fresh(ctx, envelope, now=now, via=via)
        except BalizaError as err:
            results[index] = _refused(index, envelope, err)
            continue
        candidates.append((index, envelope))

    accepted: list[_Accepted] = []
    for index, envelope in candidates:
        try:
            header = envelope.header
            # The directory says whether this key could sign at created_ms
            # (rotation overlap, revocation time); the crypto layer checks the rest.
            key = ctx.trust.sender_key(header.sender, header.sender_key, header.created_ms, now)
            recipient = ctx.keyring.for_envelope(envelope)
            notice = open_envelope(envelope, recipient=recipient, sender=key.keys)
            if isinstance(notice, ReceiptNotice):
                receipt = await _check_receipt(ctx, header.sender, notice)
                accepted.append(_Accepted(index, envelope, None, key.since_revoked, receipt))
                continue
            indexed = index_notice(envelope, notice, Direction.IN, now)
            accepted.append(
                _Accepted(index, envelope, indexed, key.since_revoked, roster=rosters.get(index))
            )
        except BalizaError as err:
            results[index] = _refused(index, envelope, err)

    if accepted:
        inserted = await _store(ctx, accepted, now=now, via=via)
        for item in accepted:
            outcome = Outcome.ACCEPTED if item.envelope.id in inserted else Outcome.DUPLICATE
            results[item.index] = EnvelopeResult(
                index=item.index, id=item.envelope.id, outcome=outcome
            )
        await announce(
            ctx,
            [
                a.envelope.id
                for a in accepted
                if a.envelope.id in inserted and a.indexed is not None
            ],
        )
    ctx.count("baliza_envelopes_received_total", len(batch))
    ctx.count(
        "baliza_envelopes_accepted_total",
        sum(r.outcome == Outcome.ACCEPTED for r in results.values()),
    )
    ctx.count(
        "baliza_envelopes_refused_total",
        sum(r.outcome == Outcome.REFUSED for r in results.values()),
    )
    return [results[i] for i in range(len(batch))]


async def announce(ctx: NodeContext, envelope_ids: list[str], *, relayed: bool = False) -> None:
    """Tell live followers about newly stored notices (with their cursor).

    On PostgreSQL the storing transaction signalled them to every worker of
    the agency, this one included, and each announces them to its own
    followers when the signal arrives (``relayed``; see services/crossworker.py).
    """
    if not envelope_ids or not ctx.live.followers:
        return
    if ctx.db.dialect == "postgresql" and not relayed:
        return
    async with ctx.db.transaction(readonly=True) as session:
        notices = Notices(session)
        rows = [await notices.get(eid) for eid in envelope_ids]
    for row in rows:
        ctx.live.publish(notice_row_json(row, with_body=False))


def _authorise(
    ctx: NodeContext,
    origin: AgencyId,
    envelope: Envelope,
    *,
    blocked: bool,
    view: ChannelView | None,
) -> ChannelRoster | None:
    """Refuse what this node must not take from ``origin``; return the channel roster, if any."""
    header = envelope.header
    if header.sender != origin:
        raise TrustError(
            ReasonCode.UNKNOWN_SENDER,
            f"envelope from {header.sender} delivered by {origin}",
            path="header.sender",
        )
    if blocked:
        raise TrustError(ReasonCode.SENDER_BLOCKED, f"{origin} is blocked by this node")
    roster = check_channel_envelope(header, view)
    check_addressed(header, me=ctx.agency, roster=roster)
    return roster


def _check_fresh(ctx: NodeContext, envelope: Envelope, *, now: int, via: str) -> None:
    """Refuse pushed envelopes created too far from now; pulls are backfill and exempt."""
    if via == "push" and abs(now - envelope.header.created_ms) > ctx.config.replay_window_ms:
        raise TrustError(
            ReasonCode.STALE, "created outside the accepted time window", path="header.created_ms"
        )


async def _store(ctx: NodeContext, accepted: list[_Accepted], *, now: int, via: str) -> set[str]:
    """Store the batch in one transaction; on a race with another batch, one by one.

    The transaction is shared with concurrent requests (services/ingest_commit.py).
    """
    try:
        await ctx.stores.submit(partial(_insert, accepted=accepted, now=now, via=via))
        return {a.envelope.id for a in accepted}
    except StorageError as err:
        if err.reason != ReasonCode.CONFLICT:
            raise
    stored: set[str] = set()
    for item in accepted:
        try:
            async with ctx.db.transaction() as session:
                await _insert(session, [item], now=now, via=via)
            stored.add(item.envelope.id)
        except StorageError as err:
            if err.reason != ReasonCode.CONFLICT:
                raise
    return stored


async def _insert(session: AsyncSession, accepted: list[_Accepted], *, now: int, via: str) -> None:
    rows = [
        ReceivedEnvelope(
            id=a.envelope.id,
            sender=a.envelope.header.sender,
            sender_key=bytes(a.envelope.header.sender_key),
            kind=a.envelope.header.kind.value,
            created_ms=a.envelope.header.created_ms,
            received_ms=now,
            via=Via(via),
            raw=a.envelope.raw,
            signed_by_revoked=a.since_revoked,
            recipients=tuple(
                Addressee(agency, "channel" if a.roster else "named")
                for agency in header_recipients(a.envelope.header, a.roster)
            ),
        )
        for a in accepted
    ]
    await ReceivedEnvelopes(session).add_many(rows)
    await Notices(session).add_many([a.indexed.row for a in accepted if a.indexed is not None])
    await signal(session, LIVE_CHANNEL, [a.envelope.id for a in accepted if a.indexed is not None])
    receipts = Receipts(session)
    for a in accepted:
        if a.receipt is not None:
            await receipts.add(a.receipt)


async def _check_receipt(ctx: NodeContext, sender: str, notice: ReceiptNotice) -> StoredReceipt:
    """A receipt counts only for an envelope this node sent to its sender."""
    async with ctx.db.transaction(readonly=True) as session:
        sent_here = await SentEnvelopes(session).exists(notice.envelope)
        to_sender = sent_here and await Recipients(session).includes(notice.envelope, sender)
    if not to_sender:
        raise TrustError(
            ReasonCode.INCONSISTENT,
            "a receipt for an envelope this node did not send to you",
            path="envelope",
        )
    return StoredReceipt(
        envelope_id=notice.envelope,
        from_agency=sender,
        state=ReceiptState(notice.status.value),
        at_ms=notice.at_ms,
    )


def _refused(index: int, envelope: Envelope | None, err: BalizaError) -> EnvelopeResult:
    log.info("refused envelope %s: %s (%s)", envelope.id if envelope else index, err, err.reason)
    return EnvelopeResult(
        index=index,
        id=envelope.id if envelope else None,
        outcome=Outcome.REFUSED,
        reason=err.reason.value,
        detail=str(err),
    )
