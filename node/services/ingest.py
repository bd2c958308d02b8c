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

from sqlalchemy.ext.asyncio import AsyncSession

from baliza.crypto.seal import open_notice
from baliza.node.core.clock import now_ms
from baliza.node.services.channels import ChannelView, channel_view, check_channel_envelope
from baliza.node.services.context import NodeContext
from baliza.node.services.index import IndexedNotice, hits_json, index_notice, notice_row_json
from baliza.node.services.ingest_commit import StoreWrite, run_writes
from baliza.node.services.plausibility import (
    check_not_future,
    check_receipt_time,
    check_unit_agency,
)
from baliza.node.services.recipients import ChannelRoster, check_addressed, header_recipients
from baliza.node.services.rules.lifecycle import check_supersedes_owner
from baliza.node.storage.delivery import Outbox
from baliza.node.storage.envelopes import (
    ReceivedEnvelope,
    ReceivedEnvelopes,
    SentEnvelopes,
    Via,
)
from baliza.node.storage.notices import Direction, Notices
from baliza.node.storage.receipts import Receipt as StoredReceipt
from baliza.node.storage.receipts import ReceiptState
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
        parsed = await _without_foreign_supersedes(session, parsed, results)
        # Ids are keyed by sender: another member's envelope under the same id
        # is a different envelope. Only the sender's own earlier envelope with
        # the same bytes is a duplicate; different bytes under its id, or an id
        # this node used for an envelope it sent, are a clash, answered only
        # after the signature is checked so nobody learns which ids are here.
        received = ReceivedEnvelopes(session)
        ids = {e.id for _, e in parsed}
        known = await received.exists_many(ids, sender=origin)
        stored = {eid: await received.get_raw(eid, origin) for eid in known}
        ours = await SentEnvelopes(session).exists_many(ids)
    seen: dict[str, bytes] = {}
    clashes: set[int] = set()
    for index, envelope in parsed:
        earlier = stored.get(envelope.id, seen.get(envelope.id))
        if earlier == envelope.raw:
            results[index] = EnvelopeResult(index=index, id=envelope.id, outcome=Outcome.DUPLICATE)
            continue
        if earlier is not None or envelope.id in ours:
            clashes.add(index)
        seen.setdefault(envelope.id, envelope.raw)
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
            notice, plaintext = open_notice(envelope, recipient=recipient, sender=key.keys)
            if index in clashes:
                raise TrustError(ReasonCode.CONFLICT, "another envelope with this id is here")
            if header.shares is None:
                # A share passes on another agency's notice unchanged: its
                # reporting unit is the originator's, named by ``shares``.
                check_unit_agency(notice, header.sender)
            if isinstance(notice, ReceiptNotice):
                receipt = await _check_receipt(ctx, header.sender, notice)
                accepted.append(_Accepted(index, envelope, None, key.since_revoked, receipt))
                continue
            indexed = index_notice(envelope, notice, Direction.IN, now, plaintext=plaintext)
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
        new_notices: list[tuple[str, str]] = [
            (origin, a.envelope.id)
            for a in accepted
            if a.envelope.id in inserted and a.indexed is not None
        ]
        # Only notices listing attachments have content to fetch (a false
        # positive costs the fetcher one read, and nothing else).
        with_files: list[tuple[str, str]] = [
            (origin, a.envelope.id)
            for a in accepted
            if a.envelope.id in inserted
            and a.indexed is not None
            and '"attachments":' in a.indexed.row.notice_json
        ]
        for callback in ctx.on_notices_stored:
            callback(with_files)
        await announce(ctx, new_notices)
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


# Hits sent live with a new notice, the most recent first: a vessel or a
# company named in hundreds of notices must not turn one notice into hundreds
# of events for every follower. The notice's own page lists them all.
LIVE_HITS = 10


async def announce(
    ctx: NodeContext, stored: list[tuple[str, str]], *, relayed: bool = False
) -> None:
    """Tell live followers about newly stored notices, given as (sender, envelope id).

    On PostgreSQL the storing transaction signalled them to every worker of
    the agency, this one included, and each announces them to its own
    followers when the signal arrives (``relayed``; see services/crossworker.py).
    """
    if not stored or not ctx.live.followers:
        return
    if ctx.db.dialect == "postgresql" and not relayed:
        return
    async with ctx.db.transaction(readonly=True) as session:
        notices = Notices(session)
        # A batch and its hits are read in five statements, not a few per notice.
        rows, hits = await notices.with_newest_hits(stored, LIVE_HITS)
    for key in stored:
        if key not in rows:
            raise StorageError(ReasonCode.NOT_FOUND, f"no notice for envelope {key[1]}")
        row = notice_row_json(rows[key], with_body=False)
        ctx.live.publish(row | {"hits": hits_json(hits[key])})


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


