"""STIX 2.1 exports in the agency API: one notice, or a list by the feed's filters.

A file that leaves Baliza says its handling inside (TLP and handling
markings on every object); a TLP:RED notice goes only when the person asks
with ``confirm_red=1``; nominal data only with ``nominal=1``. Each export is
logged, and appended to the audit log (an ``export`` leaf binding who asked,
which notices and the file's own digest) before the file is answered.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from aiohttp import web

from baliza.node.core.clock import now_ms
from baliza.node.exchange.stix import MEDIA_TYPE, bundle, timestamp
from baliza.node.exchange.tables import (
    ALERT_COLUMNS,
    CSV_MEDIA_TYPE,
    NOTICE_COLUMNS,
    XLSX_MEDIA_TYPE,
    Table,
    alert_row,
    notice_row,
    strictest,
    to_csv,
    to_xlsx,
)
from baliza.node.http.appkeys import NODE
from baliza.node.http.routes import Access, Route, caller
from baliza.node.services.audit import record_export
from baliza.node.services.filters import parse_filters
from baliza.node.services.index import handling_json
from baliza.node.services.views import alert_board, board_state
from baliza.node.services.views.board import MAX_BOARD_PAGE, AlertRow
from baliza.node.services.views.exports import (
    MAX_EXPORT,
    ExportRequest,
    Selection,
    export_allowed,
    exported,
    select_for_export,
)
from baliza.node.services.views.feed import stored_notice
from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.ids import agency_id, envelope_id

log = logging.getLogger(__name__)
MAX_BOARD_EXPORT = 5000  # alerts in one file
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


def _stix_bytes(body: object) -> bytes:
    return json.dumps(body, ensure_ascii=False, indent=1).encode()


def _file(body: bytes, name: str, media_type: str) -> web.Response:
    return web.Response(
        body=body,
        headers={
            "Content-Type": media_type,
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )


async def _recorded(
    request: web.Request,
    file_format: str,
    body: bytes,
    envelope_ids: list[str],
    choice: ExportRequest,
) -> None:
    """Log the export and append its leaf to the audit log before the file leaves."""
    who = caller(request).name
    await record_export(
        request.app[NODE].db,
        actor=who,
        file_format=file_format,
        body=body,
        envelope_ids=envelope_ids,
    )
    log.info(
        "export by %s: %d notices as %s",
        who,
        len(envelope_ids),
        file_format,
        extra={
            "event": "export",
            "format": file_format,
            "by": who,
            "notices": len(envelope_ids),
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
    body = _stix_bytes(bundle([exported(row)], nominal=choice.nominal))
    await _recorded(request, "stix", body, [row.envelope_id], choice)
    return _file(body, f"baliza-{eid}.stix.json", MEDIA_TYPE)


def _limit(query: Mapping[str, str]) -> int:
    raw = query.get("limit", "1000")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_EXPORT:
        raise InputError(ReasonCode.OUT_OF_RANGE, f"must be 1 to {MAX_EXPORT}", path="limit")
    return int(raw)


def _count_header(chosen: Selection) -> dict[str, str]:
    """``X-Baliza-Matched``: how many matched; the file holds the first ``limit``."""
    return {"X-Baliza-Matched": str(chosen.total)}


async def _selection(request: web.Request) -> tuple[Selection, ExportRequest]:
    where = parse_filters(request.query, "export")
    choice = export_request(request.query)
    chosen = await select_for_export(request.app[NODE], where, choice, limit=_limit(request.query))
    return chosen, choice


async def get_export_stix(request: web.Request) -> web.Response:
    """The notices matching the feed's filters (oldest first) as one STIX 2.1 bundle."""
    chosen, choice = await _selection(request)
    stamp = timestamp(now_ms())[:10]
    body = _stix_bytes(bundle([exported(row) for row in chosen.rows], nominal=choice.nominal))
    await _recorded(request, "stix", body, [r.envelope_id for r in chosen.rows], choice)
    response = _file(body, f"baliza-export-{stamp}.stix.json", MEDIA_TYPE)
    response.headers.update(_count_header(chosen))
    return response


def _notice_table(chosen: Selection, choice: ExportRequest) -> Table:
    rows = [
        notice_row(row, handling_json(row.handling_json), nominal=choice.nominal)
        for row in chosen.rows
    ]
    return Table("Notices", NOTICE_COLUMNS, rows, strictest(r.tlp for r in chosen.rows))


async def _table_file(
    request: web.Request,
    table: Table,
    stem: str,
    extension: str,
    envelope_ids: list[str],
    choice: ExportRequest,
) -> web.Response:
    if extension == "csv":
        body, media = to_csv(table), CSV_MEDIA_TYPE
    else:
        body, media = to_xlsx(table), XLSX_MEDIA_TYPE
    await _recorded(request, extension, body, envelope_ids, choice)
    return _file(body, table.file_name(stem, extension), media)


async def get_export_table(request: web.Request) -> web.Response:
    """The notices matching the feed's filters as CSV or XLSX, one row each."""
    extension = request.path.rsplit(".", 1)[1]
    chosen, choice = await _selection(request)
    stamp = timestamp(now_ms())[:10]
    response = await _table_file(
        request,
        _notice_table(chosen, choice),
        f"baliza-notices-{stamp}",
        extension,
        [r.envelope_id for r in chosen.rows],
        choice,
    )
    response.headers.update(_count_header(chosen))
    return response


async def get_export_alerts(request: web.Request) -> web.Response:
    """The alert board (every alert in ``state``, by expected arrival) as CSV or XLSX."""
    extension = request.path.rsplit(".", 1)[1]
    unknown = sorted(set(request.query) - {"state", "confirm_red"})
    if unknown:
        raise InputError(ReasonCode.UNKNOWN_FIELD, "is not a known filter", path=unknown[0])
    choice = export_request(request.query)
    ctx, now, state = request.app[NODE], now_ms(), board_state(request.query.get("state"))
    items: list[AlertRow] = []
    total = 0
    while len(items) < MAX_BOARD_EXPORT:
        board = await alert_board(ctx, now, state=state, offset=len(items), limit=MAX_BOARD_PAGE)
        items += board.items
        total = board.total
        if not board.items or len(items) >= total:
            break
    for row in items:
        export_allowed(row.alert, choice)
    rows = [alert_row(row.to_json(), row.alert.tlp) for row in items]
    table = Table("Alerts", ALERT_COLUMNS, rows, strictest(r.alert.tlp for r in items))
    stamp = timestamp(now_ms())[:10]
    ids = [row.alert.envelope_id for row in items]
    response = await _table_file(request, table, f"baliza-alerts-{stamp}", extension, ids, choice)
    response.headers["X-Baliza-Matched"] = str(total)
    return response


ROUTES = (
    Route(
        "GET", "/api/v1/notices/{id}/stix", get_notice_stix, Access.ANALYST, "a notice as STIX 2.1"
    ),
    Route("GET", "/api/v1/export/stix", get_export_stix, Access.ANALYST, "notices as STIX 2.1"),
    *(
        Route(
            "GET",
            f"/api/v1/export/notices.{extension}",
            get_export_table,
            Access.ANALYST,
            f"notices as {extension.upper()}",
        )
        for extension in ("csv", "xlsx")
    ),
    *(
        Route(
            "GET",
            f"/api/v1/export/alerts.{extension}",
            get_export_alerts,
            Access.ANALYST,
            f"the alert board as {extension.upper()}",
        )
        for extension in ("csv", "xlsx")
    ),
)
