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
import time
from dataclasses import dataclass
from functools import partial

from sqlalchemy import Connection

from baliza.crypto.seal import open_bytes, open_notice
from baliza.node.core.clock import now_ms
from baliza.node.core.metrics import REFUSALS, refusal_labels
from baliza.node.services.announce import announce_written, wants_hits
from baliza.node.services.channels import MAX_CHAIN, ChannelView, check_channel_envelope
from baliza.node.services.context import NodeContext
from baliza.node.services.fedauth import check_not_blocked
from baliza.node.services.index import IndexedNotice, index_notice
from baliza.node.services.ingest_commit import StoreWrite
from baliza.node.services.plausibility import check_not_future, check_unit_agency
from baliza.node.services.recipients import ChannelRoster, check_addressed, header_recipients
from baliza.node.services.rules.audience import check_jit_kind
from baliza.node.services.rules.content import carried_kind
from baliza.node.services.rules.lifecycle import check_supersedes_owner
from baliza.node.services.shared_original import open_share_body
from baliza.node.storage.envelopes import ReceivedEnvelope, Via
from baliza.node.storage.notices import Direction
from baliza.node.storage.receipts import Receipt as StoredReceipt
from baliza.node.storage.receipts import ReceiptState
from baliza.node.storage.recipients import Addressee
from baliza.node.storage.sql import channels as channel_rows
from baliza.node.storage.sql import envelopes as envelope_rows
from baliza.node.storage.sql import trust as trust_rows
from baliza.protocol.envelope import Envelope, Header, parse_envelope
from baliza.protocol.errors import BalizaError, ReasonCode, TrustError
from baliza.protocol.federation import EnvelopeResult, Outcome
from baliza.protocol.ids import AgencyId
from baliza.protocol.notices import Receipt as ReceiptNotice

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IngestFacts:
    """What this node holds that a batch from one origin is checked against, read once.

    ``owners``: the senders of each envelope a ``supersedes`` names, as this
    node knows them, earliest first (``MINE`` for one this node sent); ``stored``: the bytes
    already received from the origin under the batch's ids; ``ours``: the
    batch's ids this node used for envelopes it sent.
    """

    blocked: bool
    views: dict[tuple[str, int], ChannelView]
    owners: dict[str, tuple[str, ...]]
    stored: dict[str, bytes]
    ours: frozenset[str]


MINE = ""  # the owner of an envelope this node sent, in ``IngestFacts.owners``


