"""The analyst's pages: the feed with filters and live updates, and one notice.

The feed is rendered by the node and then kept current by ``live.js``, which
follows ``/console/stream`` (the API's own stream, behind the session
instead of a bearer token) and adds each new notice at the top.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from baliza.node.console import adapter, custody, feed_filters, notice_view, places
from baliza.node.console.charts import bar_chart, count_seizures, route_view, seizure_map
from baliza.node.console.choices import HANDLING_WORDS
from baliza.node.console.i18n import N_, Formatter
from baliza.node.console.inbox import inbox_detail
from baliza.node.console.offers import offers
from baliza.node.console.web import FORMATTER, PREFIX, posted, render
from baliza.node.core.clock import now_ms
from baliza.node.http.appkeys import NODE
from baliza.node.http.routes import SIGNED_IN
from baliza.node.services.filters import FILTER_NAMES, parse_filters
from baliza.node.services.inbox import mark_seen as inbox_seen
from baliza.node.services.inbox import person_of
from baliza.node.services.views import (
    AlertState,
    NoticeFilter,
    RecipientDelivery,
    StoredNotice,
    board_state,
)
from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.ids import envelope_id
from baliza.protocol.notices import KINDS
from baliza.protocol.notices.refs import fold

TLP_WORDS = {
    "clear": N_("TLP:CLEAR — may be shared without restriction."),
    "green": N_("TLP:GREEN — may be shared within the community, not publicly."),
    "amber": N_(
        "TLP:AMBER — only within your organisation and its clients, on a need-to-know basis."
    ),
    "amber+strict": N_("TLP:AMBER+STRICT — only within your organisation."),
    "red": N_("TLP:RED — only for the people who received it; do not share further."),
}


def _filters(request: web.Request) -> tuple[NoticeFilter, dict[str, str]]:
    """The feed's filters from the query string; a bad value is refused naming the filter."""
    q = {k: request.query[k].strip() for k in FILTER_NAMES if request.query.get(k, "").strip()}
    if "sender" in q:
        q["sender"] = sender_of(q["sender"], adapter.agency_names(request.app[NODE]))
    # The API's one table of filters reads them, so the feed, the stored
    # query and the live stream agree on what each filter means.
    return parse_filters(q, "list"), q


def _titles(rows: list[StoredNotice], fmt: Formatter) -> dict[str, str]:
    """Each row's title in the reader's language (the stored summary is English)."""
    out = {}
    for row in rows:
        try:
            body = json.loads(row.notice_json)
        except ValueError:
            body = {}
        out[row.envelope_id] = notice_view.title(body, fmt, row.summary)
    return out


def sender_of(typed: str, names: dict[str, str]) -> str:
    """The agency id a sender filter names: an id as typed, or the one agency whose
    name contains what was typed ("Algeciras"); otherwise as typed, for the filter
    to refuse naming itself."""
    if typed in names:
        return typed
    folded = fold(typed)
    found = [agency for agency, name in names.items() if folded in fold(name)]
    return found[0] if len(found) == 1 else typed


def _cursor(request: web.Request, name: str) -> int | None:
    """A page cursor from the query string (a sequence number), refused naming itself."""
    raw = request.query.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise InputError(ReasonCode.WRONG_TYPE, "must be a whole number", path=name)
    return int(raw)


async def feed(request: web.Request) -> web.Response:
    """A page of notices, filtered, with older and newer pages; the newest kept live."""
    filters, chosen = _filters(request)
    before, after = _cursor(request, "before"), _cursor(request, "after")
    rows, page = await adapter.feed(request.app[NODE], filters, before=before, after=after)
    total = page.total if page.total is not None else len(rows)
    first = (page.newer or 0) + 1
    shown, more = feed_filters.fields()
    return render(
        request,
        "feed.html",
        {
            "rows": rows,
            "hit_counts": page.hit_counts,
            "titles": _titles(rows, request[FORMATTER]),
            "total": total,
            "first": first,
            "last": first + len(rows) - 1,
            "chosen": chosen,
            "shown_filters": shown,
            "more_filters": more,
            "more_open": any(f.name in chosen for f in more),
            "kind_names": {k: request[FORMATTER].gettext(k) for k in KINDS},
            # The live stream takes the same filters (the API's own names), so
            # new rows match too; only the newest page takes them at its top.
            "stream_query": dict(chosen),
            "live": first == 1,
            "older": min((r.seq or 0 for r in rows), default=0)
            if first + len(rows) <= total
            else 0,
            "newer": max((r.seq or 0 for r in rows), default=0) if first > 1 else 0,
            "after": max((r.seq or 0 for r in rows), default=0),
        },
    )


