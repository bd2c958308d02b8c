"""What the console's workflow pages call: channels, join requests, subscription requests.

Part of the console's one door to the node, beside ``adapter`` and
``admin_adapter``. Each function is a call to the service the local API
and so the command line use (``services.channel_admin``,
``services.subscriptions``): founding a channel, changing its members,
asking an owner to join, deciding a join request, asking a partner for a
subscription. Reading a change before it is signed
(``channel_admin.preview_members`` / ``preview_founding``) applies the same
checks as signing it, so what the page shows is what will be signed.
"""

from __future__ import annotations

import aiohttp

from baliza.crypto.channel_review import MembershipChanges
from baliza.node.core.clock import now_ms
from baliza.node.services import channel_admin
from baliza.node.services import subscriptions as subscription_service
from baliza.node.services.channels import paused_channels
from baliza.node.services.context import NodeContext
from baliza.node.services.delivery import DeliveryService
from baliza.node.services.views.channels import channel_list
from baliza.node.services.views.sharing import Subscription
from baliza.node.services.views.waiting import JoinRequest, Waiting, admin_waiting, pending_joins
from baliza.protocol.channels import Membership
from baliza.protocol.ids import AgencyId, ChannelId
from baliza.protocol.subscriptions import SubscriptionFilter


async def waiting(ctx: NodeContext) -> Waiting:
    """What waits for this node's administrator: the menu's badge and the tabs' counts."""
    return await admin_waiting(ctx)


async def joins_waiting(ctx: NodeContext, channel: ChannelId) -> list[JoinRequest]:
    """The join requests to ``channel`` waiting for a decision (the members page lists them)."""
    return await pending_joins(ctx, channel)


async def programme_channels(ctx: NodeContext) -> list[tuple[str, str]]:
    """The programme channels this agency is a member of, as (id, name): where it may post."""
    return sorted(
        (str(e.described["channel"]), str(e.described["name"]))
        for e in await channel_list(ctx)
        if e.described["kind"] == "programme" and e.described["member"]
    )


async def owned_channel(ctx: NodeContext, channel: ChannelId) -> dict[str, object] | None:
    """One channel this node knows, as ``describe`` shows it, or None."""
    for entry in await channel_list(ctx):
        if entry.described["channel"] == channel:
            return entry.described
    return None


async def preview_members(
    ctx: NodeContext, channel: ChannelId, add: tuple[AgencyId, ...], remove: tuple[AgencyId, ...]
) -> MembershipChanges:
    """The next version's changes against the one in force (nothing is signed)."""
    return await channel_admin.preview_members(ctx, channel, add=add, remove=remove)


async def change_members(
    ctx: NodeContext,
    delivery: DeliveryService,
    channel: ChannelId,
    add: tuple[AgencyId, ...],
    remove: tuple[AgencyId, ...],
    expect_version: int,
) -> channel_admin.Signed:
    """Sign the change read at ``expect_version``; a version in force is passed on to members."""
    signed = await channel_admin.change_members(
        ctx, channel, add=add, remove=remove, expect_version=expect_version
    )
    if signed.applied is not None:
        delivery.channels.gossip(signed.applied)
    return signed


def founding(ctx: NodeContext, body: dict[str, object]) -> Membership:
    """Version 1 of a new channel from the form's fields, read as ``POST /api/v1/channels``."""
    return channel_admin.membership_from_json(body, me=ctx.agency, now=now_ms())


async def found(
    ctx: NodeContext, delivery: DeliveryService, membership: Membership
) -> channel_admin.Signed:
    """Found the channel, as the API does; a version in force is passed on to its members."""
    signed = await channel_admin.found_channel(ctx, membership)
    if signed.applied is not None:
        delivery.channels.gossip(signed.applied)
    return signed


async def decide_join(
    ctx: NodeContext, delivery: DeliveryService, channel: ChannelId, agency: AgencyId, approve: bool
) -> channel_admin.Signed | None:
    """Approve (the next version, with ``agency`` in it) or refuse a pending join request."""
    signed = await channel_admin.decide_join(ctx, channel, agency, approve=approve)
    if signed is not None and signed.applied is not None:
        delivery.channels.gossip(signed.applied)
    return signed


async def ask_to_join(
    ctx: NodeContext,
    http: aiohttp.ClientSession,
    channel: ChannelId,
    owner: AgencyId,
    note: str,
) -> None:
    """Ask a programme channel's owner to admit this agency."""
    await channel_admin.ask_owner_to_join(ctx, http, channel, owner, note)


async def subscribe(
    ctx: NodeContext,
    http: aiohttp.ClientSession,
    publisher: AgencyId,
    wanted: SubscriptionFilter,
    note: str | None,
) -> Subscription:
    """Ask ``publisher`` for a subscription, as ``POST /api/v1/subscriptions`` does."""
    return await subscription_service.request(ctx, http, publisher, wanted, note)


def preview_founding(membership: Membership) -> MembershipChanges:
    """What founding ``membership`` signs: everything in it is new."""
    return channel_admin.preview_founding(membership)


async def paused(ctx: NodeContext) -> list[str]:
    """The channels whose sends are paused here, under an alarm waiting for a decision."""
    return await paused_channels(ctx)


async def decide_alarm(
    ctx: NodeContext, delivery: DeliveryService, channel: ChannelId, source: AgencyId | None
) -> None:
    """Keep the chain held, or replace it with ``source``'s, as the API does; sends resume."""
    await channel_admin.decide_alarm(ctx, delivery.channels, channel, source)
