"""Local API for a caller's own watch-list and notifications.

Every route works on the caller's own entries only (``services.watch``
names the owner in every statement): another token's or person's watch
entry or notification is ``not_found``, as if it did not exist.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from baliza.node.core.clock import now_ms
from baliza.node.http.appkeys import NODE
from baliza.node.http.json_body import json_body
from baliza.node.http.routes import Access, Route, caller
from baliza.node.services import watch
from baliza.node.services.watch import Notification, NotifyPrefs, WatchEntry
from baliza.protocol.errors import InputError, ReasonCode

MAX_MARK = 200


def watch_json(entry: WatchEntry) -> dict[str, Any]:
    """A watch entry as the API shows it."""
    return {
        "id": entry.id,
        "what": entry.what,
        "value": entry.value,
        "query": entry.query,
        "created_ms": entry.created_ms,
    }


def notification_json(note: Notification) -> dict[str, Any]:
    """A notification as the API shows it: the notice's envelope facts, never its content."""
    return {
        "seq": note.seq,
        "cause": note.cause,
        "subject": note.subject,
        "watch_id": note.watch_id,
        "kind": note.kind,
        "location": note.location,
        "tlp": note.tlp,
        "created_ms": note.created_ms,
        "read_ms": note.read_ms,
    }


def _text(body: Any, name: str, *, required: bool = True) -> str:
    value = body.get(name, "") if isinstance(body, dict) else None
    if value is None or not isinstance(value, str):
        raise InputError(ReasonCode.WRONG_TYPE, "must be a string", path=name)
    if required and not value.strip():
        raise InputError(ReasonCode.MISSING_FIELD, "is required", path=name)
    return value


async def list_watch(request: web.Request) -> web.Response:
    """The caller's watch entries, oldest first."""
    entries = await watch.list_watches(request.app[NODE].db, watch.owner_of(caller(request)))
    return web.json_response({"items": [watch_json(e) for e in entries]})


async def add_watch(request: web.Request) -> web.Response:
    """Follow an identifier (``what``: container, vessel, imo, flight, awb, company, person,
    document), a saved filter (``filter``, the API's query string) or ``all``."""
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InputError(ReasonCode.WRONG_TYPE, "the body must be a JSON object")
    entry = await watch.add_watch(
        request.app[NODE].db,
        watch.owner_of(caller(request)),
        _text(body, "what"),
        _text(body, "value", required=False),
        now_ms(),
    )
    return web.json_response(watch_json(entry), status=201)


async def delete_watch(request: web.Request) -> web.Response:
    """Stop following one of the caller's entries; another's is ``not_found``."""
    owner = watch.owner_of(caller(request))
    await watch.remove_watch(request.app[NODE].db, owner, request.match_info["id"])
    return web.json_response({"removed": request.match_info["id"]})


async def list_notifications(request: web.Request) -> web.Response:
    """The caller's newest notifications (``unread=1``: only unread), and the unread count."""
    raw_limit = request.query.get("limit", "50")
    if not raw_limit.isdigit():
        raise InputError(ReasonCode.BAD_FORMAT, "must be an integer", path="limit")
    unread = request.query.get("unread", "0")
    if unread not in ("0", "1"):
        raise InputError(ReasonCode.BAD_ENUM, "must be 0 or 1", path="unread")
    inbox = await watch.notifications(
        request.app[NODE].db,
        watch.owner_of(caller(request)),
        limit=int(raw_limit),
        unread=unread == "1",
    )
    return web.json_response(
        {"items": [notification_json(n) for n in inbox.items], "unread": inbox.unread}
    )


async def mark_notifications(request: web.Request) -> web.Response:
    """Mark notifications read: ``{"seqs": [..]}``, or ``{"all": true}``; the caller's only."""
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InputError(ReasonCode.WRONG_TYPE, "the body must be a JSON object")
    seqs: list[int] | None
    if body.get("all") is True:
        seqs = None
    else:
        raw = body.get("seqs")
        if not isinstance(raw, list) or not all(
            isinstance(s, int) and not isinstance(s, bool) for s in raw
        ):
            raise InputError(ReasonCode.WRONG_TYPE, "must be a list of integers", path="seqs")
        if len(raw) > MAX_MARK:
            raise InputError(ReasonCode.TOO_LARGE, f"at most {MAX_MARK} at once", path="seqs")
        seqs = raw
    owner = watch.owner_of(caller(request))
    marked = await watch.mark_read(request.app[NODE].db, owner, seqs, now_ms())
    return web.json_response({"marked": marked})


def prefs_json(prefs: NotifyPrefs) -> dict[str, Any]:
    """E-mail settings as the API shows them."""
    return {"email": prefs.email, "mode": prefs.mode, "digest_minutes": prefs.digest_ms // 60_000}


async def get_settings(request: web.Request) -> web.Response:
    """The caller's e-mail settings: address, mode (off, immediate, digest), digest period."""
    prefs = await watch.get_prefs(request.app[NODE].db, watch.owner_of(caller(request)))
    return web.json_response(prefs_json(prefs))


async def put_settings(request: web.Request) -> web.Response:
    """Change the caller's e-mail settings: ``{email, mode, digest_minutes}``."""
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InputError(ReasonCode.WRONG_TYPE, "the body must be a JSON object")
    minutes = body.get("digest_minutes", 60)
    if not isinstance(minutes, int) or isinstance(minutes, bool):
        raise InputError(ReasonCode.WRONG_TYPE, "must be an integer", path="digest_minutes")
    prefs = watch.checked_prefs(
        watch.owner_of(caller(request)),
        _text(body, "email", required=False),
        _text(body, "mode"),
        minutes,
    )
    await watch.set_prefs(request.app[NODE].db, prefs, now_ms())
    return web.json_response(prefs_json(prefs))


ROUTES = (
    Route("GET", "/api/v1/watch", list_watch, Access.ANALYST),
    Route("POST", "/api/v1/watch", add_watch, Access.ANALYST),
    Route("DELETE", "/api/v1/watch/{id}", delete_watch, Access.ANALYST),
    Route("GET", "/api/v1/notifications", list_notifications, Access.ANALYST),
    Route("POST", "/api/v1/notifications/read", mark_notifications, Access.ANALYST),
    Route("GET", "/api/v1/notifications/settings", get_settings, Access.ANALYST),
    Route("PUT", "/api/v1/notifications/settings", put_settings, Access.ANALYST),
)
