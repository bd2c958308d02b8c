"""What the read models show of delivery: the outbox per envelope, receipts, peer health.

Read-only statements for the views (``services/views/notice.py`` and
``peers.py``) over the outbox, destination and receipt tables. The delivery
aggregate's own module of units of work (its writes, leases and batches)
belongs with the delivery worker; when it offers these reads, the views call
it and this module goes.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, func, select

from baliza.node.storage.delivery import Destination, OutboxEntry, OutboxState
from baliza.node.storage.models import DestinationRow, OutboxRow, ReceiptRow, table_of
from baliza.node.storage.receipts import Receipt, ReceiptState

_outbox = table_of(OutboxRow)
_destinations = table_of(DestinationRow)
_receipts = table_of(ReceiptRow)

_STATE_FOR_ENVELOPE = (
    select(
        _outbox.c.seq,
        _outbox.c.destination,
        _outbox.c.envelope_id,
        _outbox.c.created_ms,
        _outbox.c.state,
        _outbox.c.delivered_ms,
        _outbox.c.refused_reason,
        _outbox.c.refused_detail,
    )
    .where(_outbox.c.envelope_id == bindparam("eid"))
    .order_by(_outbox.c.destination)
)
_RECEIPTS_FOR = select(_receipts.c.from_agency, _receipts.c.state, _receipts.c.at_ms).where(
    _receipts.c.envelope_id == bindparam("eid")
)
_PENDING_COUNTS = (
    select(_outbox.c.destination, func.count())
    .where(_outbox.c.state == OutboxState.PENDING.value)
    .group_by(_outbox.c.destination)
)
_DESTINATIONS = select(
    _destinations.c.agency,
    _destinations.c.url,
    _destinations.c.attempts,
    _destinations.c.next_attempt_ms,
    _destinations.c.failing_since_ms,
    _destinations.c.last_error,
    _destinations.c.last_delivered_ms,
).order_by(_destinations.c.agency)

_STATE_ORDER = {state: index for index, state in enumerate(ReceiptState)}


def state_for_envelope(connection: Connection, envelope_id: str) -> list[OutboxEntry]:
    """Where one sent envelope stands at each destination, sorted by destination."""
    return [
        OutboxEntry(
            seq=r.seq,
            destination=r.destination,
            envelope_id=r.envelope_id,
            created_ms=r.created_ms,
            state=OutboxState(r.state),
            delivered_ms=r.delivered_ms,
            refused_reason=r.refused_reason,
            refused_detail=r.refused_detail,
        )
        for r in connection.execute(_STATE_FOR_ENVELOPE, {"eid": envelope_id})
    ]


def receipts_for(connection: Connection, envelope_id: str) -> list[Receipt]:
    """Every receipt of an envelope, by agency, then delivered → read → actioned."""
    receipts = [
        Receipt(envelope_id=envelope_id, from_agency=agency, state=ReceiptState(state), at_ms=at)
        for agency, state, at in connection.execute(_RECEIPTS_FOR, {"eid": envelope_id})
    ]
    receipts.sort(key=lambda r: (r.from_agency, _STATE_ORDER[r.state]))
    return receipts


def pending_counts(connection: Connection) -> dict[str, int]:
    """Pending rows per destination (destinations with none are absent)."""
    return {destination: n for destination, n in connection.execute(_PENDING_COUNTS)}


def destinations(connection: Connection) -> list[Destination]:
    """Every destination, sorted by agency."""
    return [
        Destination(
            agency=r.agency,
            url=r.url,
            attempts=r.attempts,
            next_attempt_ms=r.next_attempt_ms,
            failing_since_ms=r.failing_since_ms,
            last_error=r.last_error,
            last_delivered_ms=r.last_delivered_ms,
        )
        for r in connection.execute(_DESTINATIONS)
    ]
