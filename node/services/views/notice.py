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
from typing import Any

from baliza.node.core.clock import now_ms
from baliza.node.services.attachment_transport import attachment_entries, store_of
from baliza.node.services.context import NodeContext
from baliza.node.services.index import hits_json, notice_row_json
from baliza.node.services.outbox import receipts_in, states_in
from baliza.node.services.views.board import AlertOutcome, scan
from baliza.node.storage.delivery import OutboxEntry
from baliza.node.storage.envelopes import ReceivedEnvelopes
from baliza.node.storage.notices import Direction, Hit, NoticeFilter, Notices, StoredNotice
from baliza.node.storage.receipts import Receipt, ReceiptState
from baliza.protocol.envelope import MessageKind
from baliza.protocol.errors import BalizaError
from baliza.protocol.ids import KeyId


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
    """A file a notice lists, and whether this node holds its content yet."""

    sha256: str
    filename: str
    media_type: str
    size: int
    held: bool

    def to_json(self) -> dict[str, Any]:
        """The API's form."""
        return {
            "sha256": self.sha256,
            "filename": self.filename,
            "media_type": self.media_type,
            "size": self.size,
            "held": self.held,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeDetail:
    """One notice with its hits, its attachments and, if this node sent it, its delivery.

    ``read_here_ms`` is when this node told the sender it was read (a
    received notice), ``None`` until then.
    """

    notice: StoredNotice
    hits: tuple[Hit, ...]
    same_id_from: tuple[str, ...]
    signed_by_revoked_key: bool
    delivery: tuple[RecipientDelivery, ...]
    attachments: tuple[AttachmentHeld, ...]
    read_here_ms: int | None

    def to_json(self) -> dict[str, Any]:
        """The API's single-notice form (chapter 08, "Details")."""
        out = notice_row_json(self.notice)
        out["signed_by_revoked_key"] = self.signed_by_revoked_key
        if self.same_id_from:
            out["same_id_from"] = list(self.same_id_from)  # name ?sender= to read theirs
        out["hits"] = hits_json(list(self.hits))
        out["delivery"] = [d.to_json() for d in self.delivery]
        out["attachments"] = [a.to_json() for a in self.attachments]
        out["read_here_ms"] = self.read_here_ms
        return out


def _read_at(receipts: list[Receipt], agency: str) -> int | None:
    read = [r.at_ms for r in receipts if r.from_agency == agency and r.state is ReceiptState.READ]
    return min(read) if read else None


def _rows(
    entries: list[OutboxEntry], receipts: list[Receipt], answered: dict[str, StoredNotice]
) -> tuple[RecipientDelivery, ...]:
    return tuple(
        RecipientDelivery(
            destination=e.destination,
            state=e.state.value,
            delivered_ms=e.delivered_ms,
            read_ms=_read_at(receipts, e.destination),
            refused_reason=e.refused_reason,
            refused_detail=e.refused_detail,
            outcome=None
            if e.destination not in answered
            else AlertOutcome.of(answered[e.destination]),
        )
        for e in entries
    )


async def _answers_by_sender(notices: Notices, alert: StoredNotice) -> dict[str, StoredNotice]:
    """The latest outcome each agency answered ``alert`` with (stored after it, necessarily)."""
    if alert.kind != MessageKind.ALERT.value:
        return {}
    outcomes, _ = await scan(notices, NoticeFilter(kind=MessageKind.OUTCOME.value), alert.seq)
    by_sender: dict[str, StoredNotice] = {}
    for outcome in outcomes:  # in storage order: the latest answer wins
        if json.loads(outcome.notice_json).get("alert") == alert.envelope_id:
            by_sender[outcome.sender] = outcome
    return by_sender


async def delivery(ctx: NodeContext, eid: str) -> tuple[RecipientDelivery, ...]:
    """Where a notice this node sent stands at each recipient (empty for one received).

    One read-only transaction: the outbox, the receipts and the outcomes received.
    """
    async with ctx.db.transaction(readonly=True) as session:
        entries = await states_in(session, eid)
        if not entries:
            return ()
        receipts = await receipts_in(session, eid)
        notices = Notices(session)
        sent = (await notices.get_many([(ctx.agency, eid)])).get((ctx.agency, eid))
        answered = await _answers_by_sender(notices, sent) if sent is not None else {}
    return _rows(entries, receipts, answered)


def _signed_by_revoked(ctx: NodeContext, sender: str, key: bytes, created_ms: int) -> bool:
    try:
        found = ctx.trust.sender_key(sender, KeyId(key), created_ms, now_ms())
    except BalizaError:
        return True  # no longer vouched for at all: tell the reader
    return found.since_revoked


def _attachments(ctx: NodeContext, row: StoredNotice) -> tuple[AttachmentHeld, ...]:
    store = store_of(ctx)
    return tuple(
        AttachmentHeld(
            sha256=str(e["sha256"]),
            filename=str(e.get("filename", e["sha256"])),
            media_type=str(e["media_type"]),
            size=int(e["size"]),
            held=store.path(str(e["sha256"])) is not None,
        )
        for e in attachment_entries(row)
    )


async def notice_detail(ctx: NodeContext, eid: str, sender: str | None = None) -> NoticeDetail:
    """One notice in full, read in one read-only transaction; nothing is written.

    ``sender`` picks one notice when two senders used the same id. Raises
    ``StorageError`` (not found) when no such notice is stored.
    """
    async with ctx.db.transaction(readonly=True) as session:
        notices = Notices(session)
        row = await notices.get(eid, sender)
        others = tuple(s for s in await notices.senders_of(eid) if s != row.sender)
        hits = tuple(await notices.hits(eid, sender=row.sender))
        receipts = await receipts_in(session, eid)
        revoked = False
        rows: tuple[RecipientDelivery, ...] = ()
        if row.direction is Direction.OUT:
            entries = await states_in(session, eid)
            answered = await _answers_by_sender(notices, row) if entries else {}
            rows = _rows(entries, receipts, answered)
        else:
            received = await ReceivedEnvelopes(session).get(eid, row.sender)
            revoked = received.signed_by_revoked or _signed_by_revoked(
                ctx, received.sender, received.sender_key, received.created_ms
            )
    return NoticeDetail(
        notice=row,
        hits=hits,
        same_id_from=others,
        signed_by_revoked_key=revoked,
        delivery=rows,
        attachments=_attachments(ctx, row),
        read_here_ms=None if row.direction is Direction.OUT else _read_at(receipts, ctx.agency),
    )
