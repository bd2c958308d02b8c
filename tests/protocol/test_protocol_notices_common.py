"""Shared notice parts: each rule refused with its reason code and relative path."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from baliza.protocol.canonical import Value
from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.ids import AgencyId
from baliza.protocol.notices import (
    Attachment,
    FreeText,
    Location,
    MediaType,
    Quantity,
    ReportingUnit,
    Request,
    RequestAction,
    Unit,
)
from baliza.protocol.notices.common import MAX_ATTACHMENT_SIZE, line, prose

R = ReasonCode


def refused(make: Callable[[], object], reason: ReasonCode, path: str) -> str:
    with pytest.raises(InputError) as info:
        make()
    assert info.value.reason is reason, info.value
    assert info.value.path == path
    return info.value.detail


def from_wire_refused(
    build: Callable[[Value, str], object], value: Value, reason: ReasonCode, path: str
) -> None:
    refused(lambda: build(value, "x"), reason, path)


def test_location_exactly_one_code() -> None:
    assert Location(locode="ECGYE").code == "ECGYE"
    assert Location(airport="PTY").code == "PTY"
    refused(lambda: Location(), R.INCONSISTENT, "locode")
    refused(lambda: Location(locode="ECGYE", airport="PTY"), R.INCONSISTENT, "locode")
    refused(lambda: Location(locode="ecgye"), R.BAD_LOCODE, "locode")
    refused(lambda: Location(airport="ZZZ"), R.BAD_AIRPORT, "airport")


def test_location_from_wire_paths() -> None:
    from_wire_refused(Location.from_wire, {"airport": "ZZZ"}, R.BAD_AIRPORT, "x.airport")
    from_wire_refused(Location.from_wire, {"city": "Quito"}, R.INCONSISTENT, "x.locode")
    from_wire_refused(
        Location.from_wire, {"locode": "ECGYE", "city": "x"}, R.UNKNOWN_FIELD, "x.city"
    )
    from_wire_refused(Location.from_wire, [], R.WRONG_TYPE, "x")


def test_quantity_rules() -> None:
    assert Quantity(amount=1, unit=Unit.G).to_wire() == {"amount": 1, "unit": "g"}
    refused(lambda: Quantity(amount=0, unit=Unit.G), R.OUT_OF_RANGE, "amount")
    refused(lambda: Quantity(amount=True, unit=Unit.G), R.WRONG_TYPE, "amount")
    refused(lambda: Quantity(amount=5, unit=Unit.MINOR), R.INCONSISTENT, "currency")
    refused(lambda: Quantity(amount=5, unit=Unit.G, currency="USD"), R.INCONSISTENT, "currency")
    refused(lambda: Quantity(amount=5, unit=Unit.MINOR, currency="ZZZ"), R.BAD_CURRENCY, "currency")
    detail = refused(
        lambda: Quantity.from_wire({"amount": -3, "unit": "g"}, "commodities[2].quantity"),
        R.OUT_OF_RANGE,
        "commodities[2].quantity.amount",
    )
    assert detail == "must be a positive integer"
    from_wire_refused(Quantity.from_wire, {"amount": 3, "unit": "kg"}, R.BAD_ENUM, "x.unit")


def test_attachment_rules() -> None:
    ok: dict[str, Value] = {
        "sha256": b"\x00" * 32,
        "media_type": "image/png",
        "size": 10,
        "filename": "a.png",
    }
    assert Attachment.from_wire(ok).media_type is MediaType.PNG
    from_wire_refused(
        Attachment.from_wire,
        ok | {"media_type": "application/x-msdownload"},
        R.UNSUPPORTED_MEDIA,
        "x.media_type",
    )
    from_wire_refused(Attachment.from_wire, ok | {"sha256": b"\x00" * 31}, R.BAD_LENGTH, "x.sha256")
    from_wire_refused(
        Attachment.from_wire, ok | {"size": MAX_ATTACHMENT_SIZE + 1}, R.OUT_OF_RANGE, "x.size"
    )
    from_wire_refused(Attachment.from_wire, ok | {"size": 0}, R.OUT_OF_RANGE, "x.size")
    for name in ["../etc/passwd", "a\\b", "..", "a\nb"]:
        from_wire_refused(Attachment.from_wire, ok | {"filename": name}, R.BAD_FORMAT, "x.filename")


def test_free_text_language_and_controls() -> None:
    assert FreeText(lang="es-CO", text="línea 1\nlínea 2\tfin").lang == "es-CO"
    refused(lambda: FreeText(lang="xx", text="a"), R.BAD_LANGUAGE, "lang")
    refused(lambda: FreeText(lang="es", text="bell\x07"), R.BAD_FORMAT, "text")
    refused(lambda: FreeText(lang="es", text=""), R.BAD_LENGTH, "text")
    refused(lambda: FreeText(lang="es", text="x" * 8001), R.BAD_LENGTH, "text")


def test_request_other_needs_a_note() -> None:
    refused(lambda: Request(action=RequestAction.OTHER), R.MISSING_FIELD, "note")
    assert Request(action=RequestAction.OTHER, note="Call me").note == "Call me"
    from_wire_refused(Request.from_wire, {"action": "arrest"}, R.BAD_ENUM, "x.action")


def test_reporting_unit() -> None:
    refused(lambda: ReportingUnit(agency=AgencyId("Ecuador")), R.BAD_AGENCY_ID, "agency")
    refused(
        lambda: ReportingUnit(agency=AgencyId("ec.senae"), name=" padded"), R.BAD_FORMAT, "name"
    )


def test_line_and_prose_helpers() -> None:
    assert line("ok", "p") == "ok"
    refused(lambda: line("two\nlines", "p"), R.BAD_FORMAT, "p")
    refused(lambda: line("\u0085x", "p"), R.BAD_FORMAT, "p")
    assert prose("two\nlines", "p") == "two\nlines"
    refused(lambda: prose("nul\x00", "p"), R.BAD_FORMAT, "p")


# Invisible format characters (issue 17, item 16): what a reader sees must be what was written.
FORMAT_CHARACTERS = [
    "\u202e",  # right-to-left override: "gnp.exe" shows as "exe.png"
    "\u202a",  # left-to-right embedding
    "\u2067",  # right-to-left isolate
    "\u2069",  # pop directional isolate
    "\u200f",  # right-to-left mark
    "\u061c",  # Arabic letter mark
    "\u200b",  # zero-width space
    "\u200d",  # zero-width joiner
    "\u2060",  # word joiner
    "\ufeff",  # byte order mark
    "\u00ad",  # soft hyphen
    "\U000e0041",  # tag letter A
    "\u2028",  # line separator (Zl)
    "\u2029",  # paragraph separator (Zp)
]


@pytest.mark.parametrize("char", FORMAT_CHARACTERS, ids=lambda c: f"U+{ord(c):04X}")
def test_free_text_refuses_invisible_format_characters(char: str) -> None:
    detail = refused(
        lambda: FreeText(lang="es", text=f"pago{char}gnp.exe"), R.FORMAT_CHARACTER, "text"
    )
    assert f"U+{ord(char):04X}" in detail
    refused(lambda: line(f"Unidad{char}Norte", "name"), R.FORMAT_CHARACTER, "name")
    refused(lambda: prose(f"línea 1\n{char}línea 2", "note"), R.FORMAT_CHARACTER, "note")
    refused(
        lambda: Request(action=RequestAction.OTHER, note=f"ver{char}abajo"),
        R.FORMAT_CHARACTER,
        "note",
    )
    refused(
        lambda: ReportingUnit(agency=AgencyId("co.polfa.ctg"), name=f"A{char}B"),
        R.FORMAT_CHARACTER,
        "name",
    )


def test_visible_text_of_any_script_is_accepted() -> None:
    for text in (
        "Contenedor de banano; bolsos tras la puerta.",
        "São Paulo – Guarujá",
        "شحنة في ميناء",
        "集装箱 CSQU3054383",
        "Ελλάδα",
        "Ünïcödé 🚢",
    ):
        assert FreeText(lang="es", text=text).text == text
        assert line(text, "name") == text
