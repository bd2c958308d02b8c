"""The agency-local JSON API under ``/api/v1/`` (see ``openapi.py``).

Officers publish, analysts list, search and follow; every call carries a
bearer token whose role is checked before anything else is read.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from urllib.parse import quote

from aiohttp import web

from baliza.node.core.clock import now_ms
from baliza.node.http.appkeys import ATTACHMENTS, NODE
from baliza.node.http.json_body import json_body
from baliza.node.http.routes import Access, Route, caller, still_allowed
from baliza.node.services.alerts import AlertState, alert_board
from baliza.node.services.attachment_transport import attachment_entries, store_of
from baliza.node.services.filters import live_matches, parse_filters
from baliza.node.services.index import hits_json, notice_row_json
from baliza.node.services.publish import Published, PublishRequest, publish
from baliza.node.services.receipts import send_read_receipt
from baliza.node.storage.delivery import Destination, Destinations, Outbox, OutboxEntry
from baliza.node.storage.envelopes import ReceivedEnvelopes, SentEnvelopes
from baliza.node.storage.notices import Direction, NoticeFilter, Notices, StoredNotice
from baliza.node.storage.receipts import Receipt, Receipts, ReceiptState
from baliza.protocol.errors import BalizaError, InputError, ReasonCode, StorageError, TrustError
from baliza.protocol.federation import MEDIA_TYPE
from baliza.protocol.ids import KeyId, agency_id, envelope_id

log = logging.getLogger(__name__)
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
    async with ctx.db.transaction(readonly=True) as session:
        notices = Notices(session)
        if request.query.get("latest") == "1":
            rows = await notices.latest(limit, filters)
        else:
            rows = await notices.list_page(after, limit, filters)
        hits = await notices.hit_counts([r.envelope_id for r in rows])
    items = [
        notice_row_json(r, with_body=False) | {"hit_count": hits.get(r.envelope_id, 0)}
        for r in rows
    ]
    next_cursor = rows[-1].seq if rows else after
    return web.json_response({"items": items, "next": next_cursor})


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
    async with ctx.db.transaction(readonly=True) as session:
        notices = Notices(session)
        found = await notices.ranked(filters.text, filters, limit, after)
        total = await notices.count(filters)
        hits = await notices.hit_counts([n.envelope_id for _, n in found])
    items = [
        notice_row_json(n, with_body=False) | {"score": s, "hit_count": hits.get(n.envelope_id, 0)}
        for s, n in found
    ]
    last = found[-1] if len(found) == limit else None
    return web.json_response(
        {
            "items": items,
            "total": total,
            "next": f"{last[0]!r}:{last[1].seq}" if last else None,
        }
    )


async def list_alerts(request: web.Request) -> web.Response:
    """Pre-arrival alerts sent and received: open, answered (with the outcome) or overdue."""
    ctx = request.app[NODE]
    wanted = request.query.get("state")
    states = {s.value for s in AlertState}
    unknown = sorted(set(request.query) - {"state"})
    if unknown:
        raise InputError(ReasonCode.UNKNOWN_FIELD, "is not a known filter", path=unknown[0])
    if wanted is not None and wanted not in states:
        raise InputError(
            ReasonCode.BAD_ENUM, f"must be one of: {', '.join(sorted(states))}", path="state"
        )
    board = await alert_board(ctx, now_ms())
    items = [e.to_json() for e in board if wanted is None or e.state.value == wanted]
    return web.json_response({"items": items})


def _sender_param(request: web.Request) -> str | None:
    """``?sender=`` picks one notice when two senders used the same id."""
    unknown = sorted(set(request.query) - {"sender"})
    if unknown:
        raise InputError(ReasonCode.UNKNOWN_FIELD, "is not a known parameter", path=unknown[0])
    raw = request.query.get("sender")
    return None if raw is None else agency_id(raw, "sender")


async def get_notice(request: web.Request) -> web.Response:
    """One notice in full, with its hits and its delivery state."""
    ctx = request.app[NODE]
    eid = envelope_id(request.match_info["id"], "id")
    sender = _sender_param(request)
    async with ctx.db.transaction(readonly=True) as session:
        notices = Notices(session)
        row = await notices.get(eid, sender)
        others = [s for s in await notices.senders_of(eid) if s != row.sender]
        hits = await notices.hits(eid, sender=row.sender)
        outgoing = row.direction is Direction.OUT
        delivery = await Outbox(session).state_for_envelope(eid) if outgoing else []
        receipts = await Receipts(session).for_envelope(eid) if outgoing else []
    out = notice_row_json(row)
    out["signed_by_revoked_key"] = await _since_revoked(request, row)
    if others:
        out["same_id_from"] = others  # name ?sender= to read theirs
    await send_read_receipt(ctx, row)
    out["hits"] = hits_json(hits)
    out["delivery"] = [delivery_json(d, receipts) for d in delivery]
    return web.json_response(out)


async def _since_revoked(request: web.Request, row: StoredNotice) -> bool:
    """Whether a received notice's signing key has been revoked since (it stays readable)."""
    if row.direction is not Direction.IN:
        return False
    ctx = request.app[NODE]
    async with ctx.db.transaction(readonly=True) as session:
        received = await ReceivedEnvelopes(session).get(row.envelope_id, row.sender)
    if received.signed_by_revoked:
        return True
    try:
        key = ctx.trust.sender_key(
            received.sender, KeyId(received.sender_key), received.created_ms, now_ms()
        )
    except BalizaError:
        return True  # no longer vouched for at all: tell the analyst
    return key.since_revoked


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
    async with ctx.db.transaction(readonly=True) as session:
        row = await Notices(session).get(eid, sender)
    entry = next(
        (e for e in attachment_entries(row) if e.get("sha256") == sha),
        None,
    )
    if entry is None:
        raise InputError(ReasonCode.NOT_FOUND, "the notice lists no such attachment", path="sha256")
    path = await request.app[ATTACHMENTS].get(row, sha)
    # The type the signed notice declares (all on an allow-list of passive
    # formats, and checked against the content when it was fetched), as a
    # download, never sniffed or rendered as a page.
    return web.FileResponse(
        path,
        headers={
            "Content-Type": str(entry["media_type"]),
            "Content-Disposition": f'attachment; filename="{quote(str(entry["filename"]))}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
        },
    )


