"""The Watching page: a person's watch-list, its recent matches, notifications and e-mail.

The same use cases as ``/api/v1/watch`` and ``/api/v1/notifications``
(``services.watch``), on the signed-in person's own entries. The menu's
badge and the page title's count are filled by console.js from
``notifications.json`` when the page loads and whenever the live stream
announces a notice, which also raises the browser's own notification
(the Notification API) when the person allowed it.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from baliza.node.console.i18n import N_, Formatter
from baliza.node.console.web import FORMATTER, posted, render
from baliza.node.core.clock import now_ms
from baliza.node.http.appkeys import NODE
from baliza.node.http.routes import caller
from baliza.node.services import watch
from baliza.node.services.rules.notify import MODES, WATCH_KINDS
from baliza.node.services.watch import Notification
from baliza.protocol.errors import BalizaError

PAGE: Final = "/console/watching"
RECENT: Final = 50

# What a person may watch, as the form's choices say it.
WHAT_WORDS: Final = {
    "container": N_("Container"),
    "vessel": N_("Vessel"),
    "imo": N_("IMO number"),
    "flight": N_("Flight"),
    "awb": N_("Air waybill"),
    "company": N_("Company"),
    "person": N_("Person"),
    "document": N_("Document"),
    "filter": N_("Saved filter"),
    "all": N_("Every notice to my agency"),
}
CAUSE_WORDS: Final = {
    "watch": N_("Matches your watch-list"),
    "hit": N_("Hit on a notice you published"),
    "overdue": N_("Alert about to fall overdue"),
    "permission": N_("Share request waiting"),
}
MODE_WORDS: Final = {
    "off": N_("No e-mail"),
    "immediate": N_("One e-mail per notification"),
    "digest": N_("A digest every period"),
}


def summary(note: Notification, fmt: Formatter) -> str:
    """A notification in one line: kind, place, handling, and why."""
    place = note.location or fmt.gettext("no place given")
    return (
        f"{fmt.gettext(note.kind)} · {place} · TLP:{note.tlp.upper()} — "
        f"{fmt.gettext(CAUSE_WORDS.get(note.cause, note.cause))}"
    )


async def _page(
    request: web.Request, errors: dict[str, str], values: dict[str, str], status: int = 200
) -> web.Response:
    db = request.app[NODE].db
    owner = watch.owner_of(caller(request))
    entries = await watch.list_watches(db, owner)
    inbox = await watch.notifications(db, owner, limit=RECENT)
    prefs = await watch.get_prefs(db, owner)
    matches: dict[str, list[Notification]] = {}
    for note in inbox.items:
        if note.watch_id is not None:
            matches.setdefault(note.watch_id, []).append(note)
    return render(
        request,
        "watching.html",
        {
            "entries": entries,
            "inbox": inbox,
            "matches": matches,
            "prefs": prefs,
            "summary": lambda n: summary(n, request[FORMATTER]),
            "what_words": WHAT_WORDS,
            "whats": WATCH_KINDS,
            "modes": MODES,
            "mode_words": MODE_WORDS,
            "errors": errors,
            "values": values,
            "relay": bool(request.app[NODE].config.smtp.get("host")),
        },
        status=status,
    )


async def page(request: web.Request) -> web.Response:
    """The person's watch-list, recent matches and notifications, with the forms."""
    return await _page(request, {}, {})


async def add(request: web.Request) -> web.Response:
    """Add a watch entry from the form; a refusal shows the form again, naming the field."""
    form = await posted(request)
    what, value = str(form.get("what", "")), str(form.get("value", ""))
    try:
        await watch.add_watch(
            request.app[NODE].db, watch.owner_of(caller(request)), what, value, now_ms()
        )
    except BalizaError as err:
        message = f"{err.path}: {err.detail}" if err.path else err.detail
        return await _page(request, {"value": message}, {"what": what, "value": value}, 400)
    raise web.HTTPSeeOther(PAGE)


async def remove(request: web.Request) -> web.Response:
    """Remove one of the person's entries (another's is not found)."""
    await posted(request)
    owner = watch.owner_of(caller(request))
    await watch.remove_watch(request.app[NODE].db, owner, request.match_info["id"])
    raise web.HTTPSeeOther(PAGE)


async def mark_read(request: web.Request) -> web.Response:
    """Mark every notification of the person read."""
    await posted(request)
    await watch.mark_read(request.app[NODE].db, watch.owner_of(caller(request)), None, now_ms())
    raise web.HTTPSeeOther(PAGE)


async def mail(request: web.Request) -> web.Response:
    """Save where and how often the person's e-mail goes."""
    form = await posted(request)
    email, mode = str(form.get("email", "")), str(form.get("mode", "off"))
    raw = str(form.get("digest_minutes", "60")).strip()
    values = {"email": email, "mode": mode, "digest_minutes": raw}
    try:
        minutes = int(raw) if raw.isdigit() else -1
        prefs = watch.checked_prefs(watch.owner_of(caller(request)), email, mode, minutes)
        await watch.set_prefs(request.app[NODE].db, prefs, now_ms())
    except BalizaError as err:
        return await _page(request, {err.path or "email": err.detail}, values, 400)
    raise web.HTTPSeeOther(PAGE)


async def counts(request: web.Request) -> web.Response:
    """The badge's JSON: unread count and the newest unread, said in the person's language."""
    fmt = request[FORMATTER]
    db = request.app[NODE].db
    inbox = await watch.notifications(db, watch.owner_of(caller(request)), limit=10, unread=True)
    items: list[dict[str, Any]] = [
        {
            "seq": n.seq,
            "text": summary(n, fmt),
            "url": "/console/shares"
            if n.cause == "permission"
            else f"/console/notices/{n.subject}",
        }
        for n in inbox.items
    ]
    return web.json_response(
        {
            "unread": inbox.unread,
            "items": items,
            "after": inbox.newest_seq,
            "title": fmt.gettext("Baliza notification"),
        }
    )
