"""The console's Inbox page: the read model of ``GET /api/v1/inbox``, with its controls.

Every control is a small form (CSRF-protected by the route table) that
posts one change to ``/console/inbox/{id}`` and comes back to the same
view, state and page, at the same notice. A refused change is shown as
an error page in the person's words; nothing is half-applied.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from aiohttp import web

from baliza.node.console.i18n import N_, Formatter
from baliza.node.console.notice_view import title as notice_title
from baliza.node.console.web import FORMATTER, PREFIX, posted, render
from baliza.node.core.clock import now_ms
from baliza.node.http.appkeys import NODE
from baliza.node.http.routes import SIGNED_IN
from baliza.node.services.inbox import InboxChange, apply_change, colleagues, person_of
from baliza.node.services.rules.inbox import Priority, Status
from baliza.node.services.views.inbox import (
    INBOX_PAGE,
    InboxState,
    InboxView,
    inbox_page,
    inbox_state,
    inbox_view,
)
from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.ids import agency_id, envelope_id

STATUS_WORDS = {
    Status.NEW.value: N_("New"),
    Status.IN_PROGRESS.value: N_("In progress"),
    Status.DONE.value: N_("Done"),
}
PRIORITY_WORDS = {
    Priority.LOW.value: N_("Low"),
    Priority.NORMAL.value: N_("Normal"),
    Priority.HIGH.value: N_("High"),
    Priority.URGENT.value: N_("Urgent"),
}
VIEW_WORDS = {
    InboxView.ALL.value: N_("Everything received"),
    InboxView.MINE.value: N_("Mine"),
    InboxView.UNIT.value: N_("My unit"),
}
STATE_WORDS = {
    InboxState.OPEN.value: N_("Open"),
    InboxState.UNREAD.value: N_("Unread"),
    InboxState.NEW.value: N_("New"),
    InboxState.IN_PROGRESS.value: N_("In progress"),
    InboxState.DONE.value: N_("Done"),
    InboxState.ANY.value: N_("All"),
}
_MAX_PAGE = 10_000


def inbox_detail(action: str, detail: str | None, fmt: Formatter) -> str:
    """What an inbox change set, in the reader's words (a login stays as it is)."""
    words = {"status": STATUS_WORDS, "priority": PRIORITY_WORDS}.get(action, {})
    if detail in words:
        return fmt.gettext(words[detail])
    return detail or ""


def _page_number(raw: str | None) -> int:
    return int(raw) if raw and raw.isascii() and raw.isdigit() and 0 < int(raw) < _MAX_PAGE else 1


def _query(view: InboxView, state: InboxState, page: int) -> str:
    return urlencode({"view": view.value, "state": state.value, "page": page})


async def inbox(request: web.Request) -> web.Response:
    """The person's inbox: pressing alerts first, filters, "N of M", the unit's handover."""
    person = person_of(request[SIGNED_IN].caller)
    view = inbox_view(request.query.get("view"))
    state = inbox_state(request.query.get("state"))
    page = _page_number(request.query.get("page"))
    db = request.app[NODE].db
    now = now_ms()
    shown = await inbox_page(
        db, person, now, view=view, state=state, offset=(page - 1) * INBOX_PAGE
    )
    people = await colleagues(db)
    fmt = request[FORMATTER]
    titles = {}
    for entry in shown.items:
        try:
            body = json.loads(entry.notice.notice_json)
        except ValueError:
            body = {}
        titles[entry.notice.envelope_id] = notice_title(body, fmt, entry.notice.summary)
    me = next((p for p in people if p.id == person.user_id), None)
    return render(
        request,
        "inbox.html",
        {
            "inbox": shown,
            "now": now,
            "titles": titles,
            "people": people,
            "me": me,
            "view": view.value,
            "state": state.value,
            "views": VIEW_WORDS,
            "states": STATE_WORDS,
            "status_words": STATUS_WORDS,
            "priority_words": PRIORITY_WORDS,
            "page": page,
            "pages": max(1, -(-shown.total // shown.limit)),
            "query": lambda p: _query(view, state, p),
        },
    )


def _change_of(form: dict[str, str]) -> InboxChange:
    """The one change a control's form asks for; refused naming the field otherwise."""
    what = form.get("change", "")
    value = form.get("value", "")
    if what == "assign":
        return InboxChange(assignee=value)
    if what == "status":
        return InboxChange(status=value)
    if what == "priority":
        return InboxChange(priority=value)
    if what == "read" and value in ("1", "0"):
        return InboxChange(read=value == "1")
    raise InputError(ReasonCode.BAD_ENUM, "is not a change the inbox offers", path="change")


async def change(request: web.Request) -> web.Response:
    """One control's change; then the same view, state and page, at the same notice."""
    person = person_of(request[SIGNED_IN].caller)
    eid = envelope_id(request.match_info["id"], "id")
    raw = await posted(request)
    form = {k: v for k, v in raw.items() if isinstance(v, str)}
    sender = agency_id(form["sender"], "sender") if form.get("sender") else None
    await apply_change(request.app[NODE].db, person, eid, _change_of(form), now_ms(), sender=sender)
    view = inbox_view(form.get("view"))
    state = inbox_state(form.get("state"))
    back = _query(view, state, _page_number(form.get("page")))
    raise web.HTTPSeeOther(f"{PREFIX}/inbox?{back}#n-{eid}")
