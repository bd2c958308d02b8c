"""STIX 2.1 exports in the agency API: one notice, or a list by the feed's filters.

A file that leaves Baliza says its handling inside (TLP and handling
markings on every object); a TLP:RED notice goes only when the person asks
with ``confirm_red=1``; nominal data only with ``nominal=1``. Each export is
logged with who asked (the token's name), how many notices and whether RED
or nominal data went.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from aiohttp import web

from baliza.node.core.clock import now_ms
from baliza.node.exchange.stix import MEDIA_TYPE, bundle, timestamp
from baliza.node.http.appkeys import NODE
from baliza.node.http.routes import Access, Route, caller
from baliza.node.services.filters import parse_filters
from baliza.node.services.views.exports import (
    ExportRequest,
    export_allowed,
    exported,
    notices_for_export,
)
from baliza.node.services.views.feed import stored_notice
from baliza.node.storage.notices import MAX_PAGE
from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.ids import agency_id, envelope_id

log = logging.getLogger(__name__)
_FLAGS = ("nominal", "confirm_red")


def export_request(query: Mapping[str, str]) -> ExportRequest:
    """The two choices of an export, each ``1`` or ``0`` (absent: ``0``)."""
    values: dict[str, bool] = {}
    for name in _FLAGS:
        raw = query.get(name, "0").strip()
        if raw not in {"0", "1"}:
            raise InputError(ReasonCode.BAD_ENUM, "must be 1 or 0", path=name)
        values[name] = raw == "1"
    return ExportRequest(**values)


def _file(body: object, name: str) -> web.Response:
    return web.Response(
        body=json.dumps(body, ensure_ascii=False, indent=1).encode(),
        headers={
            "Content-Type": MEDIA_TYPE,
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )


def _logged(request: web.Request, what: str, count: int, choice: ExportRequest) -> None:
    log.info(
        "STIX export by %s: %s",
        caller(request).name,
        what,
        extra={
            "event": "export",
            "format": "stix",
            "by": caller(request).name,
            "notices": count,
            "nominal": choice.nominal,
            "confirm_red": choice.confirm_red,
        },
    )


async def get_notice_stix(request: web.Request) -> web.Response:
    """One notice as a STIX 2.1 bundle."""
    eid = envelope_id(request.match_info["id"], "id")
    unknown = sorted(set(request.query) - {"sender", *_FLAGS})
    if unknown:
        raise InputError(ReasonCode.UNKNOWN_FIELD, "is not a known parameter", path=unknown[0])
    sender = request.query.get("sender")
    choice = export_request(request.query)
    row = await stored_notice(
        request.app[NODE], eid, None if sender is None else agency_id(sender, "sender")
    )
    export_allowed(row, choice)
    _logged(request, eid, 1, choice)
    return _file(bundle([exported(row)], nominal=choice.nominal), f"baliza-{eid}.stix.json")


async def get_export_stix(request: web.Request) -> web.Response:
    """The latest notices matching the feed's filters as one STIX 2.1 bundle."""
    where = parse_filters(request.query, "export")
    choice = export_request(request.query)
    raw_limit = request.query.get("limit", "50")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_PAGE:
        raise InputError(ReasonCode.OUT_OF_RANGE, f"must be 1 to {MAX_PAGE}", path="limit")
    items = await notices_for_export(request.app[NODE], where, choice, limit=int(raw_limit))
    _logged(request, f"{len(items)} notices", len(items), choice)
    stamp = timestamp(now_ms())[:10]
    return _file(bundle(items, nominal=choice.nominal), f"baliza-export-{stamp}.stix.json")


ROUTES = (
    Route(
        "GET", "/api/v1/notices/{id}/stix", get_notice_stix, Access.ANALYST, "a notice as STIX 2.1"
    ),
    Route("GET", "/api/v1/export/stix", get_export_stix, Access.ANALYST, "notices as STIX 2.1"),
)
