"""The audit log for administrators and auditors (spec chapter 11), admin role only.

``GET /api/v1/admin/audit/heads`` lists the heads this node signed, with
the log's size now; ``GET /api/v1/admin/audit/entries/{id}/bundle``
answers the bundle ``baliza audit verify`` checks offline (canonical
MessagePack), for the first entry about an envelope id or a trust action.
"""

from __future__ import annotations

from aiohttp import web

from baliza.node.http.appkeys import NODE
from baliza.node.http.routes import Access, Route
from baliza.node.services.audit import export_bundle, log_state, signed_heads
from baliza.protocol.audit import MAX_SUBJECT, EntryKind
from baliza.protocol.fields import check_enum, check_str
from baliza.protocol.ids import agency_id

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


ROUTES = (
    Route("GET", "/api/v1/admin/audit/heads", get_heads, Access.ADMIN),
    Route("GET", "/api/v1/admin/audit/entries/{id}/bundle", get_bundle, Access.ADMIN),
)