async def get_delivery(request: web.Request) -> web.Response:
    """Delivery state per recipient of a notice this node sent."""
    ctx = request.app[NODE]
    eid = envelope_id(request.match_info["id"], "id")
    async with ctx.db.transaction(readonly=True) as session:
        delivery = await Outbox(session).state_for_envelope(eid)
        receipts = await Receipts(session).for_envelope(eid)
    if not delivery:
        raise InputError(ReasonCode.NOT_FOUND, "this node sent no such notice", path="id")
    return web.json_response(
        {"id": eid, "recipients": [delivery_json(d, receipts) for d in delivery]}
    )


async def get_envelope(request: web.Request) -> web.Response:
    """The envelope exactly as sent or received: evidence, verifiable by anyone.

    Which one is decided by the notice's direction, never by which table
    answers first: an envelope another agency sent under an id this node
    used must not stand in for this node's own evidence.
    """
    ctx = request.app[NODE]
    eid = envelope_id(request.match_info["id"], "id")
    sender = _sender_param(request)
    async with ctx.db.transaction(readonly=True) as session:
        try:
            row = await Notices(session).get(eid, sender)
        except StorageError:
            row = None  # a receipt, not a notice: its envelope is still evidence
        if row is not None and row.direction is Direction.OUT:
            raw = (await SentEnvelopes(session).get(eid)).raw
        elif row is not None:
            raw = await ReceivedEnvelopes(session).get_raw(eid, row.sender)
        elif sender in (None, ctx.agency) and await SentEnvelopes(session).exists(eid):
            raw = (await SentEnvelopes(session).get(eid)).raw
        else:
            raw = await ReceivedEnvelopes(session).get_raw(eid, sender)
    return web.Response(body=raw, content_type=MEDIA_TYPE)


async def status(request: web.Request) -> web.Response:
    """Peers, their delivery state and the outbox backlog."""
    ctx = request.app[NODE]
    async with ctx.db.transaction(readonly=True) as session:
        states = await Destinations(session).all()
        backlog = await Outbox(session).pending_counts()
    peers = []
    for peer in ctx.peers():
        state = next((s for s in states if s.agency == peer.agency), None)
        peers.append(
            {
                "agency": peer.agency,
                "name": peer.name,
                "url": peer.url,
                "fingerprint": peer.keys.fingerprint(),
                "pending": backlog.get(peer.agency, 0),
                "state": describe(state, now_ms()) if state else "not yet contacted",
                "last_error": state.last_error if state else None,
            }
        )
    return web.json_response({"agency": ctx.agency, "url": ctx.config.url, "peers": peers})


# Replay reads this many notices at a time: what a follower holds in memory
# while it is slow to read is one small page, whatever the backlog.
REPLAY_PAGE = 20


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
    token = caller(request).token_id
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    async with ctx.live.follow(token, ctx.config.max_streams_per_token) as queue:
        try:
            await response.prepare(request)
            await _follow(request, response, queue, filters, cursor)
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


# How many sent sequence numbers a stream remembers to skip duplicates.
_SENT_KEPT = 4096


