"""The audit log for administrators and auditors (spec chapter 11), admin role only.

``GET /api/v1/admin/audit/heads`` lists the heads this node signed, with
the log's size now; ``GET /api/v1/admin/audit/entries/{id}/bundle``
answers the bundle ``baliza audit verify`` checks offline (canonical
MessagePack), for the first entry about an envelope id or a trust action.

Peers' logs (spec chapter 11 §6): ``GET /api/v1/admin/audit/peers`` lists
the heads kept from each peer and the equivocation alarms;
``POST /api/v1/admin/audit/peers/{agency}/check`` checks that peer's head
now, or a head of it handed in (``{"signed_head": hex}``: obtained from an
auditor or another member), against the one held;
``GET /api/v1/admin/audit/delivered/{id}?peer=`` asks the recipient ``peer``
for the inclusion proof of an envelope this node delivered and verifies it.
"""

from __future__ import annotations

from aiohttp import web

from baliza.node.core.clock import now_ms
from baliza.node.http.appkeys import DELIVERY, NODE
from baliza.node.http.json_body import json_object
from baliza.node.http.routes import Access, Route
from baliza.node.services.audit import export_bundle, log_state, signed_heads
from baliza.node.services.audit_peers import (
    audit_alarms,
    check_peer_head,
    peer_heads,
    prove_delivered,
)
from baliza.protocol.audit import MAX_SUBJECT, EntryKind, SignedTreeHead
from baliza.protocol.errors import InputError, ReasonCode, TransportError
from baliza.protocol.fields import check_enum, check_str
from baliza.protocol.ids import agency_id, envelope_id

BUNDLE_MEDIA_TYPE = "application/vnd.baliza.audit-bundle"


async def get_heads(request: web.Request) -> web.Response:
    """The log's size and root now, and the heads signed, newest first (at most 100)."""
    ctx = request.app[NODE]
    state = await log_state(ctx.db)
    heads = await signed_heads(ctx.db)
    return web.json_response(
        {
            "log": ctx.agency,
            "size": state.size,
            "root": state.root.hex(),
            "heads": [
                {
                    "size": h.head.size,
                    "root": h.head.root.hex(),
                    "at_ms": h.head.at_ms,
                    "key_id": bytes(h.key_id).hex(),
                    "signed_head": h.to_bytes().hex(),
                }
                for h in heads
            ],
        }
    )


async def get_bundle(request: web.Request) -> web.Response:
    """The auditor's bundle for the first entry about ``subject`` (optionally of ``kind``)."""
    subject = check_str(request.match_info["id"], "subject", max_len=MAX_SUBJECT)
    raw_kind = request.query.get("kind")
    kind = None if raw_kind is None else check_enum(raw_kind, "kind", EntryKind)
    raw_peer = request.query.get("peer")
    peer = None if raw_peer is None else agency_id(raw_peer, "peer")
    bundle = await export_bundle(request.app[NODE], subject, kind=kind, peer=peer)
    return web.Response(body=bundle.to_bytes(), content_type=BUNDLE_MEDIA_TYPE)


async def get_peers(request: web.Request) -> web.Response:
    """The heads kept from each peer (accepted, and those kept as evidence) and the alarms."""
    ctx = request.app[NODE]
    return web.json_response(
        {
            "heads": await peer_heads(ctx),
            "alarms": [a.to_json() for a in await audit_alarms(ctx)],
        }
    )


async def post_check(request: web.Request) -> web.Response:
    """Check a peer's head now (fetched, or the one handed in) against the one held."""
    ctx = request.app[NODE]
    peer = ctx.trust.peer(agency_id(request.match_info["agency"], "agency"), now_ms())
    body = await json_object(request)
    offered = None
    if "signed_head" in body:
        raw = check_str(body["signed_head"], "signed_head", max_len=100_000)
        try:
            offered = SignedTreeHead.from_bytes(bytes.fromhex(raw))
        except ValueError:
            raise InputError(ReasonCode.BAD_FORMAT, "not hex", path="signed_head") from None
    session = request.app[DELIVERY].session
    try:
        head = await check_peer_head(
            ctx, session, peer, offered, actor="checked by an administrator"
        )
    except TransportError as err:
        # The peer could not be asked (down, or answering nonsense): that is
        # the check's finding, not this node's failure; nothing was kept.
        return web.json_response(
            {
                "peer": peer.agency,
                "checked": False,
                "reason": err.reason.value,
                "detail": err.detail,
            }
        )
    return web.json_response(
        {"peer": peer.agency, "checked": True, "size": head.size, "root": head.root.hex()}
    )


async def get_delivered(request: web.Request) -> web.Response:
    """Ask the recipient for the inclusion proof of an envelope this node delivered; verify it."""
    ctx = request.app[NODE]
    eid = envelope_id(request.match_info["id"], "id")
    peer = ctx.trust.peer(agency_id(request.query.get("peer", ""), "peer"), now_ms())
    proven = await prove_delivered(ctx, request.app[DELIVERY].session, peer, eid)
    return web.json_response(
        {
            "verified": True,
            "envelope": eid,
            "peer": peer.agency,
            "index": proven.index,
            "size": proven.head.size,
            "root": proven.head.root.hex(),
            "at_ms": proven.head.at_ms,
        }
    )


ROUTES = (
    Route("GET", "/api/v1/admin/audit/heads", get_heads, Access.ADMIN),
    Route("GET", "/api/v1/admin/audit/entries/{id}/bundle", get_bundle, Access.ADMIN),
    Route("GET", "/api/v1/admin/audit/peers", get_peers, Access.ADMIN),
    Route("POST", "/api/v1/admin/audit/peers/{agency}/check", post_check, Access.ADMIN),
    Route("GET", "/api/v1/admin/audit/delivered/{id}", get_delivered, Access.ADMIN),
)
