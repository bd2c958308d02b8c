"""Channels as the API and the console list them: latest versions, join requests, history."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from sqlalchemy import Connection

from baliza.node.services.channels import describe
from baliza.node.services.context import NodeContext
from baliza.node.storage.channels import JoinRequest, StoredMembership
from baliza.node.storage.sql import channels as channel_rows
from baliza.node.storage.sql import envelopes as envelope_rows
from baliza.protocol.envelope import parse_envelope

CHANNEL_HISTORY = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelEntry:
    """A channel's latest version as ``describe`` shows it, with its join requests."""

    described: dict[str, object]
    joins: tuple[JoinRequest, ...]


async def channel_list(ctx: NodeContext) -> tuple[ChannelEntry, ...]:
    """Every channel this node knows (latest version), with its join requests."""
    latest, joins = await ctx.db.run(_channels_and_joins, write=False)
    return tuple(
        ChannelEntry(
            described=describe(m, ctx.agency),
            joins=tuple(j for j in joins if j.channel == m.channel),
        )
        for m in latest
    )


def _channels_and_joins(
    connection: Connection,
) -> tuple[list[StoredMembership], list[JoinRequest]]:
    return channel_rows.all_latest(connection), channel_rows.joins(connection)


async def channel_versions(ctx: NodeContext, channel: str) -> list[StoredMembership]:
    """The membership versions of ``channel`` this node holds, oldest first (at most 1,000)."""
    return await ctx.db.run(
        partial(channel_rows.after, channel=channel, version=0, limit=CHANNEL_HISTORY),
        write=False,
    )


async def jit_channels(ctx: NodeContext) -> list[tuple[str, str]]:
    """The JIT channels this agency is a member of, as (id, name), for case notices."""
    latest = await ctx.db.run(channel_rows.all_latest, write=False)
    return sorted(
        (m.channel, str(describe(m, ctx.agency)["name"]))
        for m in latest
        if m.kind == "jit" and ctx.agency in m.members
    )


async def sent_channel(ctx: NodeContext, eid: str) -> str | None:
    """The channel a notice this node sent went to (its envelope header says), if any."""
    raw = await ctx.db.run(partial(envelope_rows.sent_raw, envelope_id=eid), write=False)
    channel = parse_envelope(raw).header.channel
    return None if channel is None else str(channel)
