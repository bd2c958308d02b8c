"""Federation endpoints: inbox, outbox and directory, between member nodes only.

Every endpoint authenticates the calling node before touching the body (see
``fedauth``): the origin must be a member of the directory in force, with a
key valid now, not blocked here. The inbox hands the batch to the ingest
pipeline; the outbox serves what this node queued for the caller after its
cursor; the directory endpoints serve and take signed directory versions.
"""

from __future__ import annotations

import logging

from aiohttp import web

from baliza.node.core.clock import now_ms
from baliza.node.http.appkeys import ADMISSION, DELIVERY, NODE, REFUSED_CHAINS
from baliza.node.http.routes import Access, Route
from baliza.node.http.server import read_body
from baliza.node.services.channel_admin import ask_to_join, decode_join
from baliza.node.services.channel_push import RefusedChains, held_version, read_push
from baliza.node.services.fedauth import check_not_blocked, claimed_origin, verify_request
from baliza.node.services.federation_pages import channel_chain, directory_chain, outbox_after
from baliza.node.services.ingest import ingest_batch
from baliza.node.services.trust_admin import is_blocked
from baliza.protocol.errors import BalizaError, InputError, ReasonCode, TrustError
from baliza.protocol.federation import (
    MAX_BATCH,
    MAX_BATCH_BYTES,
    MAX_CHAIN,
    MEDIA_TYPE,
    Outcome,
    decode_batch,
    decode_directory_chain,
    encode_directory_chain,
    encode_outbox_page,
    encode_results,
)
from baliza.protocol.ids import AgencyId, channel_id

log = logging.getLogger(__name__)

# Tokens an origin pays per envelope refused after verification: checking one
# costs this node several times what answering a request does, and an honest
# node's envelopes are not refused by the dozen.
REFUSED_ENVELOPE_COST = 5
# Tokens a request to join a channel pays beyond the request: a write here
# that an administrator reads.
JOIN_COST = 2


async def _authenticate(
    request: web.Request, *, with_body: bool, refuse_blocked: bool = True
) -> tuple[AgencyId, bytes]:
    ctx = request.app[NODE]
    admission = request.app[ADMISSION]
    remote = request.remote or "unknown"
    now = now_ms()
    origin = claimed_origin(
        request.headers, me=ctx.config.agency, now_ms=now, skew_ms=ctx.config.request_skew_ms
    )
    try:
        keys = ctx.trust.request_keys(origin, now)
    except TrustError as err:
        # Not a member at all reads as an unknown sender; a revoked or expired
        # key keeps its own reason, so its operators know what happened.
        reason = ReasonCode.UNKNOWN_SENDER if err.reason == ReasonCode.NOT_A_MEMBER else err.reason
        raise TrustError(reason, f"{origin}: {err.detail}") from None
    # The signature covers the body's hash, so the body must be read before
    # it can be checked: refuse early what is over budget, then read it
    # within a deadline and a slot (see admission.py).
    admission.check(origin)
    body = b""
    if with_body:
        if request.content_type != MEDIA_TYPE:
            raise InputError(
                ReasonCode.UNSUPPORTED_MEDIA, f"expected {MEDIA_TYPE}", path="Content-Type"
            )
        length = request.content_length
        if length is None:
            raise InputError(ReasonCode.MALFORMED, "required", path="Content-Length")
        if length > MAX_BATCH_BYTES:
            raise InputError(ReasonCode.TOO_LARGE, f"over {MAX_BATCH_BYTES} bytes")
        async with admission.reading(origin, remote, length):
            body = await read_body(request, ctx.config)
    try:
        verify_request(
            request.headers,
            method=request.method,
            path=request.path_qs,
            me=ctx.config.agency,
            origin=origin,
            origin_keys=keys,
            body=body,
        )
    except BalizaError as err:
        if admission.failed(remote):
            log.warning(
                "address %s keeps sending requests whose signature fails (last claimed %s)",
                remote,
                origin,
                extra={"client": remote, "peer": origin, "reason": err.reason.value},
            )
        raise
    admission.charge(origin)
    if not refuse_blocked:
        return origin, body
    check_not_blocked(origin, blocked=await is_blocked(ctx, origin))
    return origin, body


authenticate_peer = _authenticate  # for the other federation route modules


async def inbox(request: web.Request) -> web.Response:
    """Take a batch of envelopes; answer accepted / duplicate / refused for each."""
    ctx = request.app[NODE]
    # A blocked origin still gets an answer per envelope (refused:
    # sender_blocked), so its operators see why nothing is accepted.
    origin, body = await _authenticate(request, with_body=True, refuse_blocked=False)
    batch = decode_batch(body)
    results = await ingest_batch(ctx, origin, batch, via="push")
    refused = sum(r.outcome == Outcome.REFUSED for r in results)
    request.app[ADMISSION].charge(origin, REFUSED_ENVELOPE_COST * refused)
    return web.Response(body=encode_results(results), content_type=MEDIA_TYPE)


