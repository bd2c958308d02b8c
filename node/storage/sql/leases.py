"""Outbox leases as units of work take and give them back (see ``storage/leases.py``).

A courier on PostgreSQL chooses rows with ``available`` (``FOR UPDATE SKIP
LOCKED``: two workers choosing at the same moment get different rows) and
leases those it will push with ``take`` in the same unit, before the row
locks end with it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, bindparam, func, or_, select, update

from baliza.node.storage.delivery import MAX_BATCH, OutboxState, PendingDelivery
from baliza.node.storage.leases import OWNER_LEN, Lease
from baliza.node.storage.models import OutboxRow, SentEnvelopeRow, table_of

_outbox = table_of(OutboxRow)
_sent = table_of(SentEnvelopeRow)
_PENDING = OutboxState.PENDING.value

_AVAILABLE = (
    select(_outbox.c.seq, _outbox.c.envelope_id, _outbox.c.created_ms, _sent.c.raw)
    .join(_sent, _sent.c.id == _outbox.c.envelope_id)
    .where(
        _outbox.c.destination == bindparam("destination"),
        _outbox.c.state == _PENDING,
        or_(_outbox.c.leased_until_ms.is_(None), _outbox.c.leased_until_ms <= bindparam("now_ms")),
    )
    .order_by(_outbox.c.seq)
    .limit(bindparam("limit"))
)
_AVAILABLE_LOCKED = _AVAILABLE.with_for_update(skip_locked=True, of=_outbox)
_TAKE = (
    update(_outbox)
    .where(_outbox.c.seq.in_(bindparam("seqs", expanding=True)))
    .values(lease_owner=bindparam("owner"), leased_until_ms=bindparam("until_ms"))
)
_RELEASE = (
    update(_outbox)
    .where(
        _outbox.c.seq.in_(bindparam("seqs", expanding=True)),
        _outbox.c.lease_owner == bindparam("owner"),
    )
    .values(lease_owner=None, leased_until_ms=None)
)
_NEXT_EXPIRY = select(func.min(_outbox.c.leased_until_ms)).where(
    _outbox.c.destination == bindparam("destination"),
    _outbox.c.state == _PENDING,
    _outbox.c.leased_until_ms > bindparam("now_ms"),
)


def available(
    connection: Connection, destination: str, limit: int, now_ms: int
) -> list[PendingDelivery]:
    """The oldest pending rows for ``destination`` nobody holds a live lease on.

    On PostgreSQL they stay row-locked until the unit ends and rows another
    transaction is taking are skipped; ``take`` then leases the ones sent.
    """
    statement = _AVAILABLE_LOCKED if connection.dialect.name == "postgresql" else _AVAILABLE
    params = {
        "destination": destination,
        "now_ms": now_ms,
        "limit": max(1, min(limit, MAX_BATCH)),
    }
    return [
        PendingDelivery(seq=seq, envelope_id=envelope_id, created_ms=created_ms, raw=raw)
        for seq, envelope_id, created_ms, raw in connection.execute(statement, params)
    ]


def take(connection: Connection, seqs: Sequence[int], lease: Lease) -> None:
    """Lease the rows ``seqs`` (chosen by ``available`` in this unit)."""
    if seqs:
        connection.execute(
            _TAKE,
            {"seqs": list(seqs), "owner": lease.owner[:OWNER_LEN], "until_ms": lease.until_ms},
        )


def release(connection: Connection, seqs: Sequence[int], owner: str) -> None:
    """Give rows back before their deadline (the push failed; anyone may retry)."""
    if seqs:
        connection.execute(_RELEASE, {"seqs": list(seqs), "owner": owner[:OWNER_LEN]})


def next_expiry(connection: Connection, destination: str, now_ms: int) -> int | None:
    """When the first live lease on a pending row for ``destination`` ends, if any.

    A courier that found every row leased by another worker waits until
    then: if that worker died, the rows are its to take over.
    """
    expiry = connection.execute(
        _NEXT_EXPIRY, {"destination": destination, "now_ms": now_ms}
    ).scalar()
    return None if expiry is None else int(expiry)
