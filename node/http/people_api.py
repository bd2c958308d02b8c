"""Who in this agency did what: the per-person record, exported for an inquiry (admin only).

``GET /api/v1/people/actions`` answers the actions ``services.person_actions``
recorded (read, published, shared, granted, admitted, refused, assigned),
oldest first, narrowed by ``user`` (a login) and ``since`` (ISO 8601 or
Unix ms); ``format=csv`` answers the same rows as a CSV file, as
``baliza users actions --csv`` prints them. The export itself is logged,
naming who asked.
"""

from __future__ import annotations

import logging

from aiohttp import web

from baliza.node.http.appkeys import NODE
from baliza.node.http.routes import Access, Route, caller
from baliza.node.services.person_actions import (
    ACTION_COLUMNS,
    action_filter,
    action_rows,
    actions,
    actions_csv,
)
from baliza.protocol.errors import InputError, ReasonCode

log = logging.getLogger(__name__)


async def get_actions(request: web.Request) -> web.Response:
    """People's recorded actions, as JSON or (``format=csv``) as a CSV file."""
    wanted = action_filter(request.query.get("user"), request.query.get("since"))
    form = request.query.get("format", "json")
    if form not in ("json", "csv"):
        raise InputError(ReasonCode.BAD_ENUM, "must be json or csv", path="format")
    found = await actions(request.app[NODE].db, wanted)
    log.info(
        "people's actions exported by %s: %d rows (user %s, since %d)",
        caller(request).name,
        len(found),
        wanted.login or "any",
        wanted.since_ms,
        extra={"rows": len(found)},
    )
    if form == "csv":
        return web.Response(
            text=actions_csv(found),
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": 'attachment; filename="people-actions.csv"'},
        )
    return web.json_response(
        {"actions": [dict(zip(ACTION_COLUMNS, row, strict=True)) for row in action_rows(found)]}
    )


ROUTES = (
    Route(
        "GET",
        "/api/v1/people/actions",
        get_actions,
        Access.ADMIN,
        "who in this agency did what, for an inquiry",
    ),
)
