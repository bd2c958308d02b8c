"""Receipts: what a received receipt is checked against, storing them, and reading them back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, String, and_, bindparam, func, select

from baliza.node.storage.models import (
    NoticeRow,
    OutboxRow,
    ReceiptRow,
    RecipientRow,
    SentEnvelopeRow,
    table_of,
)
from baliza.node.storage.receipts import STATE_ORDER, Receipt, ReceiptState
from baliza.node.storage.sql._dialect import Upsert
from baliza.protocol.errors import ReasonCode, StorageError

_receipts = table_of(ReceiptRow)
_sent = table_of(SentEnvelopeRow)
_recipients = table_of(RecipientRow)
_outbox = table_of(OutboxRow)
_notices = table_of(NoticeRow)

_INSERT = Upsert(
    _receipts,
    lambda s: s.on_conflict_do_nothing(index_elements=["envelope_id", "from_agency", "state"]),
)
_ADD = Upsert(
    _receipts,
    lambda s: s.on_conflict_do_nothing(
        index_elements=["envelope_id", "from_agency", "state"]
    ).returning(_receipts.c.envelope_id),
)
_FOR_ENVELOPE = select(_receipts.c.from_agency, _receipts.c.state, _receipts.c.at_ms).where(
    _receipts.c.envelope_id == bindparam("envelope_id")
)
# What marking a notice read needs, in one statement: who sent the notice
# stored under the id (the earliest, without a sender), whether it came in,
# and when this node first recorded reading it.
_FIRST_READ = (
    select(func.min(_receipts.c.at_ms))
    .where(
        _receipts.c.envelope_id == bindparam("envelope_id", type_=String),
        _receipts.c.from_agency == bindparam("me"),
        _receipts.c.state == ReceiptState.READ.value,
    )
    .scalar_subquery()
)
_READ_TARGET = (
    select(_notices.c.sender, _notices.c.direction, _notices.c.kind, _FIRST_READ)
    .where(_notices.c.envelope_id == bindparam("envelope_id", type_=String))
    .order_by(_notices.c.seq)
    .limit(1)
)
_READ_TARGET_FROM = _READ_TARGET.where(_notices.c.sender == bindparam("sender"))
# One sent envelope as one agency knows it: when it was created, whether that
# agency was addressed, and when it was delivered there.
_SENT_TO = (
    select(_sent.c.id, _sent.c.created_ms, _recipients.c.agency, _outbox.c.delivered_ms)
    .outerjoin(
        _recipients,
        and_(_recipients.c.envelope_id == _sent.c.id, _recipients.c.agency == bindparam("agency")),
    )
    .outerjoin(
        _outbox,
        and_(_outbox.c.envelope_id == _sent.c.id, _outbox.c.destination == bindparam("agency")),
    )
    .where(_sent.c.id.in_(bindparam("ids", expanding=True)))
)


@dataclass(frozen=True, slots=True)
class SentTo:
    """What a receipt from one agency about one envelope is checked against."""

    created_ms: int
    addressed: bool
    delivered_ms: int | None


def sent_to(connection: Connection, agency: str, ids: Iterable[str]) -> dict[str, SentTo]:
    """Of ``ids`` this node sent: created when, addressed to ``agency``, delivered when."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {
        eid: SentTo(created_ms, addressed is not None, delivered_ms)
        for eid, created_ms, addressed, delivered_ms in connection.execute(
            _SENT_TO, {"agency": agency, "ids": wanted}
        )
    }


def insert_receipts(connection: Connection, receipts: Sequence[Receipt]) -> None:
    """Store receipts; one already stored (same envelope, agency, state) is kept as it was."""
    if receipts:
        connection.execute(
            _INSERT.on(connection),
            [
                {
                    "envelope_id": r.envelope_id,
                    "from_agency": r.from_agency,
                    "state": ReceiptState(r.state).value,
                    "at_ms": r.at_ms,
                }
                for r in receipts
            ],
        )


def add_receipt(connection: Connection, receipt: Receipt) -> bool:
    """Store a receipt unless the same one is stored; True if it was new."""
    params = {
        "envelope_id": receipt.envelope_id,
        "from_agency": receipt.from_agency,
        "state": ReceiptState(receipt.state).value,
        "at_ms": receipt.at_ms,
    }
    return connection.execute(_ADD.on(connection), params).first() is not None


def for_envelope(connection: Connection, envelope_id: str) -> list[Receipt]:
    """Every receipt of an envelope, by agency, then delivered → read → actioned."""
    receipts = [
        Receipt(envelope_id=envelope_id, from_agency=agency, state=ReceiptState(state), at_ms=at_ms)
        for agency, state, at_ms in connection.execute(_FOR_ENVELOPE, {"envelope_id": envelope_id})
    ]
    receipts.sort(key=lambda r: (r.from_agency, STATE_ORDER[r.state]))
    return receipts


@dataclass(frozen=True, slots=True)
class ReadTarget:
    """A stored notice a person may mark read, and when ``me`` first read it (if it did)."""

    sender: str
    direction: str
    kind: str
    read_ms: int | None


def read_target(
    connection: Connection, envelope_id: str, sender: str | None, me: str
) -> ReadTarget:
    """The notice under ``envelope_id`` (from ``sender``) and ``me``'s first read receipt.

    Without a sender the earliest stored notice under the id. Raises
    ``StorageError(NOT_FOUND)`` when no such notice is stored.
    """
    params = {"envelope_id": envelope_id, "me": me}
    if sender is None:
        row = connection.execute(_READ_TARGET, params).first()
    else:
        row = connection.execute(_READ_TARGET_FROM, params | {"sender": sender}).first()
    if row is None:
        raise StorageError(ReasonCode.NOT_FOUND, f"no notice for envelope {envelope_id}")
    found_sender, direction, kind, read_ms = row
    return ReadTarget(found_sender, direction, kind, read_ms)
