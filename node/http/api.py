"""The agency-local JSON API under ``/api/v1/`` (see ``openapi.py``).

Officers publish, analysts list, search and follow; every call carries a
bearer token whose role is checked before anything else is read.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from baliza.node.core.clock import now_ms
from baliza.node.http.appkeys import NODE
from baliza.node.http.json_body import json_body
from baliza.node.http.routes import Access, Route
from baliza.node.services.index import notice_row_json
from baliza.node.services.publish import PublishRequest, publish
from baliza.node.services.receipts import send_read_receipt
from baliza.node.storage.delivery import Destination, Destinations, Outbox, OutboxEntry
from baliza.node.storage.envelopes import ReceivedEnvelopes, SentEnvelopes
from baliza.node.storage.notices import Direction, NoticeFilter, Notices, StoredNotice
from baliza.node.storage.receipts import Receipt, Receipts, ReceiptState
from baliza.protocol.errors import BalizaError, InputError, ReasonCode, StorageError
from baliza.protocol.federation import MEDIA_TYPE
from baliza.protocol.ids import KeyId, agency_id, envelope_id

MAX_PAGE = 200
REF_FILTERS = ("container", "vessel", "flight", "awb", "company", "document", "person")


async def post_notice(request: web.Request) -> web.Response:
    """Publish a notice to partner agencies."""
    body = await json_body(request)
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
    if value < 0:
        raise InputError(ReasonCode.OUT_OF_RANGE, "must not be negative", path=name)
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
    async with ctx.db.transaction() as session:
        if request.query.get("latest") == "1":
            rows = await Notices(session).latest(limit, filters)
        else:
            rows = await Notices(session).list_page(after, limit, filters)
    items = [notice_row_json(r, with_body=False) for r in rows]
    next_cursor = rows[-1].seq if rows else after
    return web.json_response({"items": items, "next": next_cursor})


async def get_notice(request: web.Request) -> web.Response:
    """One notice in full, with its hits and its delivery state."""
    ctx = request.app[NODE]
    eid = envelope_id(request.match_info["id"], "id")
    async with ctx.db.transaction() as session:
        notices = Notices(session)
        row = await notices.get(eid)
        hits = await notices.hits(eid)
        delivery = await Outbox(session).state_for_envelope(eid)
        receipts = await Receipts(session).for_envelope(eid)
    out = notice_row_json(row)
    out["signed_by_revoked_key"] = await _since_revoked(request, row)
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
    async with ctx.db.transaction() as session:
        received = await ReceivedEnvelopes(session).get(row.envelope_id)
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
    """The envelope exactly as sent or received: evidence, verifiable by anyone."""
    ctx = request.app[NODE]
    eid = envelope_id(request.match_info["id"], "id")
    async with ctx.db.transaction() as session:
        try:
            raw = await ReceivedEnvelopes(session).get_raw(eid)
        except StorageError:
            raw = (await SentEnvelopes(session).get(eid)).raw
    return web.Response(body=raw, content_type=MEDIA_TYPE)


async def status(request: web.Request) -> web.Response:
    """Peers, their delivery state and the outbox backlog."""
    ctx = request.app[NODE]
    async with ctx.db.transaction() as session:
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


async def stream(request: web.Request) -> web.StreamResponse:
    """Follow new notices live (Server-Sent Events); resumes after ``Last-Event-ID``."""
    ctx = request.app[NODE]
    filters = notice_filter(request)
    last = request.headers.get("Last-Event-ID") or request.query.get("after") or "0"
    try:
        cursor = int(last)
    except ValueError:
        raise InputError(
            ReasonCode.BAD_FORMAT, "must be an integer", path="Last-Event-ID"
        ) from None
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    # Sequence numbers sent by the replay: the live queue may carry them too.
    # Live items are not filtered by "seq above the cursor": on PostgreSQL,
    # workers sharing the database commit in a different order than they drew
    # sequence numbers, so a notice may go live after one with a higher seq.
    replayed: set[int] = set()
    async with ctx.live.follow() as queue:
        # Replay what was stored since the cursor, then go live; the queue was
        # opened first, so nothing falls between the two.
        while True:
            async with ctx.db.transaction() as session:
                rows = await Notices(session).list_page(cursor, MAX_PAGE, filters)
            for row in rows:
                await _send_event(response, notice_row_json(row, with_body=False))
                cursor = row.seq or cursor
                replayed.add(cursor)
            if len(rows) < MAX_PAGE:
                break
        try:
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=15)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if item is None:
                    break
                if item["seq"] not in replayed and _matches(filters, item):
                    await _send_event(response, item)
        except ConnectionResetError:
            pass  # the follower went away: nothing to report
    return response


async def _send_event(response: web.StreamResponse, item: dict[str, Any]) -> None:
    data = json.dumps(item, ensure_ascii=False)
    await response.write(f"id: {item.get('seq') or ''}\nevent: notice\ndata: {data}\n\n".encode())


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
