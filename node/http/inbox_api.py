"""``/api/v1/inbox``: a person's inbox over the API, the console's own read model.

The inbox is kept per person and a bearer token is no person, so these
routes need an administrator's token and name the person they act for
(``user``, a login): what an operator's ``baliza inbox --user`` does. The
changes are recorded as that person's, like the console's.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from baliza.node.core.clock import now_ms
from baliza.node.http.appkeys import NODE
from baliza.node.http.json_body import json_object
from baliza.node.http.routes import Access, Route, caller
from baliza.node.services.inbox import InboxChange, acting_for, apply_change
from baliza.node.services.rules.inbox import Priority, Status
from baliza.node.services.views.inbox import (
    INBOX_PAGE,
    MAX_INBOX_PAGE,
    InboxState,
    InboxView,
    inbox_page,
    inbox_state,
    inbox_view,
)
from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.ids import agency_id, envelope_id

_QUERY = frozenset({"user", "view", "state", "offset", "limit"})
_CHANGES = {"assignee": str, "status": str, "priority": str, "read": bool}


def _count(request: web.Request, name: str, default: int, top: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) > top:
        raise InputError(ReasonCode.OUT_OF_RANGE, f"must be an integer in [0, {top}]", path=name)
    return int(raw)


async def get_inbox(request: web.Request) -> web.Response:
    """One page of a person's inbox: pressing alerts first, "N of M", the unit's handover."""
    unknown = sorted(set(request.query) - _QUERY)
    if unknown:
        raise InputError(ReasonCode.UNKNOWN_FIELD, "is not a known parameter", path=unknown[0])
    ctx = request.app[NODE]
    person = await acting_for(ctx.db, caller(request), request.query.get("user"))
    page = await inbox_page(
        ctx.db,
        person,
        now_ms(),
        view=inbox_view(request.query.get("view")),
        state=inbox_state(request.query.get("state")),
        offset=_count(request, "offset", 0, 2**31),
        limit=_count(request, "limit", INBOX_PAGE, MAX_INBOX_PAGE),
    )
    return web.json_response(page.to_json())


def _change_of(body: dict[str, Any]) -> InboxChange:
    for name, value in body.items():
        if name == "user":
            continue
        if name not in _CHANGES:
            raise InputError(ReasonCode.UNKNOWN_FIELD, "is not something to change", path=name)
        if not isinstance(value, _CHANGES[name]):
            kind = "true or false" if _CHANGES[name] is bool else "a string"
            raise InputError(ReasonCode.WRONG_TYPE, f"must be {kind}", path=name)
    return InboxChange(
        assignee=body.get("assignee"),
        status=body.get("status"),
        priority=body.get("priority"),
        read=body.get("read"),
    )


async def post_inbox_change(request: web.Request) -> web.Response:
    """Assign, release, set status or priority, or mark read; recorded as the person's act."""
    eid = envelope_id(request.match_info["id"], "id")
    unknown = sorted(set(request.query) - {"sender"})
    if unknown:
        raise InputError(ReasonCode.UNKNOWN_FIELD, "is not a known parameter", path=unknown[0])
    raw_sender = request.query.get("sender")
    sender = None if raw_sender is None else agency_id(raw_sender, "sender")
    body = await json_object(request)
    user = body.get("user")
    if user is not None and not isinstance(user, str):
        raise InputError(ReasonCode.WRONG_TYPE, "must be a login", path="user")
    change = _change_of(body)
    ctx = request.app[NODE]
    person = await acting_for(ctx.db, caller(request), user)
    changed = await apply_change(ctx.db, person, eid, change, now_ms(), sender=sender)
    return web.json_response(
        {
            "id": changed.id,
            "sender": changed.sender,
            "status": changed.status.value,
            "priority": changed.priority.value,
            "assignee": changed.assignee,
            "read": changed.read,
            "recorded": list(changed.recorded),
        }
    )


ROUTES = (
    Route("GET", "/api/v1/inbox", get_inbox, Access.ADMIN, "a person's inbox"),
    Route("POST", "/api/v1/inbox/{id}", post_inbox_change, Access.ADMIN, "change a notice's state"),
)


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def openapi_paths(errors: dict[str, Any], id_param: dict[str, Any], sender: dict[str, Any]) -> Any:
    """The inbox's part of the OpenAPI document (``errors``: the shared error answers)."""
    user = _query("user", {"type": "string", "minLength": 2, "maxLength": 64}, "the person (login)")
    user["required"] = True
    return {
        "/api/v1/inbox": {
            "get": {
                "summary": "A person's inbox (admin token acting for `user`): received notices, "
                "unanswered alerts due within two hours or overdue first, then priority, "
                "status, newest; one page with the total, and the unit's handover",
                "parameters": [
                    user,
                    _query(
                        "view",
                        {"type": "string", "enum": [v.value for v in InboxView]},
                        "all received, mine (held by the person), unit (the unit's queue)",
                    ),
                    _query(
                        "state",
                        {"type": "string", "enum": [s.value for s in InboxState]},
                        "open (not done; default), unread (open, not seen by the person), "
                        "new, in_progress, done, any",
                    ),
                    _query(
                        "offset",
                        {"type": "integer", "minimum": 0, "default": 0},
                        "skip this many notices of the ordered inbox",
                    ),
                    _query(
                        "limit",
                        {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_INBOX_PAGE,
                            "default": INBOX_PAGE,
                        },
                        "at most this many notices in the page",
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "items (id, sender, kind, summary, status, priority, "
                        "assignee, read, expected_ms, alert_state, pressing), total, offset, "
                        "limit, view, state, counts per state, unread, unit, handover, complete"
                    },
                    **errors,
                },
            }
        },
        "/api/v1/inbox/{id}": {
            "post": {
                "summary": "Change a received notice's state for a person (admin token): "
                '{user, assignee (a login; "" releases), status, priority, read}; '
                "refusals name the field (an unknown or disabled assignee, a step not "
                "allowed, a colleague's notice and an analyst); each change is recorded "
                "as the person's action",
                "parameters": [id_param, sender],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["user"],
                                "additionalProperties": False,
                                "properties": {
                                    "user": {"type": "string"},
                                    "assignee": {"type": "string"},
                                    "status": {
                                        "type": "string",
                                        "enum": [s.value for s in Status],
                                    },
                                    "priority": {
                                        "type": "string",
                                        "enum": [p.value for p in Priority],
                                    },
                                    "read": {"type": "boolean"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "id, sender, status, priority, assignee, read, "
                        "recorded (the person's actions written)"
                    },
                    **errors,
                },
            }
        },
    }
