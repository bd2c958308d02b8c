"""What ``/metrics`` needs from storage and trust, read in one unit per scrape.

Prometheus scrapes every node every few seconds, so a scrape must cost one
read unit and no more: the queue per peer and the failing peers come from
``storage/sql/delivery_gauges.py`` in that unit; the directory and the keys
are in memory already.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from baliza.node.core.clock import now_ms
from baliza.node.services.context import NodeContext
from baliza.node.storage.sql import delivery_gauges
from baliza.node.storage.sql.delivery_gauges import QueueGauge
from baliza.protocol.errors import BalizaError


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """The facts a scrape reports that counters in memory do not hold.

    ``queue`` has one entry per peer in force (zero when nothing waits) and
    per destination that still has rows, so a dashboard shows every peer and
    an alert does not depend on a series appearing.
    """

    now_ms: int
    queue: tuple[QueueGauge, ...]
    failing_since_ms: dict[str, int]
    directory_version: int
    directory_issued_ms: int | None
    directory_expires_ms: int | None
    signing_key_expires_ms: int


def _read(connection: Connection) -> tuple[list[QueueGauge], dict[str, int]]:
    """Unit: the outbox per destination and the failing destinations."""
    return delivery_gauges.queue(connection), delivery_gauges.failing_since(connection)


async def snapshot(ctx: NodeContext) -> Snapshot:
    """Read the scrape's facts: one read unit, the rest from memory."""
    rows, failing = await ctx.db.run(_read, write=False)
    now = now_ms()
    by_peer = {gauge.destination: gauge for gauge in rows}
    for peer in ctx.peers():
        by_peer.setdefault(
            peer.agency, QueueGauge(destination=peer.agency, pending=0, oldest_created_ms=now)
        )
    directory = ctx.trust.directory
    keys = ctx.signing_keys().public()
    key_until = keys.valid_until_ms
    if directory is not None:
        try:  # the federation's word on the key's end, where it vouches for it
            vouched = directory.check_key(ctx.agency, keys.signing_key_id, now, now_ms=now)
            key_until = vouched.keys.valid_until_ms
        except BalizaError:
            pass  # expired or not (yet) listed: the key's own declared end stands
    return Snapshot(
        now_ms=now,
        queue=tuple(by_peer[name] for name in sorted(by_peer)),
        failing_since_ms=failing,
        directory_version=ctx.trust.version,
        directory_issued_ms=None if directory is None else directory.directory.issued_ms,
        directory_expires_ms=None if directory is None else directory.directory.expires_ms,
        signing_key_expires_ms=key_until,
    )