def read_ingest_facts(
    connection: Connection, origin: AgencyId, envelopes: list[Envelope]
) -> IngestFacts:
    """The read unit of ingest: every fact the batch's checks need, in one trip."""
    blocked = trust_rows.is_blocked(connection, origin)
    views: dict[tuple[str, int], ChannelView] = {}
    for envelope in envelopes:
        channel, version = envelope.header.channel, envelope.header.membership_version
        if channel is None or version is None or (channel, version) in views:
            continue
        at_version, later = channel_rows.chain_from(connection, channel, version, MAX_CHAIN)
        views[(channel, version)] = ChannelView(at_version=at_version, later=later)
    ids: set[str] = {e.id for e in envelopes}
    targets: set[str] = {e.header.supersedes for e in envelopes if e.header.supersedes is not None}
    stored, sent = envelope_rows.known_ids(connection, origin, ids, targets)
    owners: dict[str, tuple[str, ...]] = {t: (MINE,) for t in targets & sent}
    if targets - sent:
        owners |= envelope_rows.received_senders(connection, targets - sent)
    return IngestFacts(blocked, views, owners, stored, frozenset(ids & sent))


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
    """Process one batch from ``origin``; return one result per envelope, in order.

    Facts (one read unit) → the checks, a pure function of them → signature
    and decryption → one write unit shared with concurrent requests → the
    live announcement of what that unit wrote.
    """
    started = time.perf_counter()
    now = now_ms()
    results: dict[int, EnvelopeResult] = {}
    parsed: list[tuple[int, Envelope]] = []
    for index, raw in enumerate(batch):
        try:
            parsed.append((index, parse_envelope(raw)))
        except BalizaError as err:
            results[index] = _refused(index, None, err)
    facts = await ctx.db.run(
        partial(read_ingest_facts, origin=origin, envelopes=[e for _, e in parsed]), write=False
    )
    candidates, clashes, rosters, in_batch = _check_batch(
        ctx, origin, parsed, facts, results, now, via
    )

    accepted: list[_Accepted] = []
    opened_ids: set[str] = set()
    for index, envelope in candidates:
        try:
            header = envelope.header
            # The directory says whether this key could sign at created_ms
            # (rotation overlap, revocation time); the crypto layer checks the rest.
            key = ctx.trust.sender_key(header.sender, header.sender_key, header.created_ms, now)
            recipient = ctx.keyring.for_envelope(envelope)
            if header.shares is None:
                notice, plaintext = open_notice(envelope, recipient=recipient, sender=key.keys)
            else:
                # A share's words are the originator's only as its signed
                # envelope, carried inside, says them (unit check included).
                opened = open_bytes(envelope, recipient=recipient, sender=key.keys)
                shared = open_share_body(ctx, envelope, opened)
                notice, plaintext = shared.notice, shared.plaintext
            if index in clashes:
                raise TrustError(ReasonCode.CONFLICT, "another envelope with this id is here")
            target = header.supersedes
            if target is not None and index in in_batch and target not in opened_ids:
                # It named an earlier envelope of this batch, refused since.
                check_supersedes_owner(header.sender, target, None, path="header.supersedes")
            # The header's kind says "correction"; what it carries says whether
            # it is a case notice, which travels only inside a JIT.
            check_jit_kind(carried_kind(notice), _channel_kind(header, facts), path="notice.kind")
            if header.shares is None:
                check_unit_agency(notice, header.sender)
            opened_ids.add(envelope.id)
            if isinstance(notice, ReceiptNotice):
                receipt = StoredReceipt(
                    envelope_id=notice.envelope,
                    from_agency=header.sender,
                    state=ReceiptState(notice.status.value),
                    at_ms=notice.at_ms,
                )
                accepted.append(_Accepted(index, envelope, None, key.since_revoked, receipt))
                continue
            indexed = index_notice(envelope, notice, Direction.IN, now, plaintext=plaintext)
            accepted.append(
                _Accepted(index, envelope, indexed, key.since_revoked, roster=rosters.get(index))
            )
        except BalizaError as err:
            results[index] = _refused(index, envelope, err)

    if accepted:
        stored = await ctx.stores.submit(
            _write(
                accepted,
                now=now,
                via=via,
                skew_ms=ctx.config.request_skew_ms,
                with_hits=wants_hits(ctx),
            )
        )
        for item in accepted:
            refusal = stored.refused.get(item.envelope.id)
            if refusal is not None:
                results[item.index] = _refused(item.index, item.envelope, refusal)
                continue
            outcome = Outcome.ACCEPTED if item.envelope.id in stored.inserted else Outcome.DUPLICATE
            results[item.index] = EnvelopeResult(
                index=item.index, id=item.envelope.id, outcome=outcome
            )
        # Only notices listing attachments have content to fetch (a false
        # positive costs the fetcher one read, and nothing else).
        with_files: list[tuple[str, str]] = [
            (origin, a.envelope.id)
            for a in accepted
            if a.envelope.id in stored.inserted
            and a.indexed is not None
            and '"attachments":' in a.indexed.row.notice_json
        ]
        for callback in ctx.on_notices_stored:
            callback(with_files)
        announce_written(ctx, stored.written)
    ctx.count("baliza_envelopes_received_total", len(batch))
    ctx.count(
        "baliza_envelopes_accepted_total",
        sum(r.outcome == Outcome.ACCEPTED for r in results.values()),
    )
    ctx.count(
        "baliza_envelopes_refused_total",
        sum(r.outcome == Outcome.REFUSED for r in results.values()),
    )
    for result in results.values():
        if result.outcome == Outcome.REFUSED:
            ctx.count_labelled(REFUSALS, refusal_labels("in", origin, result.reason or "refused"))
    ctx.observe("baliza_ingest_duration_seconds", time.perf_counter() - started)
    return [results[i] for i in range(len(batch))]


def _channel_kind(header: Header, facts: IngestFacts) -> str | None:
    """The kind of the channel version an accepted channel envelope was sealed to."""
    if header.channel is None or header.membership_version is None:
        return None
    view = facts.views.get((header.channel, header.membership_version))
    return None if view is None or view.at_version is None else view.at_version.kind


