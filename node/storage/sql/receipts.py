"""Receipts: what a received receipt is checked against, and storing it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, and_, bindparam, select

from baliza.node.storage.models import (
    OutboxRow,
    ReceiptRow,
    RecipientRow,
    SentEnvelopeRow,
    table_of,
)
from baliza.node.storage.receipts import Receipt, ReceiptState
from baliza.node.storage.sql._dialect import Upsert

_receipts = table_of(ReceiptRow)
_sent = table_of(SentEnvelopeRow)
_recipients = table_of(RecipientRow)
_outbox = table_of(OutboxRow)

_INSERT = Upsert(
    _receipts,
    lambda s: s.on_conflict_do_nothing(index_elements=["envelope_id", "from_agency", "state"]),
)
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
