"""One notice as people read it, and where a sent notice stands at each recipient.

``NoticeDetail`` is what ``GET /api/v1/notices/{id}``, the console's notice
page and ``baliza show`` render; ``RecipientDelivery`` the rows of
``GET /api/v1/notices/{id}/delivery`` and of the console's live delivery
table. Reading never writes: the read receipt is a separate act
(``services.receipts.mark_read``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Connection

from baliza.node.core.clock import now_ms
from baliza.node.services.attachment_transport import attachment_entries, store_of
from baliza.node.services.context import NodeContext
from baliza.node.services.index import hits_json, notice_row_json
from baliza.node.services.rules.delivery_state import recipient_standing
from baliza.node.services.views.board import AlertOutcome, scan
from baliza.node.services.views.originals import distinct_hits
from baliza.node.storage.delivery import OutboxEntry
from baliza.node.storage.envelopes import ReceivedEnvelope
from baliza.node.storage.notices import Direction, Hit, NoticeFilter, StoredNotice
from baliza.node.storage.receipts import Receipt, ReceiptState
from baliza.node.storage.sql import attachments as attachment_rows
from baliza.node.storage.sql import delivery_views
from baliza.node.storage.sql import envelopes as envelope_rows
from baliza.node.storage.sql import notices as notice_rows
from baliza.protocol.envelope import MessageKind, parse_envelope
from baliza.protocol.errors import BalizaError
from baliza.protocol.handling import Handling
from baliza.protocol.ids import KeyId
from baliza.protocol.notices.filenames import saved_filename


@dataclass(frozen=True, slots=True, kw_only=True)
class RecipientDelivery:
    """One recipient of a sent notice: delivered, read, refused or pending; and its answer.

    ``outcome`` is the outcome this recipient answered an alert with, if any.
    """

    destination: str
    state: str
    delivered_ms: int | None
    read_ms: int | None
    refused_reason: str | None
    refused_detail: str | None
    outcome: AlertOutcome | None

    @property
    def final(self) -> bool:
        """Nothing more will change: refused, answered (an alert) or read (anything else)."""
        return self.state == "refused" or self.outcome is not None or self.read_ms is not None

    def to_json(self) -> dict[str, Any]:
        """The API's Delivery object (chapter 08)."""
        return {
            "destination": self.destination,
            "state": self.state,
            "delivered_ms": self.delivered_ms,
            "read_ms": self.read_ms,
            "refused_reason": self.refused_reason,
            "refused_detail": self.refused_detail,
            "outcome": None if self.outcome is None else self.outcome.to_json(),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class AttachmentHeld:
    """A file a notice lists, and whether this node holds its content for that notice yet.

    ``filename`` is the name the notice gives; ``saved_as`` the name a
    download is saved under: its extension is the checked media type's
    (``saved_filename``), so every face offers the same, honest name.
    """

    sha256: str
    filename: str
    media_type: str
    size: int
    held: bool

    @property
    def saved_as(self) -> str:
        """The name a person's download of this file gets."""
        return saved_filename(self.filename, self.media_type)

    def to_json(self) -> dict[str, Any]:
        """The API's form."""
        return {
            "sha256": self.sha256,
            "filename": self.filename,
            "saved_as": self.saved_as,
            "media_type": self.media_type,
            "size": self.size,
            "held": self.held,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ShareOrigin:
    """Whose notice a share carries: the first envelope's id and the agency that wrote it.

    ``originator`` is the agency the carried notice's reporting unit names
    (a share holds the original unchanged, chapter 07 §6), so a share of a
    share still names the agency that wrote it, not an intermediate sharer.
    """

    envelope_id: str
    originator: str

    def to_json(self) -> dict[str, str]:
        """The API's form (chapter 08, "Details", ``share_of``)."""
        return {"id": self.envelope_id, "originator": self.originator}


def _share_origin(row: StoredNotice) -> ShareOrigin | None:
    if not row.shares:
        return None
    body: dict[str, Any] = json.loads(row.notice_json)
    carried = body.get("notice", body) if isinstance(body.get("notice"), dict) else body
    unit = carried.get("unit")
    agency = unit.get("agency") if isinstance(unit, dict) else None
    return ShareOrigin(
        envelope_id=row.shares, originator=agency if isinstance(agency, str) else row.sender
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeDetail:
    """One notice with what governs it, its hits, its attachments and, if sent here, its delivery.

    What governs it comes first for every face (API, console, ``baliza
    show``): its ``handling`` (TLP, handling codes H0–H3, the restrictions
    stated), whether it is a share and of whose notice (``share_of``), and
    whether its signing key was revoked since (``signed_by_revoked_key``);
    an officer reads these before acting on it. ``read_here_ms`` is when
    this node told the sender it was read (a received notice), ``None``
    until then.
    """

    notice: StoredNotice
    hits: tuple[Hit, ...]
    same_id_from: tuple[str, ...]
    signed_by_revoked_key: bool
    delivery: tuple[RecipientDelivery, ...]
    attachments: tuple[AttachmentHeld, ...]
    read_here_ms: int | None
    # The channel its signed header names; ``None`` for named recipients.
    channel: str | None = None

    @property
    def handling(self) -> Handling:
        """The handling the notice's signed header carries."""
        return Handling.from_wire(json.loads(self.notice.handling_json), "handling")

    @property
    def share_of(self) -> ShareOrigin | None:
        """For a share: the first envelope and whose notice it is; ``None`` otherwise."""
        return _share_origin(self.notice)

    def to_json(self) -> dict[str, Any]:
        """The API's single-notice form (chapter 08, "Details")."""
        out = notice_row_json(self.notice)
        out["signed_by_revoked_key"] = self.signed_by_revoked_key
        share = self.share_of
        out["share_of"] = None if share is None else share.to_json()
        if self.same_id_from:
            out["same_id_from"] = list(self.same_id_from)  # name ?sender= to read theirs
        out["hits"] = hits_json(list(self.hits))
        out["delivery"] = [d.to_json() for d in self.delivery]
        out["attachments"] = [a.to_json() for a in self.attachments]
        out["read_here_ms"] = self.read_here_ms
        out["channel"] = self.channel
        return out


def _read_at(receipts: list[Receipt], agency: str) -> int | None:
    read = [r.at_ms for r in receipts if r.from_agency == agency and r.state is ReceiptState.READ]
    return min(read) if read else None


def _rows(
    entries: list[OutboxEntry], receipts: list[Receipt], answered: dict[str, StoredNotice]
) -> tuple[RecipientDelivery, ...]:
    rows = []
    for e in entries:
        standing = recipient_standing(e, receipts)
        rows.append(
            RecipientDelivery(
                destination=e.destination,
                state=standing.state.value,
                delivered_ms=standing.delivered_ms,
                read_ms=_read_at(receipts, e.destination),
                refused_reason=standing.refused_reason,
                refused_detail=standing.refused_detail,
                outcome=None
                if e.destination not in answered
                else AlertOutcome.of(answered[e.destination]),
            )
        )
    return tuple(rows)


def answers_by_sender(connection: Connection, alert: StoredNotice) -> dict[str, StoredNotice]:
    """The latest outcome each agency answered ``alert`` with (stored after it, necessarily)."""
    if alert.kind != MessageKind.ALERT.value:
        return {}
    outcomes, _ = scan(connection, NoticeFilter(kind=MessageKind.OUTCOME.value), alert.seq)
    by_sender: dict[str, StoredNotice] = {}
    for outcome in outcomes:  # in storage order: the latest answer wins
        if json.loads(outcome.notice_json).get("alert") == alert.envelope_id:
            by_sender[outcome.sender] = outcome
    return by_sender


def _delivery(connection: Connection, eid: str, me: str) -> tuple[RecipientDelivery, ...]:
    entries = delivery_views.state_for_envelope(connection, eid)
    if not entries:
        return ()
    receipts = delivery_views.receipts_for(connection, eid)
    sent = notice_rows.get_many(connection, [(me, eid)]).get((me, eid))
    answered = answers_by_sender(connection, sent) if sent is not None else {}
    return _rows(entries, receipts, answered)


async def delivery(ctx: NodeContext, eid: str) -> tuple[RecipientDelivery, ...]:
    """Where a notice this node sent stands at each recipient (empty for one received).

    One read unit of work: the outbox, the receipts and the outcomes received.
    """
    return await ctx.db.run(partial(_delivery, eid=eid, me=ctx.agency), write=False)


def _signed_by_revoked(ctx: NodeContext, sender: str, key: bytes, created_ms: int) -> bool:
    try:
        found = ctx.trust.sender_key(sender, KeyId(key), created_ms, now_ms())
    except BalizaError:
        return True  # no longer vouched for at all: tell the reader
    return found.since_revoked


def _attachments(
    ctx: NodeContext, row: StoredNotice, fetched: frozenset[str]
) -> tuple[AttachmentHeld, ...]:
    """The files ``row`` lists; held if here and, for a received notice, fetched for it."""
    store = store_of(ctx)
    return tuple(
        AttachmentHeld(
            sha256=str(e["sha256"]),
            filename=str(e.get("filename", e["sha256"])),
            media_type=str(e["media_type"]),
            size=int(e["size"]),
            held=(row.direction is Direction.OUT or str(e["sha256"]) in fetched)
            and store.path(str(e["sha256"])) is not None,
        )
        for e in attachment_entries(row)
    )


@dataclass(frozen=True, slots=True)
class _NoticeFacts:
    """What one read unit gathers for a notice page."""

    row: StoredNotice
    others: tuple[str, ...]
    hits: tuple[Hit, ...]
    receipts: list[Receipt]
    delivery: tuple[RecipientDelivery, ...]
    received: ReceivedEnvelope | None
    fetched: frozenset[str]
    channel: str | None


def _channel_of(raw: bytes | None) -> str | None:
    """The channel the stored envelope's signed header names (``None``: named recipients)."""
    return None if raw is None else parse_envelope(raw).header.channel


def _notice_facts(connection: Connection, eid: str, sender: str | None) -> _NoticeFacts:
    row = notice_rows.get(connection, eid, sender)
    others = tuple(s for s in notice_rows.senders_of(connection, eid) if s != row.sender)
    hits = tuple(distinct_hits(row, notice_rows.hits(connection, eid, sender=row.sender)))
    receipts = delivery_views.receipts_for(connection, eid)
    rows: tuple[RecipientDelivery, ...] = ()
    received = None
    fetched: frozenset[str] = frozenset()
    if row.direction is Direction.OUT:
        entries = delivery_views.state_for_envelope(connection, eid)
        answered = answers_by_sender(connection, row) if entries else {}
        rows = _rows(entries, receipts, answered)
        channel = _channel_of(envelope_rows.sent_raw_or_none(connection, eid))
    else:
        received = envelope_rows.received(connection, eid, row.sender)
        fetched = attachment_rows.fetched(connection, row.sender, eid)
        channel = _channel_of(received.raw)
    return _NoticeFacts(row, others, hits, receipts, rows, received, fetched, channel)


async def notice_detail(ctx: NodeContext, eid: str, sender: str | None = None) -> NoticeDetail:
    """One notice in full, read in one read unit of work; nothing is written.

    The notice, its hits, the other senders of its id, its receipts and
    delivery (or the envelope it came in) are one trip to the database.
    ``sender`` picks one notice when two senders used the same id. Raises
    ``StorageError`` (not found) when no such notice is stored.
    """
    facts = await ctx.db.run(partial(_notice_facts, eid=eid, sender=sender), write=False)
    row = facts.row
    received = facts.received
    revoked = received is not None and (
        received.signed_by_revoked
        or _signed_by_revoked(ctx, received.sender, received.sender_key, received.created_ms)
    )
    return NoticeDetail(
        notice=row,
        hits=facts.hits,
        same_id_from=facts.others,
        signed_by_revoked_key=revoked,
        delivery=facts.delivery,
        attachments=_attachments(ctx, row, facts.fetched),
        read_here_ms=None
        if row.direction is Direction.OUT
        else _read_at(facts.receipts, ctx.agency),
        channel=facts.channel,
    )
