"""Notices and alerts as spreadsheet rows: CSV and XLSX files an analyst opens.

Each row says its own handling (TLP, codes, restrictions), and the file's
name says the most restrictive TLP in it, so a file found on a shared drive
still says how it may be handled. Nominal references (persons, companies,
documents) are in a row only when the export asked for them.

A cell a spreadsheet would run is written as text: CSV cells that begin
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return get a leading
apostrophe (OWASP's advice on CSV injection), and every XLSX cell is typed
as a string, so a sender's ``restrictions`` of ``=HYPERLINK(…)`` is shown,
never followed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING
from openpyxl.styles import Font

from baliza.node.exchange.stix import timestamp
from baliza.protocol.handling import Tlp
from baliza.protocol.notices.refs import HIT_TYPES

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NOMINAL_TYPES = frozenset({"person", "company", "document"})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_TLP_ORDER = [Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED]

NOTICE_COLUMNS = (
    "id",
    "direction",
    "kind",
    "sender",
    "recipients",
    "created",
    "stored",
    "programme",
    "tlp",
    "handling codes",
    "restrictions",
    "location",
    "summary",
    "identifiers",
    "places and goods",
    "supersedes",
    "shares",
)
ALERT_COLUMNS = (
    "id",
    "direction",
    "sender",
    "recipients",
    "summary",
    "expected",
    "state",
    "outcome",
    "outcome at",
    "seizure",
    "tlp",
)


@dataclass(frozen=True, slots=True)
class Table:
    """A sheet: its title, the column names, the rows, and the most restrictive TLP in it."""

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[str]]
    tlp: Tlp

    def file_name(self, stem: str, extension: str) -> str:
        """``stem-TLP-AMBER.csv``: the handling is in the name, too."""
        label = self.tlp.value.upper().replace("+", "-")
        return f"{stem}-TLP-{label}.{extension}"


def strictest(labels: Iterable[str]) -> Tlp:
    """The most restrictive TLP among ``labels`` (CLEAR when there are none)."""
    found = [Tlp(label) for label in labels]
    return max(found, key=_TLP_ORDER.index, default=Tlp.CLEAR)


def _refs(refs: Iterable[tuple[str, str]], *, hits: bool, nominal: bool) -> str:
    chosen = [
        f"{kind}:{value}"
        for kind, value in refs
        if (kind in HIT_TYPES) == hits and (nominal or kind not in NOMINAL_TYPES)
    ]
    return "; ".join(chosen)


def notice_row(row: Any, handling: dict[str, Any], *, nominal: bool) -> list[str]:
    """One stored notice (``StoredNotice``) as a row of ``NOTICE_COLUMNS``."""
    return [
        row.envelope_id,
        row.direction.value,
        row.kind.removeprefix("notice."),
        row.sender,
        ", ".join(row.recipients),
        timestamp(row.created_ms),
        timestamp(row.stored_ms),
        row.programme or "",
        row.tlp.upper(),
        " ".join(code.upper() for code in handling.get("codes", [])),
        handling.get("restrictions") or "",
        row.location or "",
        row.summary,
        _refs(row.refs, hits=True, nominal=nominal),
        _refs(row.refs, hits=False, nominal=nominal),
        row.supersedes or "",
        row.shares or "",
    ]


def alert_row(item: dict[str, Any], tlp: str) -> list[str]:
    """One alert of the board (its API form) as a row of ``ALERT_COLUMNS``."""
    outcome = item.get("outcome") or {}
    return [
        item["id"],
        item["direction"],
        item["sender"],
        ", ".join(item["recipients"]),
        item["summary"],
        timestamp(item["expected_ms"]),
        item["state"],
        outcome.get("result") or "",
        timestamp(outcome["at_ms"]) if outcome.get("at_ms") else "",
        outcome.get("seizure") or "",
        tlp.upper(),
    ]


def _defused(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def to_csv(table: Table) -> bytes:
    """UTF-8 with a byte-order mark (so Excel reads the accents), formulas defused."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.columns)
    writer.writerows([_defused(cell) for cell in row] for row in table.rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(table: Table) -> bytes:
    """One sheet: a handling banner, the header, the rows; every cell a string."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = table.title[:31]
    banner = f"TLP:{table.tlp.value.upper()}: the most restrictive handling in this file"
    sheet.append([banner])
    sheet["A1"].font = Font(bold=True)
    sheet.append(list(table.columns))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for values in table.rows:
        sheet.append([None] * len(values))
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=sheet.max_row, column=column)
            cell.value = value
            cell.data_type = TYPE_STRING
    sheet.freeze_panes = "A3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
