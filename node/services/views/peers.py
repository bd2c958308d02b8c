"""Peer health: each member node, how delivery to it is going, and what waits for it.

Rendered by ``GET /api/v1/status`` and the console's administration page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from baliza.node.services.context import NodeContext
from baliza.node.services.rules.peer_standing import (
    clock_skew_suspected,
    describe_peer,
    peer_reason,
)
from baliza.node.storage import Database
from baliza.node.storage.delivery import Destination
from baliza.node.storage.sql import delivery_views


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerHealth:
    """A member node and how delivery to it is going.

    ``contacted`` is False until this node first tried to deliver to it; then
    ``failing_since_ms`` is set while delivery fails, ``last_delivered_ms``
    once anything got through.
    """

    agency: str
    name: str
    url: str
    fingerprint: str
    pending: int
    contacted: bool
    attempts: int
    failing_since_ms: int | None
    last_error: str | None
    last_delivered_ms: int | None

    def describe(self, now: int) -> str:
        """What happened last: refused by it, clock skew suspected, failing, or ok."""
        return describe_peer(
            agency=self.agency,
            contacted=self.contacted,
            attempts=self.attempts,
            failing_since_ms=self.failing_since_ms,
            last_error=self.last_error,
            last_delivered_ms=self.last_delivered_ms,
            now_ms=now,
        )

    def to_json(self, now: int) -> dict[str, Any]:
        """The API's form (``GET /api/v1/status``)."""
        return {
            "agency": self.agency,
            "name": self.name,
            "url": self.url,
            "fingerprint": self.fingerprint,
            "pending": self.pending,
            "state": self.describe(now),
            "last_error": self.last_error,
            "refused_reason": peer_reason(self.last_error),
            "clock_skew_suspected": clock_skew_suspected(self.last_error),
            "failing_since_ms": self.failing_since_ms,
            "last_delivered_ms": self.last_delivered_ms,
        }


async def peer_health(ctx: NodeContext) -> tuple[PeerHealth, ...]:
    """Every member node the directory in force lists, with its delivery health (one read)."""
    states, backlog = await ctx.db.run(_delivery_state, write=False)
    return tuple(
        _health(p.agency, p.name, p.url, p.keys.fingerprint(), backlog, states) for p in ctx.peers()
    )


def _delivery_state(connection: Connection) -> tuple[dict[str, Destination], dict[str, int]]:
    states = {d.agency: d for d in delivery_views.destinations(connection)}
    return states, delivery_views.pending_counts(connection)


def _health(
    agency: str,
    name: str,
    url: str,
    fingerprint: str,
    backlog: dict[str, int],
    states: dict[str, Destination],
) -> PeerHealth:
    state = states.get(agency)
    return PeerHealth(
        agency=agency,
        name=name,
        url=url,
        fingerprint=fingerprint,
        pending=backlog.get(agency, 0),
        contacted=state is not None,
        attempts=0 if state is None else state.attempts,
        failing_since_ms=None if state is None else state.failing_since_ms,
        last_error=None if state is None else state.last_error,
        last_delivered_ms=None if state is None else state.last_delivered_ms,
    )


async def delivery_errors(db: Database) -> dict[str, str | None]:
    """The last delivery error to each destination this node has contacted (for ``doctor``)."""
    found = await db.run(delivery_views.destinations, write=False)
    return {d.agency: d.last_error for d in found}
