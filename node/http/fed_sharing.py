"""Federation routes for partner subscriptions and share permissions.

Each body is a canonical message from ``protocol.subscriptions`` and each
request is signed by the calling node (``fedauth``), checked before the body
is parsed; the services then check that the caller is the party the message
says it is and that the change is one it may make.

Each message pays, beyond its request token, for the work it causes here
(``Admission.spend``, before the work): a subscription request is stored
and answered at once by a signed message to the partner's node; a grant of
permission seals and sends a share; the others write a row.
"""

from __future__ import annotations

from aiohttp import web

from baliza.node.http.appkeys import ADMISSION, DELIVERY, NODE
from baliza.node.http.federation import authenticate_peer
from baliza.node.http.routes import Access, Route
from baliza.node.services import sharing, subscriptions
from baliza.protocol.subscriptions import (
    PermissionDecision,
    PermissionRequest,
    SubscriptionRequest,
    SubscriptionUpdate,
)

# Tokens beyond the request's own: one per write, four per signed message or
# share this node then sends (signing and a request of its own).
SUBSCRIPTION_REQUEST_COST = 5
SUBSCRIPTION_STATE_COST = 1
PERMISSION_REQUEST_COST = 1
PERMISSION_DECISION_COST = 5


async def post_subscription(request: web.Request) -> web.Response:
    """A partner asks for a subscription; answered with its state (the decision follows signed)."""
    origin, body = await authenticate_peer(request, with_body=True)
    request.app[ADMISSION].spend(origin, SUBSCRIPTION_REQUEST_COST)
    item = await subscriptions.receive_request(
        request.app[NODE],
        request.app[DELIVERY].session,
        origin,
        SubscriptionRequest.from_bytes(body),
    )
    return web.json_response({"id": item.id, "state": item.state})


async def post_subscription_state(request: web.Request) -> web.Response:
    """The other party's signed change: a decision, pause, resume or cancel."""
    origin, body = await authenticate_peer(request, with_body=True)
    request.app[ADMISSION].spend(origin, SUBSCRIPTION_STATE_COST)
    await subscriptions.receive_update(
        request.app[NODE], origin, SubscriptionUpdate.from_bytes(body)
    )
    return web.json_response({"ok": True})


async def post_permission(request: web.Request) -> web.Response:
    """A recipient of our notice asks to pass it on; held for an officer here."""
    origin, body = await authenticate_peer(request, with_body=True)
    request.app[ADMISSION].spend(origin, PERMISSION_REQUEST_COST)
    await sharing.receive_request(request.app[NODE], origin, PermissionRequest.from_bytes(body))
    return web.json_response({"state": "pending"})


async def post_permission_decision(request: web.Request) -> web.Response:
    """The originator's signed grant or refusal; on a grant the share goes out."""
    origin, body = await authenticate_peer(request, with_body=True)
    request.app[ADMISSION].spend(origin, PERMISSION_DECISION_COST)
    await sharing.receive_decision(request.app[NODE], origin, PermissionDecision.from_bytes(body))
    return web.json_response({"ok": True})


ROUTES = (
    Route("POST", "/fed/v1/subscriptions", post_subscription, Access.PEER),
    Route("POST", "/fed/v1/subscriptions/state", post_subscription_state, Access.PEER),
    Route("POST", "/fed/v1/permissions", post_permission, Access.PEER),
    Route("POST", "/fed/v1/permissions/decision", post_permission_decision, Access.PEER),
)
