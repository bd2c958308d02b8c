"""The JSON form as people write it, brought to the one canonical form the wire needs.

The wire form is strict so every notice has one encoding: times in Unix
milliseconds, quantities as integers in base units, sets sorted, codes in
canonical spelling. Officers write ``"2026-12-01T01:15Z"``, ``"412 kg"``,
``"IMO 9074729"`` and lists in the order they think of them. ``humane``
rewrites those spellings (and only those) before the strict reader sees the
notice; anything it cannot read it leaves alone, so the strict reader still
names the field, and where a value is wrong in a way only a person makes
(a time or a quantity), it says so here with an accepted example.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from baliza.protocol import codes
from baliza.protocol.errors import InputError, ReasonCode

# Lists that are sets on the wire: sorted and unique (see ``sorted_unique``).
UNORDERED = frozenset({"indicators", "offences", "linked"})

# Units people write, as (wire unit, factor): "412 kg" travels as 412000 g.
UNITS: dict[str, tuple[str, int]] = {
    "mg": ("g", 0),  # refused below: below the wire's resolution
    "g": ("g", 1),
    "kg": ("g", 1000),
    "t": ("g", 1_000_000),
    "ml": ("ml", 1),
    "l": ("ml", 1000),
    "units": ("units", 1),
    "pcs": ("units", 1),
    "pieces": ("units", 1),
    "sticks": ("sticks", 1),
    "minor": ("minor", 1),
}
QUANTITY_EXAMPLE = '"412 kg" or {"amount": 412, "unit": "kg"}'
TIME_EXAMPLE = '"2026-12-01T01:15Z", "2026-12-01T02:15+01:00" or Unix ms 1796087700000'
_QUANTITY = re.compile(r"\s*([0-9]+(?:[.,][0-9]+)?)\s*([A-Za-z]+)\s*")

_CODES: dict[str, Callable[..., str]] = {
    "imo": codes.imo,
    "container": codes.container,
    "flight": codes.flight,
    "awb": codes.awb,
    "locode": codes.locode,
    "airport": codes.airport,
}


def parse_time(raw: str, path: str) -> int:
    """ISO 8601 with a zone (``Z`` or an offset) to Unix milliseconds."""
    try:
        parsed = datetime.fromisoformat(raw.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise InputError(
            ReasonCode.BAD_FORMAT,
            f"{raw!r} is not a time with a zone; write e.g. {TIME_EXAMPLE}",
            path=path,
        )
    return int(parsed.astimezone(UTC).timestamp() * 1000)


def parse_quantity(raw: object, path: str) -> object:
    """``"412 kg"`` or ``{"amount": 412, "unit": "kg"}`` to ``{"amount": 412000, "unit": "g"}``."""
    if isinstance(raw, str):
        match = _QUANTITY.fullmatch(raw)
        if match is None:
            raise InputError(
                ReasonCode.BAD_FORMAT,
                f"{raw!r} is not a quantity; write e.g. {QUANTITY_EXAMPLE}",
                path=path,
            )
        amount: object = match.group(1).replace(",", ".")
        unit = match.group(2)
        rest: dict[str, Any] = {}
    elif isinstance(raw, dict) and isinstance(raw.get("unit"), str):
        amount, unit = raw.get("amount"), raw["unit"]
        rest = {k: v for k, v in raw.items() if k not in {"amount", "unit"}}
    else:
        return raw
    wire_unit, factor = UNITS.get(unit.lower(), (unit, 1))
    if factor == 0 or unit.lower() not in UNITS:
        raise InputError(
            ReasonCode.BAD_ENUM,
            f"unit {unit!r} is not one of: {', '.join(u for u, (_, f) in UNITS.items() if f)};"
            f" write e.g. {QUANTITY_EXAMPLE}",
            path=f"{path}.unit",
        )
    if isinstance(amount, bool) or not isinstance(amount, int | str | float):
        return raw  # the strict reader names the wrong type
    try:
        exact = Decimal(str(amount)) * factor
    except InvalidOperation:
        return raw
    if exact != exact.to_integral_value():
        raise InputError(
            ReasonCode.BAD_FORMAT,
            f"{amount} {unit} is not a whole number of {wire_unit}; write e.g. {QUANTITY_EXAMPLE}",
            path=f"{path}.amount",
        )
    return {"amount": int(exact), "unit": wire_unit, **rest}


def _code(name: str, raw: str, path: str) -> str:
    try:
        return _CODES[name](raw, path, lenient=True)
    except InputError:
        return raw  # the strict reader refuses it with the reason


def humane(obj: object, path: str = "") -> object:
    """``obj`` with human spellings rewritten to the canonical JSON form."""
    if isinstance(obj, list):
        return [humane(v, f"{path}[{i}]") for i, v in enumerate(obj)]
    if not isinstance(obj, dict):
        return obj
    out: dict[str, object] = {}
    for key, value in obj.items():
        sub = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and key.endswith("_ms") and isinstance(value, str):
            out[key] = parse_time(value, sub)
        elif key == "quantity":
            out[key] = parse_quantity(humane(value, sub), sub)
        elif key in _CODES and isinstance(value, str):
            out[key] = _code(key, value, sub)
        elif key in UNORDERED and isinstance(value, list):
            items = humane(value, sub)
            assert isinstance(items, list)
            if all(isinstance(v, str) for v in items):
                items = sorted(set(items))
            out[key] = items
        else:
            out[key] = humane(value, sub)
    return out


def say_quantity(amount: int, unit: str, currency: str | None = None) -> str:
    """A stored quantity as people say it: ``412 kg``, ``1.5 l``, ``45000 minor USD``."""
    bigger = {"g": "kg", "ml": "l"}
    money = f" {currency}" if currency else ""
    if unit in bigger and amount >= 1000:
        return f"{amount / 1000:g} {bigger[unit]}{money}"
    return f"{amount} {unit}{money}"
