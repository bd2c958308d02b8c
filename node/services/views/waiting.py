"""What waits for an administrator's decision: partners' subscription and join requests.

The console counts them in its menu (a badge on Administration) and on the
tabs where they wait, so a request is not left until the partner asks why.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from sqlalchemy import Connection

from baliza.node.services.context import NodeContext
from baliza.node.storage.channels import JoinRequest, JoinState
from baliza.node.storage.sql import channels as channel_rows
from baliza.node.storage.sql import subscriptions as subscription_rows
from baliza.protocol.subscriptions import SubscriptionState

# JoinRequest is named here for the console, which reads storage's types only through services.
__all__ = ["JoinRequest", "Waiting", "admin_waiting", "pending_joins"]
UNDECIDED = frozenset({SubscriptionState.REQUESTED.value, SubscriptionState.PENDING.value})


@dataclass(frozen=True, slots=True, kw_only=True)
class Waiting:
    """Requests this node has not decided: subscriptions to it, joins to channels it owns."""

    subscriptions: int
    joins: int

    @property
    def total(self) -> int:
        """Everything waiting."""
        return self.subscriptions + self.joins


async def admin_waiting(ctx: NodeContext) -> Waiting:
    """Count what waits for this node's administrator (one read)."""
    subs, joins = await ctx.db.run(partial(_waiting, me=ctx.agency), write=False)
    return Waiting(subscriptions=subs, joins=joins)


def _waiting(connection: Connection, *, me: str) -> tuple[int, int]:
    subs = sum(
        1
        for s in subscription_rows.involving(connection, me)
        if s.publisher == me and s.state in UNDECIDED
    )
    owned = {m.channel for m in channel_rows.all_latest(connection) if me in m.owners}
    joins = sum(
        1
        for j in channel_rows.joins(connection)
        if j.state is JoinState.PENDING and j.channel in owned
    )
    return subs, joins


async def pending_joins(ctx: NodeContext, channel: str) -> list[JoinRequest]:
    """The join requests to ``channel`` still waiting for a decision, oldest first."""
    joins = await ctx.db.run(partial(channel_rows.joins, channel=channel), write=False)
    return sorted((j for j in joins if j.state is JoinState.PENDING), key=lambda j: j.requested_ms)
