"""A manifest or risk-targeting list (CSV or XLSX) read as a batch of draft alerts.

A targeting officer's list has one container per row: where it comes from,
where it goes, when it is expected. Each row becomes a pre-arrival alert in
its JSON form, checked by the same decoder every publication goes through
(``notice_from_written_json``), so a draft that passes here is one the node
will publish. A row that fails names its row number, its column and the
reason; nothing is published from here: the officer reviews the batch and
publishes it (``POST /api/v1/imports/alerts/publish``, ``baliza import
alerts --publish``, or the console's review page).

Columns are found by name, in any order and case, in English, Spanish,
French or Portuguese (``container``/``contenedor``/``conteneur``/
``contentor``…). Unknown columns are ignored and reported once.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from openpyxl import load_workbook

from baliza.protocol.errors import BalizaError, InputError, ReasonCode
from baliza.protocol.notices import RiskIndicator, notice_from_written_json

MAX_ROWS = 500  # one batch; a longer list is split by the officer
MAX_FILE = 5 * 1024 * 1024
_XLSX_MAGIC = b"PK\x03\x04"

# Column -> the names a list may give it (folded: no accents, lower case, no spaces).
COLUMNS: dict[str, tuple[str, ...]] = {
    "container": ("container", "containernumber", "contenedor", "conteneur", "contentor"),
    "origin": ("origin", "from", "portofloading", "pol", "origen", "origine", "origem"),
    "destination": (
        "destination",
        "to",
        "portofdischarge",
        "pod",
        "destino",
        "destination",
    ),
    "expected": ("expected", "eta", "arrival", "expectedarrival", "llegada", "arrivee", "chegada"),
    "imo": ("imo", "vesselimo", "vessel", "buque", "navire", "navio"),
    "indicators": ("indicators", "risk", "riskindicators", "indicadores", "indicateurs"),
    "note": ("note", "notes", "nota", "notas", "remarks", "comment", "observaciones", "remarques"),
}
_INDICATORS = {"".join(ch for ch in i.value if ch.isalnum()): i.value for i in RiskIndicator}
# Where each notice field's refusal is shown: the column it came from.
_FIELD_COLUMN = {
    "subject.container": "container",
    "subject.vessel.imo": "imo",
    "subject.vessel": "imo",
    "origin": "origin",
    "origin.locode": "origin",
    "destination": "destination",
    "destination.locode": "destination",
    "expected_ms": "expected",
    "text.text": "note",
    "text": "note",
}


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one row is not a draft: its number in the file, the column, the reason code."""

    row: int
    column: str
    reason: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        """The API's form."""
        return {
            "row": self.row,
            "column": self.column,
            "reason": self.reason,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class Draft:
    """A row that is a valid alert, as the body ``POST /api/v1/notices`` takes."""

    row: int
    notice: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Batch:
    """What a file became: drafts, row errors, and columns nobody reads."""

    drafts: tuple[Draft, ...]
    errors: tuple[RowError, ...]
    ignored_columns: tuple[str, ...] = ()
    rows: int = 0

    def to_json(self) -> dict[str, Any]:
        """The API's form."""
        return {
            "rows": self.rows,
            "drafts": [{"row": d.row, "notice": d.notice} for d in self.drafts],
            "errors": [e.to_json() for e in self.errors],
            "ignored_columns": list(self.ignored_columns),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Defaults:
    """What every row shares: the sending agency, the programme, the language of notes."""

    agency: str
    programme: str = "ccp"
    lang: str = "en"
    origin: str | None = None
    destination: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def _fold(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(data: bytes) -> list[list[str]]:
    """The cells of a CSV (UTF-8, comma or semicolon) or XLSX file's first sheet."""
    if len(data) > MAX_FILE:
        raise InputError(ReasonCode.TOO_LARGE, f"the file is over {MAX_FILE} bytes", path="file")
    if data.startswith(_XLSX_MAGIC):
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as err:  # openpyxl raises many kinds for a damaged file
            raise InputError(
                ReasonCode.MALFORMED,
                f"not a readable XLSX file ({type(err).__name__})",
                path="file",
            ) from None
        sheet = book.worksheets[0]
        rows = [
            [_cell(v) for v in row]
            for row in sheet.iter_rows(values_only=True, max_row=MAX_ROWS + 20)
        ]
        book.close()
        return rows
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(
            ReasonCode.MALFORMED, "a CSV file must be UTF-8 (save it as CSV UTF-8)", path="file"
        ) from None
    dialect = "excel" if text.count(",") >= text.count(";") else _Semicolon()
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text), dialect)]


class _Semicolon(csv.excel):
    delimiter = ";"