async def outbox(request: web.Request) -> web.Response:
    """Serve the envelopes queued for the calling node after its cursor."""
    ctx = request.app[NODE]
    origin, _ = await _authenticate(request, with_body=False)
    try:
        after = int(request.query.get("after", "0"))
        limit = min(int(request.query.get("limit", str(MAX_BATCH))), MAX_BATCH)
    except ValueError:
        raise InputError(ReasonCode.BAD_FORMAT, "must be integers", path="after") from None
    if not 0 <= after < 2**63 or limit < 1:
        raise InputError(ReasonCode.OUT_OF_RANGE, "after >= 0 and limit >= 1", path="after")
    items = await outbox_after(ctx, origin, after, limit)
    page: list[tuple[int, bytes]] = []
    size = 0
    for item in items:  # a page stays within what the puller accepts
        size += len(item.raw)
        if page and size > MAX_BATCH_BYTES // 2:
            break
        page.append((item.seq, item.raw))
    next_cursor = page[-1][0] if page else after
    return web.Response(body=encode_outbox_page(page, next_cursor), content_type=MEDIA_TYPE)


async def get_directory(request: web.Request) -> web.Response:
    """The signed directory in force here, for a member to check and apply."""
    ctx = request.app[NODE]
    await _authenticate(request, with_body=False)
    if ctx.trust.directory is None:
        raise InputError(ReasonCode.NOT_FOUND, "this node has no directory yet")
    since = request.query.get("since")
    if since is None:
        return web.Response(body=ctx.trust.directory.signed_bytes, content_type=MEDIA_TYPE)
    if not since.isdigit():
        raise InputError(ReasonCode.BAD_FORMAT, "must be a version number", path="since")
    chain = await directory_chain(ctx, min(int(since), 2**63 - 1), MAX_CHAIN)
    body = encode_directory_chain(chain)
    return web.Response(body=body, content_type=MEDIA_TYPE)


async def post_directory(request: web.Request) -> web.Response:
    """Take a directory version pushed by a member; apply and pass it on if newer."""
    origin, body = await _authenticate(request, with_body=True)
    applied = await request.app[DELIVERY].apply_and_gossip(
        body, actor=f"pushed by {origin}", skip=(origin,)
    )
    version = request.app[NODE].trust.version
    return web.json_response({"applied": applied, "version": version})


async def post_channels(request: web.Request) -> web.Response:
    """Take a chain of signed membership versions of one channel; apply and pass it on.

    The origin pays a token per owner signature the chain may make this node
    check, before any is checked; a chain refused before is refused again
    without a check (``services.channel_push``).
    """
    ctx = request.app[NODE]
    origin, body = await _authenticate(request, with_body=True)
    push = read_push(decode_directory_chain(body), ctx.agency)
    held = await held_version(ctx, push.channel)
    refused: RefusedChains = request.app[REFUSED_CHAINS]
    key = refused.key(push, held, ctx.trust.version)
    refused.recall(key, now_ms())
    request.app[ADMISSION].spend(origin, push.work(held))
    try:
        applied = await request.app[DELIVERY].channels.apply_and_gossip(
            list(push.chain), actor=f"pushed by {origin}", skip=(origin,)
        )
    except BalizaError as err:
        refused.remember(key, err, now_ms())
        raise
    return web.json_response({"applied": applied.version if applied else None})


async def get_channel(request: web.Request) -> web.Response:
    """The membership versions of a channel after ``since``, for one who was ever a member."""
    ctx = request.app[NODE]
    origin, _ = await _authenticate(request, with_body=False)
    channel = channel_id(request.match_info["channel"], "channel")
    since = request.query.get("since", "0")
    if not since.isdigit():
        raise InputError(ReasonCode.BAD_FORMAT, "must be a version number", path="since")
    chain = await channel_chain(ctx, channel, origin, int(since))
    return web.Response(body=encode_directory_chain(chain), content_type=MEDIA_TYPE)


async def post_join(request: web.Request) -> web.Response:
    """Record a member's request to join a programme channel this node owns."""
    ctx = request.app[NODE]
    origin, body = await _authenticate(request, with_body=True)
    channel = channel_id(request.match_info["channel"], "channel")
    request.app[ADMISSION].spend(origin, JOIN_COST)
    state = await ask_to_join(ctx, channel, origin, decode_join(body))
    return web.json_response({"channel": channel, "state": state.value})


ROUTES = (
    Route("POST", "/fed/v1/inbox", inbox, Access.PEER),
    Route("GET", "/fed/v1/outbox", outbox, Access.PEER),
    Route("GET", "/fed/v1/directory", get_directory, Access.PEER),
    Route("POST", "/fed/v1/directory", post_directory, Access.PEER),
    Route("POST", "/fed/v1/channels", post_channels, Access.PEER),
    Route("GET", "/fed/v1/channels/{channel}", get_channel, Access.PEER),
    Route("POST", "/fed/v1/channels/{channel}/join", post_join, Access.PEER),
)
