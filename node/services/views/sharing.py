"""Subscriptions and share permissions as the API and the console list them."""

from __future__ import annotations

from functools import partial

from baliza.node.services.context import NodeContext
from baliza.node.storage.sql import permissions as permission_rows
from baliza.node.storage.sql import subscriptions as subscription_rows
from baliza.node.storage.subscriptions import Permission, Subscription

__all__ = [
    "Permission",
    "Subscription",
    "permissions",
    "permissions_waiting",
    "subscriptions_involving",
]


async def subscriptions_involving(ctx: NodeContext) -> list[Subscription]:
    """Every subscription this node is a party to (publisher or subscriber)."""
    return await ctx.db.run(partial(subscription_rows.involving, agency=ctx.agency), write=False)


async def permissions(ctx: NodeContext) -> list[Permission]:
    """Every share-permission request, asked of this agency or by it."""
    return await ctx.db.run(permission_rows.every, write=False)


async def permissions_waiting(ctx: NodeContext) -> int:
    """How many share-permission requests wait for this agency's decision (the badge)."""
    return await ctx.db.run(partial(permission_rows.waiting_on, me=ctx.agency), write=False)
