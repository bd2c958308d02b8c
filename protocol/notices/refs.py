"""Identifiers as a node stores them and as an analyst types them, made equal.

A notice names containers, vessels, flights, companies… and an analyst
later searches with whatever spelling is at hand: ``IMO 9074729``,
``9074729``, ``Frutas Estrecho S.L.``, ``co ctg``. Both sides go through
the functions here, so what was sent is what is found. A query may also be
*partial* where a person rarely knows the whole key: a flight without its
date, a document or plate without its country. ``query_ref`` says how to
match those (a ``like`` pattern next to the exact value).

Hit types are the identifiers that link two notices; facet types
(``location``, ``commodity``) only narrow a search: two seizures at the same
port are not a lead.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from baliza.protocol import codes
from baliza.protocol.errors import InputError, ReasonCode

HIT_TYPES = (
    "container",
    "vessel",
    "flight",
    "awb",
    "company",
    "person",
    "document",
    "vehicle",
    "case",
)
FACET_TYPES = ("location", "commodity")

# Legal-form words dropped from company names, so "ACME S.A." meets "Acme SA".
_LEGAL_FORMS = frozenset(
    [
        "SA",
        "SAS",
        "SL",
        "SLU",
        "SRL",
        "SPA",
        "LTD",
        "LIMITED",
        "LLC",
        "INC",
        "CORP",
        "CO",
        "GMBH",
        "AG",
        "BV",
        "NV",
        "PLC",
        "SARL",
        "CIA",
        "LTDA",
        "SAC",
        "EIRL",
        "SAU",
        "SCA",
        "SNC",
        "EURL",
        "KG",
        "OHG",
    ]
)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _strip_marks(run: re.Match[str]) -> str:
    return "".join(c for c in run.group() if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Accents removed, case folded: how free text is stored and searched.

    Only the non-ASCII runs are looked at character by character (ASCII has
    no combining marks and folds as ``lower``): a notice's search text is
    mostly ASCII, and a per-character walk of all of it cost more than the
    rest of indexing.
    """
    if text.isascii():
        return text.lower()
    plain = unicodedata.normalize("NFKD", text)
    return _NON_ASCII.sub(_strip_marks, plain).casefold()


def normalise_name(name: str) -> str:
    """Upper case, accents and punctuation removed, trailing legal forms dropped."""
    words = re.sub(r"[^0-9A-Z]+", " ", fold(name).upper().replace(".", "")).split()
    while len(words) > 1 and words[-1] in _LEGAL_FORMS:
        words.pop()
    return " ".join(words)


def _squeeze(raw: str) -> str:
    return re.sub(r"[\s\-]", "", raw).upper()


def day(ms: int) -> str:
    """The UTC date of a Unix-millisecond time, ``YYYY-MM-DD``."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def flight_ref(designator: str, ms: int) -> str:
    """A flight on a day (``IB6454 2026-12-01``): numbers repeat every day."""
    return f"{designator} {day(ms)}"


def vessel_ref(imo: str) -> str:
    """``IMO9074729`` from the seven digits."""
    return f"IMO{imo}"


@dataclass(frozen=True, slots=True)
class RefQuery:
    """How a typed value matches stored references: exactly, or by a LIKE pattern too."""

    ref_type: str
    equals: str
    like: str | None = None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def query_ref(ref_type: str, raw: str) -> RefQuery:
    """Normalise a searched value like the stored one; raise ``InputError`` naming the filter.

    Malformed identifiers are refused with the reason (a mistyped container
    check digit finds nothing, so saying so is kinder than an empty page).
    """
    text = raw.strip()
    if not text:
        raise InputError(ReasonCode.MISSING_FIELD, "must not be empty", path=ref_type)
    if ref_type == "container":
        return RefQuery(ref_type, codes.container(text, ref_type, lenient=True))
    if ref_type == "vessel":
        return RefQuery(ref_type, vessel_ref(codes.imo(text, ref_type, lenient=True)))
    if ref_type == "awb":
        return RefQuery(ref_type, codes.awb(text, ref_type, lenient=True))
    if ref_type == "flight":
        parts = text.split()
        date = parts[-1] if len(parts) > 1 and _DATE.fullmatch(parts[-1]) else None
        designator = codes.flight(" ".join(parts[:-1]) if date else text, ref_type, lenient=True)
        if date:
            return RefQuery(ref_type, f"{designator} {date}")
        return RefQuery(ref_type, designator, like=f"{_escape_like(designator)} %")
    if ref_type == "company":
        return RefQuery(ref_type, normalise_name(text))
    if ref_type == "person":  # stored with the birth date when known
        name = normalise_name(text)
        return RefQuery(ref_type, name, like=f"{_escape_like(name)} %")
    if ref_type in {"document", "vehicle"}:
        code = _squeeze(text)
        if ":" in code:
            return RefQuery(ref_type, code)
        return RefQuery(ref_type, code, like=f"%:{_escape_like(code)}")
    if ref_type == "case":
        return RefQuery(ref_type, text.upper())
    if ref_type == "location":
        return RefQuery(ref_type, _squeeze(text))
    if ref_type == "commodity":
        return RefQuery(ref_type, fold(text))
    raise InputError(ReasonCode.UNKNOWN_FIELD, "is not a reference type", path=ref_type)
