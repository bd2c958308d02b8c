"""Export files: the notices a filter selects (STIX 2.1, CSV, XLSX), one notice, the board.

One implementation for the two doors that hand files out — the API
(``GET /api/v1/export/…``, and so ``baliza export``) and the console's
download form — so both apply the same rules: a file says its handling
inside (TLP and handling markings on every object); a TLP:RED notice goes
only when the person asks with ``confirm_red=1``; nominal data only with
``nominal=1``. Each export is logged, and appended to the audit log (an
``export`` leaf binding who asked, which notices and the file's own digest)
before the file is answered.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass

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
from baliza.node.services.audit import record_export
from baliza.node.services.context import NodeContext
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
FLAGS = ("nominal", "confirm_red")
TABLES = ("csv", "xlsx")


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportFile:
    """A file ready to leave: its bytes, name, type, and how many notices matched."""

    body: bytes
    filename: str
    media_type: str
    matched: int | None = None


def export_request(query: Mapping[str, str]) -> ExportRequest:
    """The two choices of an export, each ``1`` or ``0`` (absent: ``0``)."""
    values: dict[str, bool] = {}
    for name in FLAGS:
        raw = query.get(name, "0").strip()
        if raw not in {"0", "1"}:
            raise InputError(ReasonCode.BAD_ENUM, "must be 1 or 0", path=name)
        values[name] = raw == "1"
    return ExportRequest(**values)


def _stix_bytes(body: object) -> bytes:
    return json.dumps(body, ensure_ascii=False, indent=1).encode()


async def _recorded(
    ctx: NodeContext,
    who: str,
    file_format: str,
    body: bytes,
    envelope_ids: list[str],
    choice: ExportRequest,
) -> None:
    """Log the export and append its leaf to the audit log before the file leaves."""
    await record_export(
        ctx.db, actor=who, file_format=file_format, body=body, envelope_ids=envelope_ids
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


async def notice_stix(
    ctx: NodeContext, raw_id: str, query: Mapping[str, str], who: str
) -> ExportFile:
    """One notice as a STIX 2.1 bundle (``sender`` names it among copies of one id)."""
    eid = envelope_id(raw_id, "id")
    unknown = sorted(set(query) - {"sender", *FLAGS})
    if unknown:
        raise InputError(ReasonCode.UNKNOWN_FIELD, "is not a known parameter", path=unknown[0])
    sender = query.get("sender")
    choice = export_request(query)
    row = await stored_notice(ctx, eid, None if sender is None else agency_id(sender, "sender"))
    export_allowed(row, choice)
    body = _stix_bytes(bundle([exported(row)], nominal=choice.nominal))
    await _recorded(ctx, who, "stix", body, [row.envelope_id], choice)
    return ExportFile(body=body, filename=f"baliza-{eid}.stix.json", media_type=MEDIA_TYPE)


def _limit(query: Mapping[str, str]) -> int:
    raw = query.get("limit", "1000")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_EXPORT:
        raise InputError(ReasonCode.OUT_OF_RANGE, f"must be 1 to {MAX_EXPORT}", path="limit")
    return int(raw)


async def _selection(ctx: NodeContext, query: Mapping[str, str]) -> tuple[Selection, ExportRequest]:
    where = parse_filters(query, "export")
    choice = export_request(query)
    return await select_for_export(ctx, where, choice, limit=_limit(query)), choice


def _table_bytes(table: Table, extension: str) -> tuple[bytes, str]:
    if extension == "csv":
        return to_csv(table), CSV_MEDIA_TYPE
    return to_xlsx(table), XLSX_MEDIA_TYPE


async def notices_file(
    ctx: NodeContext, query: Mapping[str, str], extension: str, who: str
) -> ExportFile:
    """The notices the feed's filters select: a STIX 2.1 bundle (``stix``), or CSV or XLSX."""
    chosen, choice = await _selection(ctx, query)
    stamp = timestamp(now_ms())[:10]
    ids = [r.envelope_id for r in chosen.rows]
    if extension == "stix":
        body = _stix_bytes(bundle([exported(row) for row in chosen.rows], nominal=choice.nominal))
        await _recorded(ctx, who, "stix", body, ids, choice)
        return ExportFile(
            body=body,
            filename=f"baliza-export-{stamp}.stix.json",
            media_type=MEDIA_TYPE,
            matched=chosen.total,
        )
    rows = [
        notice_row(row, handling_json(row.handling_json), nominal=choice.nominal)
        for row in chosen.rows
    ]
    table = Table("Notices", NOTICE_COLUMNS, rows, strictest(r.tlp for r in chosen.rows))
    body, media = _table_bytes(table, extension)
    await _recorded(ctx, who, extension, body, ids, choice)
    return ExportFile(
        body=body,
        filename=table.file_name(f"baliza-notices-{stamp}", extension),
        media_type=media,
        matched=chosen.total,
    )


async def alerts_file(
    ctx: NodeContext, query: Mapping[str, str], extension: str, who: str
) -> ExportFile:
    """The alert board (every alert in ``state``, by expected arrival) as CSV or XLSX."""
    unknown = sorted(set(query) - {"state", "confirm_red"})
    if unknown:
        raise InputError(ReasonCode.UNKNOWN_FIELD, "is not a known filter", path=unknown[0])
    choice = export_request(query)
    now, state = now_ms(), board_state(query.get("state"))
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
    body, media = _table_bytes(table, extension)
    await _recorded(ctx, who, extension, body, [row.alert.envelope_id for row in items], choice)
    return ExportFile(
        body=body,
        filename=table.file_name(f"baliza-alerts-{stamp}", extension),
        media_type=media,
        matched=total,
    )
