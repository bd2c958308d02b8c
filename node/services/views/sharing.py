"""Subscriptions and share permissions as the API and the console list them."""

from __future__ import annotations

from baliza.node.services.context import NodeContext
from baliza.node.storage.subscriptions import Permission, Permissions, Subscription, Subscriptions

__all__ = ["Permission", "Subscription", "permissions", "subscriptions_involving"]


async def subscriptions_involving(ctx: NodeContext) -> list[Subscription]:
    """Every subscription this node is a party to (publisher or subscriber)."""
    async with ctx.db.transaction(readonly=True) as session:
        return await Subscriptions(session).involving(ctx.agency)


async def permissions(ctx: NodeContext) -> list[Permission]:
    """Every share-permission request, asked of this agency or by it."""
    async with ctx.db.transaction(readonly=True) as session:
        return await Permissions(session).all()
