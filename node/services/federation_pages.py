"""What this node serves to signed peer requests: outbox pages and signed chains.

The federation routes authenticate the peer, then read here; each function
is one read unit of work.
"""

from __future__ import annotations

from functools import partial

from sqlalchemy import Connection

from baliza.node.services.channels import chain_for
from baliza.node.services.context import NodeContext
from baliza.node.services.outbox import outbox_page
from baliza.node.storage.delivery import OutboxItem
from baliza.node.storage.sql import channels as channel_rows
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
    return await ctx.db.run(
        partial(_channel_chain, channel=channel, peer=peer, since=since), write=False
    )


def _channel_chain(connection: Connection, *, channel: str, peer: str, since: int) -> list[bytes]:
    """Unit of work: the chain after ``since``, for a peer that was once a member.

    A JIT's member list says who investigates whom: it is not for the whole
    federation, only for those who were ever in it, and a removed member
    gets no version after the one that removed it (``rules.channel_reach``).
    """
    if not channel_rows.ever_member(connection, channel, peer):
        raise TrustError(ReasonCode.NOT_A_MEMBER, f"{peer} was never in {channel}")
    return chain_for(connection, channel=channel, agency=peer, since=since)
