"""A targeting list into alerts: read and review first, then publish the batch at once.

``POST /api/v1/imports/alerts`` reads a CSV or XLSX file and answers the
drafts and every row's error; it stores and sends nothing. ``POST
/api/v1/imports/alerts/publish`` publishes reviewed drafts: every one is
checked before the first is sent, so a batch with a bad draft publishes
nothing and says which.
"""

from __future__ import annotations

import logging

from aiohttp import web

from baliza.node.exchange.manifest import Defaults, batch_of, read_table
from baliza.node.exchange.stix_import import MISSING, draft_alerts
from baliza.node.http.api import published_json
from baliza.node.http.appkeys import NODE
from baliza.node.http.json_body import json_body
from baliza.node.http.routes import Access, Route, caller
from baliza.node.services.publish_batch import batch_requests, publish_batch
from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.notices import Programme

log = logging.getLogger(__name__)
_PARAMS = frozenset({"programme", "origin", "destination", "lang"})


def _defaults(request: web.Request) -> Defaults:
    unknown = sorted(set(request.query) - _PARAMS)
    if unknown:
        raise InputError(ReasonCode.UNKNOWN_FIELD, "is not a known parameter", path=unknown[0])
    programme = request.query.get("programme", "ccp")
    if programme not in {p.value for p in Programme}:
        raise InputError(ReasonCode.BAD_ENUM, "is not a programme", path="programme")
    return Defaults(
        agency=request.app[NODE].agency,
        programme=programme,
        lang=request.query.get("lang", "en"),
        origin=request.query.get("origin"),
        destination=request.query.get("destination"),
    )


async def post_import(request: web.Request) -> web.Response:
    """Read a list into draft alerts and row errors; nothing is stored or sent."""
    defaults = _defaults(request)
    batch = batch_of(read_table(await request.read()), defaults)
    return web.json_response(batch.to_json())


async def post_publish(request: web.Request) -> web.Response:
    """Publish reviewed drafts, each checked before the first is sent."""
    requests = batch_requests(await json_body(request))
    outcome = await publish_batch(
        request.app[NODE], requests, publisher=caller(request).acting_person
    )
    sent = [published_json(p) for p in outcome.published]
    if outcome.error is not None:
        err = outcome.error
        return web.json_response(
            {
                "published": sent,
                "stopped_at": outcome.stopped_at,
                "error": {"reason": err.reason.value, "detail": err.detail, "path": err.path},
            },
            status=207,
        )
    log.info("batch of %d alerts published by %s", len(sent), caller(request).name)
    return web.json_response({"published": sent}, status=201)


async def post_import_stix(request: web.Request) -> web.Response:
    """A STIX bundle into draft alerts to complete; nothing is stored or sent."""
    unknown = sorted(set(request.query) - {"programme"})
    if unknown:
        raise InputError(ReasonCode.UNKNOWN_FIELD, "is not a known parameter", path=unknown[0])
    bundle = await json_body(request)
    drafts = draft_alerts(
        bundle, agency=request.app[NODE].agency, programme=_defaults(request).programme
    )
    return web.json_response({"drafts": drafts, "to_complete": list(MISSING)})


ROUTES = (
    Route(
        "POST",
        "/api/v1/imports/stix",
        post_import_stix,
        Access.PUBLISHER,
        "a STIX bundle into draft alerts to complete",
    ),
    Route(
        "POST",
        "/api/v1/imports/alerts",
        post_import,
        Access.PUBLISHER,
        "read a targeting list into draft alerts",
    ),
    Route(
        "POST",
        "/api/v1/imports/alerts/publish",
        post_publish,
        Access.PUBLISHER,
        "publish reviewed draft alerts",
    ),
)