async def _follow(
    request: web.Request,
    response: web.StreamResponse,
    queue: asyncio.Queue[dict[str, Any] | None],
    filters: NoticeFilter,
    cursor: int,
) -> None:
    ctx = request.app[NODE]
    send_timeout = ctx.config.stream_write_timeout_ms / 1000
    sent: set[int] = set()
    # Replay what was stored since the cursor, then go live; the queue was
    # opened first, so nothing falls between the two.
    cursor = await _send_stored(request, response, filters, cursor, send_timeout, sent)
    while True:
        try:
            item = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_S)
        except TimeoutError:
            await still_allowed(request)
            async with asyncio.timeout(send_timeout):
                await response.write(b": keep-alive\n\n")
            continue
        if item is None:
            return
        seq = item["seq"]
        if seq in sent:
            continue
        if seq == cursor + 1:
            # The next number: nothing can be missing before it, so the
            # announcement itself says what (no read of the page it is on).
            if await live_matches(ctx, filters, item):
                await still_allowed(request, revocations=ctx.live.revocations)
                await _send_event(response, _without_hits(item), send_timeout)
                sent.add(seq)
            cursor = seq
        elif seq > cursor:
            # Concurrent transactions announce after their own commits, so
            # events come out of order (seq 11 before 10), and sending 11
            # alone would skip 10 for good. An event only says "something
            # new": storage says what, in order.
            cursor = await _send_stored(request, response, filters, cursor, send_timeout, sent)
        elif await live_matches(ctx, filters, item):
            # A notice committed after one with a higher number (PostgreSQL
            # workers draw numbers before they commit): send it as it comes.
            await still_allowed(request)
            await _send_event(response, item, send_timeout)
            sent.add(seq)
        if len(sent) > _SENT_KEPT:
            # Only numbers near the cursor can still arrive out of order.
            sent.difference_update([s for s in sent if s < cursor - _SENT_KEPT // 2])
        if seq in sent:
            for hit in item.get("hits", ()):
                new = {"seq": seq, "id": item["id"], "hit": hit}
                await _send_event(response, new, send_timeout, event="hit")


def _without_hits(item: dict[str, Any]) -> dict[str, Any]:
    """An announcement as the notice event the stored page would send: hits go separately."""
    return {key: value for key, value in item.items() if key != "hits"}


async def _send_stored(
    request: web.Request,
    response: web.StreamResponse,
    filters: NoticeFilter,
    cursor: int,
    within_s: float,
    sent: set[int],
) -> int:
    """Send every stored notice after ``cursor`` that ``filters`` pass; return the new cursor.

    Pages are small, so a follower's backlog never sits in memory whole, and
    the token is checked again before each page: a revoked one ends here.
    ``sent`` collects the sequence numbers sent, so none goes twice.
    """
    while True:
        async with request.app[NODE].db.transaction(readonly=True) as session:
            rows = await Notices(session).list_page(cursor, REPLAY_PAGE, filters)
        await still_allowed(request)
        for row in rows:
            if row.seq not in sent:
                await _send_event(response, notice_row_json(row, with_body=False), within_s)
                sent.add(row.seq)
            cursor = row.seq or cursor
        if len(rows) < REPLAY_PAGE:
            return cursor


async def _send_event(
    response: web.StreamResponse, item: dict[str, Any], within_s: float, event: str = "notice"
) -> None:
    data = json.dumps(item, ensure_ascii=False)
    event_id = f"id: {item['seq']}\n" if event == "notice" else ""
    async with asyncio.timeout(within_s):
        await response.write(f"{event_id}event: {event}\ndata: {data}\n\n".encode())


ROUTES = (
    Route("POST", "/api/v1/notices", post_notice, Access.PUBLISHER),
    Route("GET", "/api/v1/notices", list_notices, Access.ANALYST),
    Route("GET", "/api/v1/search", search_notices, Access.ANALYST),
    Route("GET", "/api/v1/alerts", list_alerts, Access.ANALYST),
    Route("GET", "/api/v1/notices/{id}", get_notice, Access.ANALYST),
    Route("GET", "/api/v1/notices/{id}/delivery", get_delivery, Access.ANALYST),
    Route("POST", "/api/v1/attachments", post_attachment, Access.PUBLISHER),
    Route("GET", "/api/v1/notices/{id}/attachments/{sha256}", get_attachment, Access.ANALYST),
    Route("GET", "/api/v1/notices/{id}/envelope", get_envelope, Access.ANALYST),
    Route("GET", "/api/v1/status", status, Access.ANALYST),
    Route("GET", "/api/v1/stream", stream, Access.ANALYST),
)


def delivery_json(entry: OutboxEntry, receipts: list[Receipt]) -> dict[str, Any]:
    """One recipient's delivery state, as a person reads it (with when it was read)."""
    read = [
        r.at_ms
        for r in receipts
        if r.from_agency == entry.destination and r.state is ReceiptState.READ
    ]
    return {
        "destination": entry.destination,
        "state": entry.state.value,
        "delivered_ms": entry.delivered_ms,
        "read_ms": min(read) if read else None,
        "refused_reason": entry.refused_reason,
        "refused_detail": entry.refused_detail,
    }


def describe(state: Destination, now: int) -> str:
    """``ok, last delivery …``, ``failing since …: error`` or ``no delivery yet``, for people."""
    if state.failing_since_ms is not None:
        minutes = (now - state.failing_since_ms) // 60_000
        return f"failing since {minutes} min ({state.attempts} attempts): {state.last_error}"
    if state.last_delivered_ms is not None:
        seconds = (now - state.last_delivered_ms) // 1000
        return f"ok, last delivery {seconds} s ago"
    return "no delivery yet"
