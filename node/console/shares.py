"""Sharing from the console: pass a received notice on, and decide partners' requests.

The same services as ``POST /api/v1/notices/{id}/share`` and
``/api/v1/permissions/{id}/grant|refuse`` (``services.sharing``): a share
goes out at once when the handling allows it, or waits for the
originator's permission (H2, or a notice the originator restricted); the
originator's officers see each request on the shares page, counted by a
badge in the menu while it waits, and grant it or refuse it with a reason.
Routes need the publisher role, as the API's do, and the form's CSRF token.
"""

from __future__ import annotations

import json

from aiohttp import web

from baliza.node.console import adapter, notice_view
from baliza.node.console.i18n import N_
from baliza.node.console.reasons import explain
from baliza.node.console.web import FORMATTER, PREFIX, posted, render
from baliza.node.http.appkeys import NODE
from baliza.node.http.routes import caller
from baliza.protocol.errors import BalizaError, InputError, ReasonCode
from baliza.protocol.ids import envelope_id

DECISIONS = ("grant", "refuse")
# A request's states, as the shares page says them.
STATE_WORDS = {
    "pending": N_("Waiting for a decision"),
    "granted": N_("Permission granted"),
    "refused": N_("Permission refused"),
}


async def _form(
    request: web.Request,
    chosen: list[str],
    note: str,
    errors: dict[str, str],
    status: int = 200,
) -> web.Response:
    ctx = request.app[NODE]
    row = await adapter.stored(ctx, request.match_info["id"])
    if row.direction.value != "in":
        raise InputError(
            ReasonCode.INCONSISTENT,
            "only a notice received from another agency is shared; publish your own",
            path="id",
        )
    had = {row.sender, *row.recipients, ctx.agency}
    body = json.loads(row.notice_json)
    return render(
        request,
        "share.html",
        {
            "row": row,
            "title": notice_view.title(body, request[FORMATTER], row.summary),
            "peers": [a for a in adapter.peer_agencies(ctx) if a not in had],
            "lists": {"recipients": chosen},
            "values": {"note": note},
            "errors": errors,
            "required": ("recipients",),
        },
        status=status,
    )


async def share_form(request: web.Request) -> web.Response:
    """Choose whom to pass a received notice on to, with a note for the originator."""
    return await _form(request, [], "", {})


async def share_submit(request: web.Request) -> web.Response:
    """Share now, or ask the originator: to the share's page, or to the shares page."""
    form = await posted(request)
    chosen = [v for v in form.getall("recipients", []) if isinstance(v, str)]
    note = str(form.get("note", "")).strip()
    fmt = request[FORMATTER]
    try:
        outcome = await adapter.share(
            request.app, request.match_info["id"], chosen, note, caller(request).acting_person
        )
    except BalizaError as err:
        field = "recipients" if (err.path or "").startswith("recipients") else "note"
        if err.path in ("id", ""):
            field = "top"
        return await _form(request, chosen, note, {field: explain(err, fmt)}, status=422)
    if outcome.share is not None and outcome.share.id is not None:
        raise web.HTTPSeeOther(f"{PREFIX}/notices/{outcome.share.id}")
    raise web.HTTPSeeOther(f"{PREFIX}/shares?asked={outcome.permission}")


async def shares(request: web.Request) -> web.Response:
    """Requests to pass a notice on: those waiting for this agency, then those it made."""
    ctx = request.app[NODE]
    items = await adapter.permissions(ctx)
    of_us = [p for p in items if p.originator == ctx.agency]
    by_us = [p for p in items if p.requester == ctx.agency]
    of_us.sort(key=lambda p: (p.state != "pending", -p.created_ms))
    by_us.sort(key=lambda p: -p.created_ms)
    return render(
        request,
        "shares.html",
        {
            "of_us": of_us,
            "by_us": by_us,
            "asked": request.query.get("asked", ""),
            "state_words": STATE_WORDS,
        },
    )


async def decide(request: web.Request) -> web.Response:
    """Grant or refuse a partner's request; a refusal says why."""
    decision = request.match_info["decision"]
    if decision not in DECISIONS:
        raise web.HTTPNotFound()
    form = await posted(request)
    reason = str(form.get("reason", "")).strip() or None
    if decision == "refuse" and reason is None:
        raise InputError(ReasonCode.MISSING_FIELD, "say why the share is refused", path="reason")
    pid = str(envelope_id(request.match_info["pid"], "id"))
    await adapter.decide_share(
        request.app, pid, decision == "grant", reason, caller(request).acting_person
    )
    raise web.HTTPSeeOther(f"{PREFIX}/shares")
