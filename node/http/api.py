"""The agency-local JSON API under ``/api/v1/`` (see ``openapi.py``).

Officers publish, analysts list, search and follow; every call carries a
bearer token whose role is checked before anything else is read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from baliza.node.core.clock import now_ms
from baliza.node.http.appkeys import ATTACHMENTS, NODE
from baliza.node.http.json_body import json_body
from baliza.node.http.routes import Access, Route, caller, still_allowed
from baliza.node.services.attachment_transport import (
    attachment_entries,
    download_headers,
    store_of,
)
from baliza.node.services.audit_peers import audit_alarms
from baliza.node.services.channels import channel_alarms, paused_channels
from baliza.node.services.filters import live_matches, live_test, parse_filters
from baliza.node.services.index import notice_row_json
from baliza.node.services.live import Action, Decide, Event, LiveCursor, ReadStored, Send, Skip
from baliza.node.services.person_actions import record_published
from baliza.node.services.publish import Published, PublishRequest, publish
from baliza.node.services.receipts import mark_read
from baliza.node.services.views import (
    BOARD_PAGE,
    NoticeFilter,
    alert_board,
    board_state,
    delivery,
    notice_detail,
    peer_health,
)
from baliza.node.services.views.custody import custody
from baliza.node.services.views.feed import evidence, feed_page, search_page, stored_notice
from baliza.protocol.errors import InputError, ReasonCode, StorageError, TrustError
from baliza.protocol.federation import MEDIA_TYPE
from baliza.protocol.ids import agency_id, envelope_id
from baliza.protocol.notices.filenames import saved_filename

MAX_PAGE = 200
MAX_INT = 2**63 - 1  # what both databases store in a BIGINT
KEEPALIVE_S = 15
log = logging.getLogger(__name__)


async def post_notice(request: web.Request) -> web.Response:
    """Publish a notice to partner agencies."""
    body = await json_body(request)
    publication = PublishRequest.from_json(body)
    _check_attachments_held(request.app[NODE], publication)
    published = await publish(request.app[NODE], publication)
    # A token a person owns publishes as them in the record of who did what.
    person = caller(request).acting_person
    if person is not None:
        await record_published(request.app[NODE].db, person, published.envelope_ids, now_ms())
    return web.json_response(published_json(published), status=201)


def published_json(published: Published) -> dict[str, Any]:
    """What a publisher (or a sharer) is told: the envelope(s) sent and who was withheld."""
    out: dict[str, Any] = {
        "id": published.id,
        "recipients": list(published.recipients),
        "size": published.size,
        "delivery": f"/api/v1/notices/{published.id}/delivery" if published.id else None,
    }
    if published.non_nominal is not None:
        copy = published.non_nominal
        out["non_nominal"] = {
            "id": copy.id,
            "recipients": list(copy.recipients),
            "note": "sent to these recipients without the nominal section",
        }
    if published.withheld:
        out["withheld"] = [{"agency": a, "rule": rule} for a, rule in published.withheld]
    return out


def _int_param(request: web.Request, name: str, default: int | None = None) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InputError(ReasonCode.BAD_FORMAT, "must be an integer", path=name) from None
    if not 0 <= value <= MAX_INT:
        raise InputError(ReasonCode.OUT_OF_RANGE, f"must be in [0, {MAX_INT}]", path=name)
    return value


async def list_notices(request: web.Request) -> web.Response:
    """One page of notices, oldest first after the cursor ``after``, each with its hit count."""
    ctx = request.app[NODE]
    filters = parse_filters(request.query, "list")
    after = _int_param(request, "after", 0) or 0
    limit = min(_int_param(request, "limit", 50) or 50, MAX_PAGE)
    page = await feed_page(
        ctx, filters, after=after, limit=limit, latest=request.query.get("latest") == "1"
    )
    items = [
        notice_row_json(r, with_body=False) | {"hit_count": page.hit_counts.get(r.envelope_id, 0)}
        for r in page.items
    ]
    return web.json_response({"items": items, "next": page.next})


def _search_cursor(raw: str | None) -> tuple[float, int] | None:
    if raw is None:
        return None
    score, _, seq = raw.partition(":")
    try:
        return float(score), int(seq)
    except ValueError:
        raise InputError(
            ReasonCode.BAD_FORMAT, "must be the `next` of the previous page", path="after"
        ) from None


async def search_notices(request: web.Request) -> web.Response:
    """Full-text search, best match first, with the total and a keyset cursor."""
    ctx = request.app[NODE]
    filters = parse_filters(request.query, "search")
    if filters.text is None:
        raise InputError(ReasonCode.MISSING_FIELD, "search needs words to look for", path="q")
    limit = min(_int_param(request, "limit", 20) or 20, MAX_PAGE)
    after = _search_cursor(request.query.get("after"))
    page = await search_page(ctx, filters.text, filters, limit=limit, after=after)
    items = [
        notice_row_json(n, with_body=False)
        | {"score": s, "hit_count": page.hit_counts.get(n.envelope_id, 0)}
        for s, n in page.found
    ]
    last = page.found[-1] if len(page.found) == limit else None
    return web.json_response(
        {
            "items": items,
            "total": page.total,
            "next": f"{last[0]!r}:{last[1].seq}" if last else None,
        }
    )


async def list_alerts(request: web.Request) -> web.Response:
    """The alert board: alerts sent and received by expected arrival, "N of M" with a total."""
    unknown = sorted(set(request.query) - {"state", "offset", "limit"})
    if unknown:
        raise InputError(ReasonCode.UNKNOWN_FIELD, "is not a known filter", path=unknown[0])
    board = await alert_board(
        request.app[NODE],
        now_ms(),
        state=board_state(request.query.get("state")),
        offset=_int_param(request, "offset", 0) or 0,
        limit=_int_param(request, "limit", BOARD_PAGE) or BOARD_PAGE,
    )
    return web.json_response(board.to_json())


def _sender_param(request: web.Request) -> str | None:
    """``?sender=`` picks one notice when two senders used the same id."""
    unknown = sorted(set(request.query) - {"sender"})
    if unknown:
        raise InputError(ReasonCode.UNKNOWN_FIELD, "is not a known parameter", path=unknown[0])
    raw = request.query.get("sender")
    return None if raw is None else agency_id(raw, "sender")


async def get_notice(request: web.Request) -> web.Response:
    """One notice in full, with its hits, attachments and delivery state; reading only."""
    eid = envelope_id(request.match_info["id"], "id")
    detail = await notice_detail(request.app[NODE], eid, _sender_param(request))
    return web.json_response(detail.to_json())


async def post_read(request: web.Request) -> web.Response:
    """Mark a received notice read: its sender gets a signed read receipt, once."""
    eid = envelope_id(request.match_info["id"], "id")
    mark = await mark_read(
        request.app[NODE], eid, _sender_param(request), reader=caller(request).acting_person
    )
    return web.json_response(
        {"id": mark.id, "receipt_sent": mark.receipt_sent, "read_ms": mark.read_ms}
    )


def _check_attachments_held(ctx: Any, publication: PublishRequest) -> None:
    """A notice lists only content this node holds, at the size it says."""
    notice = getattr(publication.notice, "notice", publication.notice)  # a correction's body
    store = store_of(ctx)
    for i, attachment in enumerate(getattr(notice, "attachments", ())):
        path = store.path(attachment.sha256.hex())
        where = f"notice.attachments[{i}]"
        if path is None:
            raise InputError(
                ReasonCode.NOT_FOUND,
                "upload the content first (POST /api/v1/attachments, baliza publish --attach)",
                path=f"{where}.sha256",
            )
        if path.stat().st_size != attachment.size:
            raise InputError(
                ReasonCode.INCONSISTENT, "is not the size of that content", path=f"{where}.size"
            )


async def post_attachment(request: web.Request) -> web.Response:
    """Store attachment content (streamed); answer the entry a notice lists it with."""
    stored = await store_of(request.app[NODE]).put(
        request.content.iter_chunked(64 * 1024), request.headers.get("Content-Type")
    )
    return web.json_response(
        {"sha256": stored.sha256, "media_type": stored.media_type.value, "size": stored.size},
        status=201,
    )


async def get_attachment(request: web.Request) -> web.StreamResponse:
    """Attachment content of a notice, only as the notice names it, never as a page.

    Content of a received notice not fetched yet is fetched from its sender
    first (and checked against the signed notice), so the answer may wait
    for the download.
    """
    ctx = request.app[NODE]
    eid = envelope_id(request.match_info["id"], "id")
    sha = request.match_info["sha256"]
    sender = request.query.get("sender")
    row = await stored_notice(ctx, eid, sender)
    entry = next(
        (e for e in attachment_entries(row) if e.get("sha256") == sha),
        None,
    )
    if entry is None:
        raise InputError(ReasonCode.NOT_FOUND, "the notice lists no such attachment", path="sha256")
    path = await request.app[ATTACHMENTS].get(row, sha)
    media_type = str(entry["media_type"])
    return web.FileResponse(
        path,
        headers=download_headers(media_type, saved_filename(str(entry["filename"]), media_type)),
    )


async def get_delivery(request: web.Request) -> web.Response:
    """Delivery state per recipient of a notice this node sent."""
    eid = envelope_id(request.match_info["id"], "id")
    rows = await delivery(request.app[NODE], eid)
    if not rows:
        raise InputError(ReasonCode.NOT_FOUND, "this node sent no such notice", path="id")
    return web.json_response({"id": eid, "recipients": [r.to_json() for r in rows]})


async def get_custody(request: web.Request) -> web.Response:
    """A notice's chain of custody: its entries in this node's audit log, each proven."""
    eid = envelope_id(request.match_info["id"], "id")
    chain = await custody(request.app[NODE], eid, _sender_param(request))
    return web.json_response(chain.to_json())


async def get_envelope(request: web.Request) -> web.Response:
    """The envelope exactly as sent or received: evidence, verifiable by anyone."""
    eid = envelope_id(request.match_info["id"], "id")
    raw = await evidence(request.app[NODE], eid, _sender_param(request))
    return web.Response(body=raw, content_type=MEDIA_TYPE)


async def status(request: web.Request) -> web.Response:
    """Peers, their delivery state, the outbox backlog, the channel and audit log alarms."""
    ctx = request.app[NODE]
    now = now_ms()
    peers = [p.to_json(now) for p in await peer_health(ctx)]
    alarms = [a.to_json() for a in await channel_alarms(ctx)]
    audit = [a.to_json() for a in await audit_alarms(ctx)]
    return web.json_response(
        {
            "agency": ctx.agency,
            "url": ctx.config.url,
            "peers": peers,
            "channel_alarms": alarms,
            "channels_paused": await paused_channels(ctx),
            "audit_alarms": audit,
        }
    )


async def stream(request: web.Request) -> web.StreamResponse:
    """Follow new notices live (Server-Sent Events); resumes after ``Last-Event-ID``.

    The stream ends when the follower goes away, does not read an event
    within the write timeout, or its token is revoked (checked before every
    event), and a token holds at most ``max_streams_per_token`` streams.
    """
    ctx = request.app[NODE]
    filters = parse_filters(request.query, "stream")
    last = request.headers.get("Last-Event-ID") or request.query.get("after") or "0"
    try:
        cursor = int(last)
    except ValueError:
        raise InputError(
            ReasonCode.BAD_FORMAT, "must be an integer", path="Last-Event-ID"
        ) from None
    if not 0 <= cursor <= MAX_INT:
        raise InputError(
            ReasonCode.OUT_OF_RANGE, f"must be in [0, {MAX_INT}]", path="Last-Event-ID"
        )
    token = caller(request).holder
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    async with ctx.live.follow(token, ctx.config.max_streams_per_token) as queue:
        try:
            await response.prepare(request)
            live = LiveCursor(cursor, live_test(filters, ctx.db.dialect))
            await _follow(request, response, queue, filters, live)
        except (ConnectionError, TimeoutError) as exc:
            # Gone, or not reading: it reconnects with Last-Event-ID when it can.
            log.info("stream of token %s ended: %s", token, type(exc).__name__)
        except TrustError as err:
            log.info("stream of token %s ended: %s", token, err)
        except StorageError as err:
            # The headers are out, so no error answer can follow; an answer
            # left open would leave the follower waiting forever. End it: the
            # follower reconnects with Last-Event-ID and misses nothing.
            log.warning("live stream ended early: %s", err)
    return response


async def _follow(
    request: web.Request,
    response: web.StreamResponse,
    queue: asyncio.Queue[dict[str, Any] | None],
    filters: NoticeFilter,
    live: LiveCursor,
) -> None:
    """Glue between the queue, the cursor (services/live.py), storage and the response.

    Replay what was stored since the cursor, then go live; the queue was
    opened first, so nothing falls between the two.
    """
    ctx = request.app[NODE]
    send_timeout = ctx.config.stream_write_timeout_ms / 1000
    action: Action = live.start()
    while True:
        while isinstance(action, ReadStored):
            await _send(response, action.events, send_timeout)
            page = await feed_page(
                ctx, filters, after=action.after, limit=live.page, with_hits=False
            )
            # A replay may be long: the token is read again before each page.
            await still_allowed(request)
            action = live.on_stored_page(page.items)
        if isinstance(action, Decide):
            action = live.on_verdict(await live_matches(ctx, filters, action.item))
        if isinstance(action, Send) and action.events:
            await still_allowed(request, revocations=ctx.live.revocations)
            await _send(response, action.events, send_timeout)
        try:
            item = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_S)
        except TimeoutError:
            await still_allowed(request)
            async with asyncio.timeout(send_timeout):
                await response.write(b": keep-alive\n\n")
            action = Skip()
            continue
        if item is None:
            return
        action = live.on_announced(item)


async def _send(response: web.StreamResponse, events: Sequence[Event], within_s: float) -> None:
    for event in events:
        async with asyncio.timeout(within_s):
            await response.write(event.encode())


ROUTES = (
    Route("POST", "/api/v1/notices", post_notice, Access.PUBLISHER),
    Route("GET", "/api/v1/notices", list_notices, Access.ANALYST),
    Route("GET", "/api/v1/search", search_notices, Access.ANALYST),
    Route("GET", "/api/v1/alerts", list_alerts, Access.ANALYST),
    Route("GET", "/api/v1/notices/{id}", get_notice, Access.ANALYST),
    Route("POST", "/api/v1/notices/{id}/read", post_read, Access.ANALYST),
    Route("GET", "/api/v1/notices/{id}/delivery", get_delivery, Access.ANALYST),
    Route("GET", "/api/v1/notices/{id}/custody", get_custody, Access.ANALYST),
    Route("POST", "/api/v1/attachments", post_attachment, Access.PUBLISHER),
    Route("GET", "/api/v1/notices/{id}/attachments/{sha256}", get_attachment, Access.ANALYST),
    Route("GET", "/api/v1/notices/{id}/envelope", get_envelope, Access.ANALYST),
    Route("GET", "/api/v1/status", status, Access.ANALYST),
    Route("GET", "/api/v1/stream", stream, Access.ANALYST),
)
