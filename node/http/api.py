"""The agency-local JSON API under ``/api/v1/`` (see ``openapi.py``).

Officers publish, analysts list, search and follow; every call carries a
bearer token whose role is checked before anything else is read.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web

from baliza.node.core.clock import now_ms
from baliza.node.http.appkeys import NODE
from baliza.node.http.routes import Access, Route, caller, caller_of
from baliza.node.http.server import read_body
from baliza.node.services.index import notice_row_json
from baliza.node.services.publish import PublishRequest, publish
from baliza.node.services.receipts import send_read_receipt
from baliza.node.services.tokens import Role
from baliza.node.storage.delivery import Destination, Destinations, Outbox, OutboxEntry
from baliza.node.storage.envelopes import ReceivedEnvelopes, SentEnvelopes
from baliza.node.storage.notices import Direction, NoticeFilter, Notices, StoredNotice
from baliza.node.storage.receipts import Receipt, Receipts, ReceiptState
from baliza.protocol.errors import BalizaError, InputError, ReasonCode, StorageError, TrustError
from baliza.protocol.federation import MEDIA_TYPE
from baliza.protocol.ids import KeyId, agency_id, envelope_id

MAX_PAGE = 200
MAX_INT = 2**63 - 1  # what both databases store in a BIGINT
KEEPALIVE_S = 15
log = logging.getLogger(__name__)
REF_FILTERS = ("container", "vessel", "flight", "awb", "company", "document", "person")


async def _json_body(request: web.Request) -> Any:
    if request.content_type != "application/json":
        raise InputError(
            ReasonCode.UNSUPPORTED_MEDIA, "expected application/json", path="Content-Type"
        )
    try:
        return json.loads(await read_body(request, request.app[NODE].config))
    except ValueError as exc:
        raise InputError(ReasonCode.MALFORMED, f"not JSON: {exc}") from None


async def post_notice(request: web.Request) -> web.Response:
    """Publish a notice to partner agencies."""
    body = await _json_body(request)
    published = await publish(request.app[NODE], PublishRequest.from_json(body))
    return web.json_response(
        {
            "id": published.id,
            "recipients": list(published.recipients),
            "size": published.size,
            "delivery": f"/api/v1/notices/{published.id}/delivery",
        },
        status=201,
    )


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


def notice_filter(request: web.Request) -> NoticeFilter:
    """Parse the query string filters shared by listing and streaming."""
    q = request.query
    known = {
        "latest",
        "after",
        "limit",
        "kind",
        "sender",
        "programme",
        "since",
        "until",
        "location",
        "q",
        "direction",
        *REF_FILTERS,
    }
    unknown = sorted(set(q) - known)
    if unknown:
        raise InputError(ReasonCode.UNKNOWN_FIELD, "is not a known filter", path=unknown[0])
    for name, value in q.items():
        if not value.strip():  # `?kind=` or `?kind` is a mistake, not "any kind"
            raise InputError(ReasonCode.MISSING_FIELD, "has no value", path=name)
    ref = next(((name, q[name].strip().upper()) for name in REF_FILTERS if name in q), None)
    if ref is not None and ref[0] == "company":
        ref = (ref[0], " ".join(q["company"].lower().split()))
    direction = q.get("direction")
    if direction not in (None, "in", "out"):
        raise InputError(ReasonCode.BAD_ENUM, "must be in or out", path="direction")
    return NoticeFilter(
        kind=q.get("kind"),
        ref_type=ref[0] if ref else None,
        ref_value=ref[1] if ref else None,
        sender=agency_id(q["sender"], "sender") if "sender" in q else None,
        programme=q.get("programme"),
        since_ms=_int_param(request, "since"),
        until_ms=_int_param(request, "until"),
        location=q["location"].upper() if "location" in q else None,
        text=q.get("q"),
        direction=Direction(direction) if direction else None,
    )


async def list_notices(request: web.Request) -> web.Response:
    """One page of notices, oldest first after the cursor ``after``."""
    ctx = request.app[NODE]
    filters = notice_filter(request)
    after = _int_param(request, "after", 0) or 0
    limit = min(_int_param(request, "limit", 50) or 50, MAX_PAGE)
    async with ctx.db.transaction(readonly=True) as session:
        if request.query.get("latest") == "1":
            rows = await Notices(session).latest(limit, filters)
        else:
            rows = await Notices(session).list_page(after, limit, filters)
    items = [notice_row_json(r, with_body=False) for r in rows]
    next_cursor = rows[-1].seq if rows else after
    return web.json_response({"items": items, "next": next_cursor})


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
    out["hits"] = [
        {
            "id": h.notice.envelope_id,
            "sender": h.notice.sender,
            "summary": h.notice.summary,
            "ref": list(h.ref),
        }
        for h in hits
    ]
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
    filters = notice_filter(request)
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
    return response


async def _follow(
    request: web.Request,
    response: web.StreamResponse,
    queue: asyncio.Queue[dict[str, Any] | None],
    filters: NoticeFilter,
    cursor: int,
) -> None:
    ctx = request.app[NODE]
    send_timeout = ctx.config.stream_write_timeout_ms / 1000
    # Replay what was stored since the cursor, then go live; the queue was
    # opened first, so nothing falls between the two.
    while True:
        async with ctx.db.transaction(readonly=True) as session:
            rows = await Notices(session).list_page(cursor, REPLAY_PAGE, filters)
        await caller_of(request, Role.ANALYST)  # revoked since? the stream ends here
        for row in rows:
            await _send_event(response, notice_row_json(row, with_body=False), send_timeout)
            cursor = row.seq or cursor
        if len(rows) < REPLAY_PAGE:
            break
        del rows
    while True:
        try:
            item = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_S)
        except TimeoutError:
            await caller_of(request, Role.ANALYST)
            async with asyncio.timeout(send_timeout):
                await response.write(b": keep-alive\n\n")
            continue
        if item is None:
            return
        if item["seq"] > cursor and _matches(filters, item):
            await caller_of(request, Role.ANALYST)
            await _send_event(response, item, send_timeout)
            cursor = item["seq"]


async def _send_event(response: web.StreamResponse, item: dict[str, Any], within_s: float) -> None:
    data = json.dumps(item, ensure_ascii=False)
    async with asyncio.timeout(within_s):
        await response.write(
            f"id: {item.get('seq') or ''}\nevent: notice\ndata: {data}\n\n".encode()
        )


ROUTES = (
    Route("POST", "/api/v1/notices", post_notice, Access.PUBLISHER),
    Route("GET", "/api/v1/notices", list_notices, Access.ANALYST),
    Route("GET", "/api/v1/notices/{id}", get_notice, Access.ANALYST),
    Route("GET", "/api/v1/notices/{id}/delivery", get_delivery, Access.ANALYST),
    Route("GET", "/api/v1/notices/{id}/envelope", get_envelope, Access.ANALYST),
    Route("GET", "/api/v1/status", status, Access.ANALYST),
    Route("GET", "/api/v1/stream", stream, Access.ANALYST),
)


def _matches(filters: NoticeFilter, item: dict[str, Any]) -> bool:
    """Whether a live event passes the simple filters (the rest are replay-only)."""
    checks = (
        (filters.kind, item["kind"]),
        (filters.sender, item["sender"]),
        (filters.programme, item["programme"]),
        (filters.location, item["location"]),
        (filters.direction.value if filters.direction else None, item["direction"]),
    )
    if any(want is not None and want != have for want, have in checks):
        return False
    if filters.ref_value is not None:
        refs = {(r["type"], r["value"]) for r in item["refs"]}
        if (filters.ref_type, filters.ref_value) not in refs:
            return False
    return filters.text is None or filters.text.lower() in item["summary"].lower()


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
    """``delivered at …``, ``failing since …: error`` or ``pending``, for people."""
    if state.failing_since_ms is not None:
        minutes = (now - state.failing_since_ms) // 60_000
        return f"failing since {minutes} min ({state.attempts} attempts): {state.last_error}"
    if state.last_delivered_ms is not None:
        seconds = (now - state.last_delivered_ms) // 1000
        return f"ok, last delivery {seconds} s ago"
    return "pending"
