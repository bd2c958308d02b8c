"""What a scrape of ``/metrics`` reads of delivery: the queue and the failing peers.

Two statements, run in the one read unit of a scrape
(``services/metrics_snapshot.py``): pending rows per destination with the
creation time of the oldest, over the ``(destination, state, seq)`` index,
and the destinations whose delivery is failing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from baliza.node.storage.delivery import OutboxState
from baliza.node.storage.models import DestinationRow, OutboxRow, table_of

_outbox = table_of(OutboxRow)
_destinations = table_of(DestinationRow)

_QUEUE = (
    select(_outbox.c.destination, func.count(), func.min(_outbox.c.created_ms))
    .where(_outbox.c.state == OutboxState.PENDING.value)
    .group_by(_outbox.c.destination)
)
_FAILING = select(_destinations.c.agency, _destinations.c.failing_since_ms).where(
    _destinations.c.failing_since_ms.is_not(None)
)


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueGauge:
    """One destination's queue: how many rows wait, and since when the oldest."""

    destination: str
    pending: int
    oldest_created_ms: int


def queue(connection: Connection) -> list[QueueGauge]:
    """Pending rows per destination (destinations with none are absent), sorted."""
    gauges = [
        QueueGauge(destination=d, pending=n, oldest_created_ms=oldest)
        for d, n, oldest in connection.execute(_QUEUE)
    ]
    return sorted(gauges, key=lambda g: g.destination)


def failing_since(connection: Connection) -> dict[str, int]:
    """Destinations whose delivery is failing, and since when (ms)."""
    return {agency: since for agency, since in connection.execute(_FAILING)}
