"""A STIX 2.1 bundle into draft alerts an officer completes: never a notice by itself.

What a platform (or another Baliza node's export) knows about a container,
a vessel, a flight or an air waybill becomes the subject of a draft
pre-arrival alert, with the report that named it as the draft's note. What
STIX does not say (where from, where to, when) stays out, so the draft is
refused until an officer writes it: the officer publishes, not the file.

Identifiers are taken from Baliza's own observable types and from any STIX
pattern comparing a ``value`` (``[x-container:value = 'MSCU1234566']``)
that passes the identifier's own check (ISO 6346 check digit, IMO check
digit): a platform's own types for them are many, their check digits one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from baliza.protocol import codes
from baliza.protocol.errors import BalizaError, InputError, ReasonCode

MAX_OBJECTS = 10_000
MAX_NOTE = 8000
MISSING = ("origin", "destination", "expected_ms")
_PATTERN = re.compile(r"\[\s*([a-z0-9-]+):value\s*=\s*'((?:[^'\\]|\\.)*)'\s*\]")
_TYPES = {
    "baliza-container": "container",
    "baliza-vessel": "vessel",
    "baliza-flight": "flight",
    "baliza-air-waybill": "awb",
}


@dataclass(frozen=True, slots=True)
class Found:
    """An identifier a bundle names, and the reports (name, description) that name it."""

    kind: str
    value: str
    reports: tuple[tuple[str, str], ...]


def _objects(bundle: object) -> list[Mapping[str, Any]]:
    if not isinstance(bundle, dict) or bundle.get("type") != "bundle":
        raise InputError(ReasonCode.WRONG_TYPE, "must be a STIX bundle", path="type")
    objects = bundle.get("objects", [])
    if not isinstance(objects, list):
        raise InputError(ReasonCode.WRONG_TYPE, "must be a list", path="objects")
    if len(objects) > MAX_OBJECTS:
        raise InputError(ReasonCode.TOO_MANY_ITEMS, f"at most {MAX_OBJECTS}", path="objects")
    return [o for o in objects if isinstance(o, dict) and isinstance(o.get("id"), str)]


def _identifier(kind_hint: str, value: str) -> tuple[str, str] | None:
    """(kind, normalised value) if ``value`` is a valid identifier of a kind Baliza knows."""
    text = value.strip()
    try:
        if kind_hint == "flight":  # Baliza writes "IB6454 2026-12-01": the designator first
            return "flight", codes.flight(text.split()[0] if text else text, "flight")
        if kind_hint == "awb":
            return "awb", codes.awb(text, "awb", lenient=True)
    except BalizaError:
        return None
    for kind, check in (("container", codes.container), ("vessel", codes.imo)):
        try:
            return kind, check(text, kind, lenient=True)
        except BalizaError:
            continue
    return None


def _named(obj: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    kind = _TYPES.get(str(obj.get("type")))
    if kind is not None and isinstance(obj.get("value"), str):
        found = _identifier(kind, obj["value"])
        if found is not None:
            yield found
    pattern = obj.get("pattern")
    if obj.get("type") == "indicator" and isinstance(pattern, str):
        for object_type, raw in _PATTERN.findall(pattern[:10_000]):
            hint = _TYPES.get(object_type, "")
            found = _identifier(hint, raw.replace("\\'", "'").replace("\\\\", "\\"))
            if found is not None:
                yield found


def identifiers(bundle: object) -> list[Found]:
    """Every identifier ``bundle`` names, first-named first, with the reports naming it."""
    objects = _objects(bundle)
    named: dict[str, list[tuple[str, str]]] = {}
    for obj in objects:
        named[obj["id"]] = list(_named(obj))
    reports: dict[tuple[str, str], list[tuple[str, str]]] = {}
    order: list[tuple[str, str]] = []
    for ids in named.values():
        for found in ids:
            if found not in reports:
                reports[found] = []
                order.append(found)
    for obj in objects:
        if obj.get("type") != "report" or not isinstance(obj.get("object_refs"), list):
            continue
        about = (str(obj.get("name", ""))[:300], str(obj.get("description", ""))[:MAX_NOTE])
        for ref in obj["object_refs"]:
            for found in named.get(str(ref), []):
                if about not in reports[found]:
                    reports[found].append(about)
    return [Found(kind, value, tuple(reports[(kind, value)])) for kind, value in order]


def _note(found: Found) -> str:
    lines = [f"From a STIX report: {name}. {text}".strip() for name, text in found.reports]
    text = "\n".join(lines) or f"Named in an imported STIX bundle: {found.kind} {found.value}."
    return text[:MAX_NOTE]


def draft_alerts(bundle: object, *, agency: str, programme: str = "ccp") -> list[dict[str, Any]]:
    """One draft alert per container, vessel, flight or air waybill, to be completed by hand.

    Each is the JSON ``baliza publish`` takes, without ``origin``,
    ``destination`` and ``expected_ms`` (``MISSING``).
    """
    drafts: list[dict[str, Any]] = []
    for found in identifiers(bundle):
        if found.kind == "vessel":
            subject: dict[str, Any] = {"type": "vessel", "vessel": {"imo": found.value}}
        elif found.kind == "awb":  # an air cargo alert: the officer adds the flight
            subject = {"type": "flight", "awb": found.value}
        else:
            subject = {"type": found.kind, found.kind: found.value}
        drafts.append(
            {
                "v": 1,
                "kind": "notice.alert",
                "programme": programme,
                "unit": {"agency": agency},
                "subject": subject,
                "text": {"lang": "en", "text": _note(found)},
            }
        )
    return drafts