def _header(cells: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    found: dict[str, int] = {}
    ignored: list[str] = []
    for index, name in enumerate(cells):
        folded = _fold(name)
        column = next((c for c, names in COLUMNS.items() if folded in names), None)
        if column is not None and column not in found:
            found[column] = index
        elif name:
            ignored.append(name)
    return found, ignored


def _header_row(table: Sequence[Sequence[str]]) -> int:
    """The first row naming a container column (a title line may come before it)."""
    for index, row in enumerate(table[:10]):
        if "container" in _header(row)[0]:
            return index
    raise InputError(
        ReasonCode.MISSING_FIELD,
        "no column names the containers (container, contenedor, conteneur, contentor)",
        path="container",
    )


def _alert(values: Mapping[str, str], defaults: Defaults) -> dict[str, Any]:
    subject: dict[str, Any] = {"type": "container", "container": values.get("container", "")}
    if values.get("imo"):
        subject["vessel"] = {"imo": values["imo"].upper().removeprefix("IMO").strip()}
    notice: dict[str, Any] = {
        "v": 1,
        "kind": "notice.alert",
        "programme": defaults.programme,
        "unit": {"agency": defaults.agency},
        "origin": {"locode": (values.get("origin") or defaults.origin or "").replace(" ", "")},
        "destination": {
            "locode": (values.get("destination") or defaults.destination or "").replace(" ", "")
        },
        "subject": subject,
        "expected_ms": _expected(values.get("expected", "")),
        **defaults.extra,
    }
    indicators = [
        _INDICATORS.get(_fold(v), v.strip())
        for v in values.get("indicators", "").replace(";", ",").split(",")
        if v.strip()
    ]
    if indicators:
        notice["indicators"] = sorted(set(indicators))
    if values.get("note"):
        notice["text"] = {"lang": defaults.lang, "text": values["note"]}
    return notice


def _expected(raw: str) -> str:
    """A date alone means midday UTC of that day; a time without a zone is UTC."""
    text = raw.strip().replace(" ", "T", 1)
    if len(text) == 10:
        return f"{text}T12:00:00Z"
    if text and not text.endswith(("Z", "z")) and "+" not in text[10:] and "-" not in text[10:]:
        return text + "Z"
    return text


def _column_of(err: BalizaError) -> str:
    path = err.path or ""
    for prefix, column in sorted(_FIELD_COLUMN.items(), key=lambda kv: -len(kv[0])):
        if path == prefix or path.startswith(prefix + "."):
            return column
    if path.startswith("indicators"):
        return "indicators"
    return path or "row"


def batch_of(table: Sequence[Sequence[str]], defaults: Defaults) -> Batch:
    """Every row of ``table`` as a draft alert or as the errors that keep it from being one."""
    start = _header_row(table)
    columns, ignored = _header(table[start])
    body = [
        (start + offset + 2, row)  # 1-based, after the header: the number a spreadsheet shows
        for offset, row in enumerate(table[start + 1 :])
        if any(cell.strip() for cell in row)
    ]
    if len(body) > MAX_ROWS:
        raise InputError(
            ReasonCode.TOO_MANY_ITEMS, f"at most {MAX_ROWS} rows in one batch", path="file"
        )
    drafts: list[Draft] = []
    errors: list[RowError] = []
    for number, row in body:
        values = {c: row[i] if i < len(row) else "" for c, i in columns.items()}
        missing = [c for c in ("container", "expected") if not values.get(c)]
        missing += [
            c for c in ("origin", "destination") if not values.get(c) and not getattr(defaults, c)
        ]
        if missing:
            errors += [RowError(number, c, "missing_field", "is empty") for c in missing]
            continue
        notice = _alert(values, defaults)
        try:
            notice_from_written_json(notice)
        except BalizaError as err:
            errors.append(RowError(number, _column_of(err), err.reason.value, err.detail))
            continue
        drafts.append(Draft(number, notice))
    repeated = duplicates(drafts)
    twice = {e.row for e in repeated}
    kept = tuple(d for d in drafts if d.row not in twice)
    errors = sorted([*errors, *repeated], key=lambda e: e.row)
    return Batch(kept, tuple(errors), tuple(ignored), len(body))


def duplicates(drafts: Iterable[Draft]) -> list[RowError]:
    """Rows naming a container an earlier row of the batch already names."""
    seen: dict[str, int] = {}
    found: list[RowError] = []
    for draft in drafts:
        container = str(draft.notice["subject"]["container"]).replace(" ", "").upper()
        if container in seen:
            found.append(
                RowError(draft.row, "container", "conflict", f"also on row {seen[container]}")
            )
        else:
            seen[container] = draft.row
    return found
