"""Publish forms: the fields a person fills in, turned into the API's JSON body.

This module only arranges what was typed into the JSON form of a notice;
every check (container check digit, IMO, flight, LOCODE, airport, ranges) is
the protocol's, run by ``PublishRequest.from_json`` when the body is
published. A refusal names a JSON path; ``FIELD_OF`` maps it back to the
form field, so the message appears next to what the person typed. The
short and the long form post to the same builders: a field the short form
does not show is simply empty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from baliza.node.console.form_parts import (
    conveyance,
    drop_empty,
    nominal,
    place,
    requests,
    route,
    row_field,
    text,
    unit,
)
from baliza.node.console.i18n import zone_or_none
from baliza.protocol.errors import InputError, ReasonCode

# JSON path of a refusal (or its start) → the form field that caused it.
FIELD_OF = {
    "notice.programme": "programme",
    "notice.unit.name": "unit_name",
    "notice.unit.contact": "unit_contact",
    "notice.origin": "origin",
    "notice.destination": "destination",
    "notice.location": "location",
    "notice.subject.container": "container",
    "notice.subject.flight": "flight",
    "notice.subject.awb": "awb",
    "notice.subject.vessel.imo": "imo",
    "notice.subject.vessel.name": "vessel_name",
    "notice.subject.vessel.flag": "flag",
    "notice.subject.vessel": "imo",
    "notice.subject": "subject_type",
    "notice.conveyance": "container",
    "notice.conveyance.container": "container",
    "notice.conveyance.seals": "seals",
    "notice.conveyance.vessel": "imo",
    "notice.conveyance.vessel.imo": "imo",
    "notice.conveyance.vessel.name": "vessel_name",
    "notice.conveyance.vessel.flag": "flag",
    "notice.conveyance.flight": "flight",
    "notice.conveyance.awb": "awb",
    "notice.conveyance.vehicle": "plate",
    "notice.conveyance.vehicle.country": "plate_country",
    "notice.route": "route_loading",
    "notice.route.transit": "route_transit",
    "notice.route.discharge": "route_discharge",
    "notice.route.destination": "route_destination",
    "notice.expected_ms": "expected",
    "notice.seized_ms": "seized",
    "notice.transport": "transport",
    "notice.commodities[0].category": "category",
    "notice.commodities[0].quantity": "amount",
    "notice.commodities[0].quantity.currency": "currency",
    "notice.commodities[0].description": "description",
    "notice.commodities[0].packaging": "packaging",
    "notice.concealment": "concealment",
    "notice.detection": "detection",
    "notice.case_ref": "case_ref",
    "notice.title": "title",
    "notice.status": "status",
    "notice.offences": "offences",
    "notice.linked": "linked",
    "notice.tasks": "task0_ref",
    "notice.nominal": "person0_family_name",
    "notice.requests": "requests",
    "notice.requests[": "request_note",
    "notice.attachments": "photos",
    "notice.text": "text",
    "notice.evaluation": "evaluation",
    "notice.indicators": "indicators",
    "notice.reason": "reason",
    "notice.supersedes": "supersedes",
    "supersedes": "supersedes",
    "recipients": "recipients",
    "channel": "channel",
    "handling.codes": "codes",
    "handling.restrictions": "restrictions",
    "handling": "tlp",
    "expected": "expected",
    "seized": "seized",
    "notice.alert": "alert",
    "notice.result": "result",
    "notice.at_ms": "at",
    "notice.seizure": "seizure",
    "at": "at",
    "photos": "photos",
}


def field_of(path: str) -> str:
    """The form field a refusal at JSON ``path`` belongs to ('' for the form as a whole)."""
    if path.startswith("notice.notice."):
        path = path[len("notice.") :]  # a correction's replacement notice: the same fields
    if found := row_field(path):
        return found
    matching = [
        prefix
        for prefix in FIELD_OF
        if path == prefix
        or path.startswith((prefix + ".", prefix + "["))
        or (prefix.endswith("[") and path.startswith(prefix))
    ]
    return FIELD_OF[max(matching, key=len)] if matching else ""


def zone_of(form: Mapping[str, str], name: str) -> ZoneInfo:
    """The zone a ``datetime-local`` field was typed in.

    Its own ``<name>_tz`` (an alert's arrival may be typed in the destination's
    zone), else the form's ``tz`` (the viewer's zone, put there by the page),
    else UTC. An unknown zone is refused, never guessed.
    """
    for key in (f"{name}_tz", "tz"):
        wanted = text(form, key)
        if wanted is not None:
            if zone_or_none(wanted) is None:
                raise InputError(ReasonCode.BAD_FORMAT, "is not a known time zone", path=name)
            return ZoneInfo(wanted)
    return ZoneInfo("UTC")


def when(form: Mapping[str, str], name: str) -> int | None:
    """A ``datetime-local`` field, read in the zone it was typed in, as Unix ms (UTC)."""
    raw = text(form, name)
    if raw is None:
        return None
    zone = zone_of(form, name)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise InputError(ReasonCode.BAD_FORMAT, "is not a date and time", path=name) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return int(moment.astimezone(UTC).timestamp() * 1000)


# Units a person says, as the protocol's unit and a factor (the protocol counts grams and ml).
SPOKEN_UNITS = {
    "kg": ("g", 1000),
    "t": ("g", 1_000_000),
    "g": ("g", 1),
    "l": ("ml", 1000),
    "ml": ("ml", 1),
}
_SPOKEN = re.compile(r"\s*(\d[\d\s.,]*?)\s*([a-zA-Z]+)?\s*")


def _amount(raw: str | None, unit: str) -> tuple[int | str | None, str]:
    """The amount and protocol unit of what was typed: "412 kg", "1,5 l", "35000" in ``unit``.

    A number with a unit of its own (or a spoken unit chosen: kg, l) may have
    decimals, written with a point or a comma; it is turned into whole grams
    or millilitres. Anything else goes to the protocol as typed, which refuses it.
    """
    if raw is None:
        return None, SPOKEN_UNITS.get(unit, (unit, 1))[0]
    found = _SPOKEN.fullmatch(raw)
    said = (found.group(2) or unit).lower() if found else unit
    if found is None or (found.group(2) and said not in SPOKEN_UNITS):
        return raw, SPOKEN_UNITS.get(unit, (unit, 1))[0]
    number = found.group(1).replace(" ", "")
    if said not in SPOKEN_UNITS or (said in ("g", "ml") and not found.group(2)):
        cleaned = number.replace(".", "").replace(",", "")  # grouping signs, as before
        return (int(cleaned) if cleaned.isdigit() else raw), unit
    base, factor = SPOKEN_UNITS[said]
    if number.count(",") + number.count(".") == 1:
        number = number.replace(",", ".")  # one sign: the decimal one
    else:
        number = number.replace(",", "").replace(".", "")  # several: grouping
    try:
        return round(float(number) * factor), base
    except ValueError:
        return raw, base


def envelope(
    form: Mapping[str, str], lists: Mapping[str, list[str]], notice: dict[str, Any]
) -> dict[str, Any]:
    """The parts every publish form shares: recipients (or a channel) and handling."""
    handling = drop_empty(
        {
            "tlp": form.get("tlp", "amber"),
            "codes": sorted(lists.get("codes", [])),
            "restrictions": text(form, "restrictions"),
        }
    )
    channel = text(form, "channel")
    if channel is not None:
        return {"notice": notice, "channel": channel, "handling": handling}
    return {"notice": notice, "recipients": lists.get("recipients", []), "handling": handling}


def reported(
    form: Mapping[str, str], lists: Mapping[str, list[str]], agency: str, lang: str
) -> dict[str, Any]:
    """The fields every reported notice shares (programme, unit, text, evaluation, requests)."""
    remarks = text(form, "text")
    evaluation = text(form, "evaluation")
    return drop_empty(
        {
            "v": 1,
            "programme": form.get("programme"),
            "unit": unit(form, agency),
            "text": {"lang": lang, "text": remarks} if remarks else None,
            "evaluation": {
                "scheme": "4x4",
                "source": evaluation[0],
                "information": int(evaluation[1]),
            }
            if evaluation and len(evaluation) == 2 and evaluation[1].isdigit()
            else None,
            "requests": requests(form, lists),
        }
    )


def alert_notice(
    form: Mapping[str, str], lists: Mapping[str, list[str]], agency: str, lang: str
) -> dict[str, Any]:
    """A pre-arrival alert from its short or long form."""
    imo, vessel_name, flag = text(form, "imo"), text(form, "vessel_name"), text(form, "flag")
    subject = drop_empty(
        {
            "type": form.get("subject_type"),
            "container": text(form, "container"),
            "flight": text(form, "flight"),
            "awb": text(form, "awb"),
            "vessel": drop_empty({"imo": imo, "name": vessel_name, "flag": flag})
            if imo or vessel_name or flag
            else None,
        }
    )
    return drop_empty(
        {
            **reported(form, lists, agency, lang),
            "kind": "notice.alert",
            "origin": place(text(form, "origin")),
            "destination": place(text(form, "destination")),
            "subject": subject,
            "expected_ms": when(form, "expected"),
            "indicators": sorted(lists.get("indicators", [])),
            "nominal": nominal(form),
        }
    )


def seizure_notice(
    form: Mapping[str, str], lists: Mapping[str, list[str]], agency: str, lang: str
) -> dict[str, Any]:
    """A seizure notice from its short or long form."""
    amount, unit_of = _amount(text(form, "amount"), form.get("unit", "g"))
    quantity = drop_empty(
        {
            "amount": amount,
            "unit": unit_of,
            "currency": text(form, "currency") if unit_of == "minor" else None,
        }
    )
    commodity = drop_empty(
        {
            "category": form.get("category"),
            "quantity": quantity,
            "description": text(form, "description"),
            "packaging": text(form, "packaging"),
        }
    )
    return drop_empty(
        {
            **reported(form, lists, agency, lang),
            "kind": "notice.seizure",
            "seized_ms": when(form, "seized"),
            "location": place(text(form, "location")),
            "transport": form.get("transport"),
            "commodities": [commodity],
            "concealment": text(form, "concealment"),
            "detection": text(form, "detection"),
            "conveyance": conveyance(form),
            "route": route(form),
            "nominal": nominal(form),
            "case_ref": text(form, "case_ref"),
        }
    )


def outcome_notice(
    form: Mapping[str, str], lists: Mapping[str, list[str]], agency: str, lang: str
) -> dict[str, Any]:
    """An alert's outcome (what the destination found)."""
    del agency, lists  # an outcome names the alert, not a reporting unit
    remarks = text(form, "text")
    return drop_empty(
        {
            "v": 1,
            "kind": "notice.outcome",
            "alert": text(form, "alert"),
            "result": form.get("result"),
            "at_ms": when(form, "at"),
            "seizure": text(form, "seizure"),
            "text": {"lang": lang, "text": remarks} if remarks else None,
        }
    )
