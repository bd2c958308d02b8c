"""Local API for partner subscriptions, shares and share permissions.

Administrators request, decide, pause, resume and cancel subscriptions (on
either side); publishers (officers) share received notices and grant or
refuse the permission requests partners send about this agency's notices.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from baliza.node.http.api import published_json
from baliza.node.http.appkeys import ATTACHMENTS, DELIVERY, NODE
from baliza.node.http.json_body import json_body
from baliza.node.http.routes import Access, Handler, Route, caller
from baliza.node.services import sharing, subscriptions
from baliza.node.services.attachment_transport import listed
from baliza.node.services.views.feed import stored_notice
from baliza.node.services.views.sharing import permissions, subscriptions_involving
from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.fields import FieldReader
from baliza.protocol.ids import agency_id, envelope_id
from baliza.protocol.subscriptions import MAX_REASON, SubscriptionFilter, SubscriptionState

_ACTIONS = {
    "approve": SubscriptionState.ADMITTED,
    "refuse": SubscriptionState.REFUSED,
    "pause": SubscriptionState.PAUSED,
    "resume": SubscriptionState.ADMITTED,
    "cancel": SubscriptionState.CANCELLED,
}


def _reader(body: Any) -> FieldReader:
    if not isinstance(body, dict):
        raise InputError(ReasonCode.WRONG_TYPE, "the body must be a JSON object")
    return FieldReader(body)


async def post_subscription(request: web.Request) -> web.Response:
    """Ask a publisher's node for a subscription with a filter."""
    ctx = request.app[NODE]
    reader = _reader(await json_body(request))
    publisher = agency_id(reader.text("publisher", max_len=100), "publisher")
    wanted = reader.opt_nested("filter", SubscriptionFilter.from_wire) or SubscriptionFilter()
    note = reader.opt_text("note", max_len=MAX_REASON)
    reader.finish()
    item = await subscriptions.request(ctx, request.app[DELIVERY].session, publisher, wanted, note)
    return web.json_response(subscriptions.subscription_json(item, ctx.agency), status=201)


async def list_subscriptions(request: web.Request) -> web.Response:
    """Who subscribes to this node (side publisher) and this node's own requests (subscriber)."""
    ctx = request.app[NODE]
    items = await subscriptions_involving(ctx)
    return web.json_response(
        {"items": [subscriptions.subscription_json(i, ctx.agency) for i in items]}
    )


def _subscription_action(action: str) -> Handler:
    async def act_on_subscription(request: web.Request) -> web.Response:
        return await _act(request, action)

    act_on_subscription.__doc__ = f"{action} a subscription; the other side is told, signed."
    return act_on_subscription


def _permission_decision(decision: str) -> Handler:
    async def decide_permission(request: web.Request) -> web.Response:
        return await _decide(request, decision)

    decide_permission.__doc__ = f"{decision} a partner's request to pass on our notice."
    return decide_permission


async def _act(request: web.Request, action: str) -> web.Response:
    """approve, refuse, pause, resume or cancel; the other side is told by a signed update."""
    ctx = request.app[NODE]
    body = await json_body(request) if request.can_read_body else {}
    reader = _reader(body)
    reason = reader.opt_text("reason", max_len=MAX_REASON)
    reader.finish()
    changed = await subscriptions.change(
        ctx,
        request.app[DELIVERY].session,
        envelope_id(request.match_info["id"], "id"),
        _ACTIONS[action],
        reason,
        decision=action in ("approve", "refuse"),
        user_id=caller(request).acting_person,
    )
    out = subscriptions.subscription_json(changed.subscription, ctx.agency)
    out["notified"] = changed.notified
    return web.json_response(out)


async def share_notice(request: web.Request) -> web.Response:
    """Pass a received notice on: sent now, or pending the originator's permission."""
    ctx = request.app[NODE]
    reader = _reader(await json_body(request))
    recipients = reader.array("recipients", agency_id, min_len=1, max_len=64)
    note = reader.opt_text("note", max_len=MAX_REASON)
    reader.finish()
    eid = envelope_id(request.match_info["id"], "id")
    # This node serves the share's attachments to its recipients, so it
    # holds them first (fetched from the originator if not yet here).
    row = await stored_notice(ctx, eid)
    for entry in listed(row):
        await request.app[ATTACHMENTS].get(row, entry.sha256)
    outcome = await sharing.share(
        ctx,
        request.app[DELIVERY].session,
        eid,
        tuple(sorted(set(recipients))),
        note,
        user_id=caller(request).acting_person,
    )
    out: dict[str, Any] = {"state": outcome.state}
    if outcome.share is not None:
        out.update(published_json(outcome.share))
    if outcome.permission is not None:
        out["permission"] = outcome.permission
        out["rule"] = outcome.rule
    return web.json_response(out, status=201 if outcome.state == "sent" else 202)


async def list_permissions(request: web.Request) -> web.Response:
    """Permission requests: asked of this agency (originator) and asked by it (requester)."""
    ctx = request.app[NODE]
    items = await permissions(ctx)
    return web.json_response({"items": [sharing.permission_json(i, ctx.agency) for i in items]})


async def _decide(request: web.Request, decision: str) -> web.Response:
    """grant or refuse a partner's request to pass on one of this agency's notices."""
    ctx = request.app[NODE]
    body = await json_body(request) if request.can_read_body else {}
    reader = _reader(body)
    reason = reader.opt_text("reason", max_len=MAX_REASON)
    reader.finish()
    item, notified = await sharing.decide(
        ctx,
        request.app[DELIVERY].session,
        envelope_id(request.match_info["id"], "id"),
        decision == "grant",
        reason,
        user_id=caller(request).acting_person,
    )
    out = sharing.permission_json(item, ctx.agency)
    out["notified"] = notified
    return web.json_response(out)


ROUTES = (
    Route("POST", "/api/v1/subscriptions", post_subscription, Access.ADMIN),
    Route("GET", "/api/v1/subscriptions", list_subscriptions, Access.ANALYST),
    *(
        Route(
            "POST",
            f"/api/v1/subscriptions/{{id}}/{action}",
            _subscription_action(action),
            Access.ADMIN,
        )
        for action in _ACTIONS
    ),
    Route("POST", "/api/v1/notices/{id}/share", share_notice, Access.PUBLISHER),
    Route("GET", "/api/v1/permissions", list_permissions, Access.PUBLISHER),
    *(
        Route(
            "POST",
            f"/api/v1/permissions/{{id}}/{decision}",
            _permission_decision(decision),
            Access.PUBLISHER,
        )
        for decision in ("grant", "refuse")
    ),
)
