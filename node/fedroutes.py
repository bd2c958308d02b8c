"""Federation endpoints: ``POST /fed/v1/inbox`` and ``GET /fed/v1/outbox``.

Both authenticate the calling node before touching the body (see
``fedauth``); the inbox then hands the batch to the ingest pipeline, the
outbox serves what this node queued for the caller after its cursor.
"""

from __future__ import annotations

from aiohttp import web

from baliza.node.appkeys import NODE
from baliza.node.clock import now_ms
from baliza.node.fedauth import claimed_origin, verify_request
from baliza.node.ingest import ingest_batch
from baliza.node.peers import Peer
from baliza.node.storage.delivery import Outbox
from baliza.node.storage.trust import LocalBlocks
from baliza.protocol.errors import InputError, ReasonCode, TrustError
from baliza.protocol.federation import (
    MAX_BATCH,
    MEDIA_TYPE,
    decode_batch,
    encode_outbox_page,
    encode_results,
)


async def _authenticate(request: web.Request, body: bytes | None) -> tuple[Peer, bytes]:
    ctx = request.app[NODE]
    origin = claimed_origin(
        request.headers, me=ctx.config.agency, now_ms=now_ms(), skew_ms=ctx.config.request_skew_ms
    )
    peer = ctx.peers.get(origin)
    if body is None:
        if request.content_type != MEDIA_TYPE:
            raise InputError(
                ReasonCode.UNSUPPORTED_MEDIA, f"expected {MEDIA_TYPE}", path="Content-Type"
            )
        body = await request.read()
    verify_request(
        request.headers,
        method=request.method,
        path=request.path_qs,
        me=ctx.config.agency,
        origin_keys=peer.keys,
        body=body,
    )
    return peer, body


async def inbox(request: web.Request) -> web.Response:
    """Take a batch of envelopes; answer accepted / duplicate / refused for each."""
    ctx = request.app[NODE]
    peer, body = await _authenticate(request, None)
    batch = decode_batch(body)
    results = await ingest_batch(ctx, peer.agency, batch, via="push")
    return web.Response(body=encode_results(results), content_type=MEDIA_TYPE)


async def outbox(request: web.Request) -> web.Response:
    """Serve the envelopes queued for the calling node after its cursor."""
    ctx = request.app[NODE]
    peer, _ = await _authenticate(request, b"")
    try:
        after = int(request.query.get("after", "0"))
        limit = min(int(request.query.get("limit", str(MAX_BATCH))), MAX_BATCH)
    except ValueError:
        raise InputError(ReasonCode.BAD_FORMAT, "must be integers", path="after") from None
    if after < 0 or limit < 1:
        raise InputError(ReasonCode.OUT_OF_RANGE, "after >= 0 and limit >= 1", path="after")
    async with ctx.db.transaction() as session:
        if await LocalBlocks(session).is_blocked(peer.agency):
            raise TrustError(ReasonCode.SENDER_BLOCKED, f"{peer.agency} is blocked by this node")
        items = await Outbox(session).for_peer_after(peer.agency, after, limit)
    next_cursor = items[-1].seq if items else after
    page = [(item.seq, item.raw) for item in items]
    return web.Response(body=encode_outbox_page(page, next_cursor), content_type=MEDIA_TYPE)


def add_routes(app: web.Application) -> None:
    """Register the federation endpoints."""
    app.router.add_post("/fed/v1/inbox", inbox)
    app.router.add_get("/fed/v1/outbox", outbox)