def _check_batch(
    ctx: NodeContext,
    origin: AgencyId,
    parsed: list[tuple[int, Envelope]],
    facts: IngestFacts,
    results: dict[int, EnvelopeResult],
    now: int,
    via: str,
) -> tuple[list[tuple[int, Envelope]], set[int], dict[int, ChannelRoster | None], set[int]]:
    """The checks before cryptography, cheapest first, on the facts read.

    Returns the envelopes to verify and open, the indexes whose id clashes
    with another envelope here (refused only after the signature is checked,
    so nobody learns which ids are here), each envelope's channel roster, and
    the indexes superseding an earlier envelope of the batch (accepted only
    if that one is). Refusals go into ``results``.
    """
    rosters: dict[int, ChannelRoster | None] = {}
    authorised: list[tuple[int, Envelope]] = []
    for index, envelope in parsed:
        header = envelope.header
        view = (
            None
            if header.channel is None or header.membership_version is None
            else facts.views[(header.channel, header.membership_version)]
        )
        try:
            rosters[index] = _authorise(ctx, origin, envelope, blocked=facts.blocked, view=view)
            authorised.append((index, envelope))
        except BalizaError as err:
            results[index] = _refused(index, envelope, err)
    kept, in_batch = _without_foreign_supersedes(authorised, facts.owners, results)
    # Ids are keyed by sender: another member's envelope under the same id
    # is a different envelope. Only the sender's own earlier envelope with
    # the same bytes is a duplicate; different bytes under its id, or an id
    # this node used for an envelope it sent, are a clash.
    seen: dict[str, bytes] = {}
    clashes: set[int] = set()
    candidates: list[tuple[int, Envelope]] = []
    for index, envelope in kept:
        earlier = facts.stored.get(envelope.id, seen.get(envelope.id))
        if earlier == envelope.raw:
            results[index] = EnvelopeResult(index=index, id=envelope.id, outcome=Outcome.DUPLICATE)
            continue
        if earlier is not None or envelope.id in facts.ours:
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
    return candidates, clashes, rosters, in_batch


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
    check_not_blocked(origin, blocked=blocked)
    roster = check_channel_envelope(header, view)
    check_addressed(header, me=ctx.agency, roster=roster)
    return roster


def _without_foreign_supersedes(
    parsed: list[tuple[int, Envelope]],
    owners: dict[str, tuple[str, ...]],
    results: dict[int, EnvelopeResult],
) -> tuple[list[tuple[int, Envelope]], set[int]]:
    """Refuse an envelope superseding a notice its sender did not send to this node.

    The rule is the publishing side's (``rules.lifecycle.check_supersedes_owner``);
    this reads who sent the superseded envelope here: this node, another
    agency, the sender, or nobody. An envelope earlier in the same batch
    counts as the sender's (the original and its correction travel
    together); the indexes relying on that are returned, to be refused if
    that envelope is.
    """
    kept: list[tuple[int, Envelope]] = []
    in_batch: set[int] = set()
    earlier: set[str] = set()
    for index, envelope in parsed:
        header = envelope.header
        target = header.supersedes
        if target is not None:
            senders = owners.get(target, ())
            owner: str | None = None
            if MINE in senders:
                owner = "this agency"
            elif senders:
                # Ids are unique per sender: its own envelope under that id is its own.
                owner = header.sender if header.sender in senders else senders[0]
            elif target in earlier:
                owner = header.sender
                in_batch.add(index)
            try:
                check_supersedes_owner(header.sender, target, owner, path="header.supersedes")
            except BalizaError as err:
                results[index] = _refused(index, envelope, err)
                continue
        earlier.add(envelope.id)
        kept.append((index, envelope))
    return kept, in_batch


def _check_fresh(ctx: NodeContext, envelope: Envelope, *, now: int, via: str) -> None:
    """Refuse pushed envelopes created too far from now; pulls are backfill and exempt.

    Nothing, pushed or pulled, may claim to be created in the future.
    """
    check_not_future(envelope.header.created_ms, now_ms=now, skew_ms=ctx.config.request_skew_ms)
    if via == "push" and abs(now - envelope.header.created_ms) > ctx.config.replay_window_ms:
        raise TrustError(
            ReasonCode.STALE, "created outside the accepted time window", path="header.created_ms"
        )


def _write(
    accepted: list[_Accepted], *, now: int, via: str, skew_ms: int, with_hits: bool
) -> StoreWrite:
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
        receipts=tuple((a.envelope.id, a.receipt) for a in accepted if a.receipt is not None),
        now_ms=now,
        skew_ms=skew_ms,
        with_hits=with_hits,
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