async def notice(request: web.Request) -> web.Response:
    """One notice: handling banner first, then its fields, hits and delivery."""
    view = await adapter.notice(request.app[NODE], request.match_info["id"])
    body = json.loads(view.notice.notice_json)
    fmt = request[FORMATTER]
    return render(
        request,
        "notice.html",
        {
            "view": view,
            "row": view.notice,
            "attachments": view.attachments,
            "offers": offers(view.notice, request.app[NODE].agency, request[SIGNED_IN].caller.role),
            "delivery": [recipient_json(r, fmt) for r in view.delivery],
            "can_mark_read": view.notice.direction.value == "in" and view.read_here_ms is None,
            "read_here": fmt.datetime(view.read_here_ms) if view.read_here_ms else "",
            "tlp_words": TLP_WORDS[view.notice.tlp],
            "handling": view.handling,
            "code_words": HANDLING_WORDS,
            "share": view.share_of,
            "route": route_view(
                p for p in (places.locate(c) for c in route_codes(body)) if p is not None
            ),
            "title": notice_view.title(body, fmt, view.notice.summary),
            "sections": notice_view.sections(body, fmt),
            "photos": [
                a for a in view.attachments if a.held and a.media_type in notice_view.INLINE_IMAGES
            ],
            "size": lambda n: notice_view.size(n, fmt),
            "hit_groups": notice_view.hit_groups(view.hits),
            "hit_titles": _titles([hit.notice for hit in view.hits], fmt),
            "custody": await custody.section(request, view.notice.envelope_id, view.notice.sender),
            "people": [
                {
                    "action": p.action,
                    "name": p.name,
                    "unit": p.unit,
                    "at": fmt.datetime(p.at_ms),
                    "detail": inbox_detail(p.action, p.detail, fmt),
                }
                for p in await adapter.people(request.app[NODE], view.notice.envelope_id)
            ],
        },
    )


def route_codes(body: dict[str, Any]) -> list[str]:
    """The places a notice travels through, in order: alert origin → destination, or
    a seizure's loading → transit → discharge → destination, then where it was seized."""

    def code(loc: Any) -> str | None:
        return (loc.get("locode") or loc.get("airport")) if isinstance(loc, dict) else None

    if body.get("kind") == "notice.alert":
        ordered = [body.get("origin"), body.get("destination")]
    else:
        route = body.get("route") or {}
        ordered = [route.get("loading"), *route.get("transit", []), route.get("discharge")]
        ordered += [route.get("destination"), body.get("location")]
    codes: list[str] = []
    for found in (code(loc) for loc in ordered):
        if found and found not in codes:
            codes.append(found)
    return codes


def recipient_json(item: RecipientDelivery, fmt: Formatter) -> dict[str, str]:
    """One recipient's delivery (the API's row), in the person's words, as the table shows it.

    ``final`` says nothing more will change: refused, answered or read.
    """
    refused = f" ({item.refused_reason})" if item.refused_reason else ""
    return {
        "agency": item.destination,
        "state": fmt.gettext(item.state) + refused,
        "delivered": fmt.datetime(item.delivered_ms),
        "read": fmt.datetime(item.read_ms),
        "outcome": fmt.gettext(item.outcome.result) if item.outcome else "",
        "final": "yes" if item.final else "",
    }


async def delivery(request: web.Request) -> web.Response:
    """Per recipient of a sent notice: delivered, read, outcome (the page polls this)."""
    ctx = request.app[NODE]
    eid = envelope_id(request.match_info["id"], "id")
    recipients = await adapter.delivery(ctx, eid)
    fmt = request[FORMATTER]
    return web.json_response({"items": [recipient_json(r, fmt) for r in recipients]})


async def mark_read(request: web.Request) -> web.Response:
    """The notice page's "mark as read" form: tell the sender, then show the notice again."""
    await posted(request)
    caller = request[SIGNED_IN].caller
    mark = await adapter.read(request.app[NODE], request.match_info["id"], caller.acting_person)
    if caller.user_id is not None and mark.read_ms is not None:
        # Read for its sender is read in the person's own inbox too.
        await inbox_seen(request.app[NODE].db, person_of(caller), mark.id, now_ms())
    raise web.HTTPSeeOther(f"{PREFIX}/notices/{mark.id}")


async def board(request: web.Request) -> web.Response:
    """The alert board (the API's model): by expected arrival, a state filter, N of M."""
    state = board_state(request.query.get("state"))
    raw_page = request.query.get("page", "1")
    page = int(raw_page) if raw_page.isdigit() and 0 < int(raw_page) < 10_000 else 1
    board = await adapter.board(request.app[NODE], now_ms(), state=state, page=page)
    return render(
        request,
        "board.html",
        {
            "board": board,
            "titles": _titles([s.alert for s in board.items], request[FORMATTER]),
            "chosen": state.value if state else "",
            "states": [s.value for s in AlertState],
            "page": page,
            "pages": max(1, -(-board.total // board.limit)),
        },
    )


async def charts(request: web.Request) -> web.Response:
    """Seizures by commodity, place and month, drawn by the node."""
    counts = count_seizures(await adapter.seizure_notices(request.app[NODE]))
    fmt = request[FORMATTER]
    return render(
        request,
        "charts.html",
        {
            "total": counts.total,
            "charts": [
                (
                    N_("Seizures by commodity"),
                    bar_chart({fmt.gettext(k): v for k, v in counts.by_commodity.items()}),
                ),
                (N_("Seizures by place"), bar_chart(counts.by_place)),
                (N_("Seizures by month"), bar_chart(counts.by_month, keep_order=True)),
            ],
            "world": seizure_map(counts.by_place, places.locate),
        },
    )