async def _without_foreign_supersedes(
    session: AsyncSession, parsed: list[tuple[int, Envelope]], results: dict[int, EnvelopeResult]
) -> list[tuple[int, Envelope]]:
    """Refuse an envelope that supersedes a notice another agency sent (only its sender may).

    The rule is the publishing side's (``rules.lifecycle.check_supersedes_owner``);
    this reads who sent the superseded envelope, if this node holds it.
    """
    kept: list[tuple[int, Envelope]] = []
    for index, envelope in parsed:
        target = envelope.header.supersedes
        owner: str | None = None
        if target is not None:
            received = ReceivedEnvelopes(session)
            if await SentEnvelopes(session).exists(target):
                owner = "this agency"
            elif await received.exists(target, sender=envelope.header.sender):
                owner = envelope.header.sender
            elif await received.exists(target):
                owner = (await received.get(target)).sender
        try:
            if target is not None:
                check_supersedes_owner(
                    envelope.header.sender, target, owner, path="header.supersedes"
                )
        except BalizaError as err:
            results[index] = _refused(index, envelope, err)
            continue
        kept.append((index, envelope))
    return kept


def _check_fresh(ctx: NodeContext, envelope: Envelope, *, now: int, via: str) -> None:
    """Refuse pushed envelopes created too far from now; pulls are backfill and exempt.

    Nothing, pushed or pulled, may claim to be created in the future.
    """
    check_not_future(envelope.header.created_ms, now_ms=now, skew_ms=ctx.config.request_skew_ms)
    if via == "push" and abs(now - envelope.header.created_ms) > ctx.config.replay_window_ms:
        raise TrustError(
            ReasonCode.STALE, "created outside the accepted time window", path="header.created_ms"
        )


async def _store(ctx: NodeContext, accepted: list[_Accepted], *, now: int, via: str) -> set[str]:
    """Store the batch in one transaction; on a race with another batch, one by one.

    The transaction is shared with concurrent requests (services/ingest_commit.py).
    """
    try:
        await ctx.stores.submit(_write(accepted, now=now, via=via))
        return {a.envelope.id for a in accepted}
    except StorageError as err:
        if err.reason != ReasonCode.CONFLICT:
            raise
    stored: set[str] = set()
    for item in accepted:
        try:
            async with ctx.db.transaction() as session:
                await run_writes(session, [_write([item], now=now, via=via)])
            stored.add(item.envelope.id)
        except StorageError as err:
            if err.reason != ReasonCode.CONFLICT:
                raise
    return stored


def _write(accepted: list[_Accepted], *, now: int, via: str) -> StoreWrite:
    """The rows storing ``accepted``: envelopes with their recipients, notices, receipts."""
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
    return StoreWrite(
        envelopes=tuple(rows),
        notices=tuple(a.indexed.row for a in accepted if a.indexed is not None),
        receipts=tuple(a.receipt for a in accepted if a.receipt is not None),
    )


async def _check_receipt(ctx: NodeContext, sender: str, notice: ReceiptNotice) -> StoredReceipt:
    """A receipt counts only for an envelope this node sent to its sender."""
    async with ctx.db.transaction(readonly=True) as session:
        try:
            sent = await SentEnvelopes(session).get(notice.envelope)
        except StorageError:
            sent = None
        to_sender = sent is not None and await Recipients(session).includes(notice.envelope, sender)
    if sent is None or not to_sender:
        raise TrustError(
            ReasonCode.INCONSISTENT,
            "a receipt for an envelope this node did not send to you",
            path="envelope",
        )
    await _check_receipt_time(ctx, sender, notice, sent_ms=sent.created_ms)
    return StoredReceipt(
        envelope_id=notice.envelope,
        from_agency=sender,
        state=ReceiptState(notice.status.value),
        at_ms=notice.at_ms,
    )


async def _check_receipt_time(
    ctx: NodeContext, sender: str, notice: ReceiptNotice, *, sent_ms: int
) -> None:
    async with ctx.db.transaction(readonly=True) as session:
        states = await Outbox(session).state_for_envelope(notice.envelope)
    delivered = next((s.delivered_ms for s in states if s.destination == sender), None)
    check_receipt_time(
        notice.at_ms,
        sent_ms=sent_ms,
        delivered_ms=delivered,
        now_ms=now_ms(),
        skew_ms=ctx.config.request_skew_ms,
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
