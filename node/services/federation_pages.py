"""What this node serves to signed peer requests: outbox pages and signed chains.

The federation routes authenticate the peer, then read here; each function
is one read-only transaction.
"""

from __future__ import annotations

from functools import partial

from baliza.node.services.channels import MAX_CHAIN as MAX_MEMBERSHIP_CHAIN
from baliza.node.services.channels import may_read_chain
from baliza.node.services.context import NodeContext
from baliza.node.services.outbox import outbox_page
from baliza.node.storage.channels import Channels
from baliza.node.storage.delivery import OutboxItem
from baliza.node.storage.sql import directory as directory_rows
from baliza.protocol.errors import ReasonCode, TrustError

__all__ = ["OutboxItem", "channel_chain", "directory_chain", "outbox_after"]


async def outbox_after(ctx: NodeContext, peer: str, after: int, limit: int) -> list[OutboxItem]:
    """The envelopes queued for ``peer`` after its cursor, at most ``limit``."""
    return await outbox_page(ctx.db, peer, after, limit)


async def directory_chain(ctx: NodeContext, since: int, limit: int) -> list[bytes]:
    """The signed directory versions after ``since``, oldest first."""
    versions = await ctx.db.run(
        partial(directory_rows.versions_after, version=since, limit=limit), write=False
    )
    return [v.raw for v in versions]


async def channel_chain(ctx: NodeContext, channel: str, peer: str, since: int) -> list[bytes]:
    """The signed membership versions of ``channel`` after ``since``, for a past member.

    Raises ``TrustError`` (not a member) when ``peer`` was never in the channel.
    """
    async with ctx.db.transaction(readonly=True) as session:
        if not await may_read_chain(session, channel, peer):
            raise TrustError(ReasonCode.NOT_A_MEMBER, f"{peer} was never in {channel}")
        versions = await Channels(session).after(channel, since, MAX_MEMBERSHIP_CHAIN)
    return [v.raw for v in versions]
