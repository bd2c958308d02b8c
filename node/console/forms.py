"""Publish forms: the fields a person fills in, turned into the API's JSON body.

This module only arranges what was typed into the JSON form of a notice;
every check (container check digit, IMO, flight, LOCODE, airport, ranges) is
the protocol's, run by ``PublishRequest.from_json`` when the body is
published. A refusal names a JSON path; ``FIELD_OF`` maps it back to the
form field, so the message appears next to what the person typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from baliza.protocol.errors import InputError, ReasonCode

# JSON path of a refusal (or its start) → the form field that caused it.
FIELD_OF = {
    "notice.programme": "programme",
    "notice.origin": "origin",
    "notice.destination": "destination",
    "notice.location": "location",
    "notice.subject.container": "container",
    "notice.subject.flight": "flight",
    "notice.subject.awb": "awb",
    "notice.subject.vessel.imo": "imo",
    "notice.subject.vessel.flag": "flag",
    "notice.subject.vessel": "imo",
    "notice.subject": "subject_type",
    "notice.conveyance.container": "container",
    "notice.expected_ms": "expected",
    "notice.seized_ms": "seized",
    "notice.transport": "transport",
    "notice.commodities[0].category": "category",
    "notice.commodities[0].quantity": "amount",
    "notice.text": "text",
    "notice.evaluation": "evaluation",
    "notice.indicators": "indicators",
    "recipients": "recipients",
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
}


def field_of(path: str) -> str:
    """The form field a refusal at JSON ``path`` belongs to ('' for the form as a whole)."""
    matching = [
        prefix
        for prefix in FIELD_OF
        if path == prefix or path.startswith((prefix + ".", prefix + "["))
    ]
    return FIELD_OF[max(matching, key=len)] if matching else ""


def _text(form: Mapping[str, str], name: str) -> str | None:
    value = form.get(name, "").strip()
    return value or None


def _when(form: Mapping[str, str], name: str) -> int | None:
    """A ``datetime-local`` field, read as UTC, in Unix milliseconds."""
    raw = _text(form, name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw).replace(tzinfo=UTC)
    except ValueError:
        raise InputError(ReasonCode.BAD_FORMAT, "is not a date and time", path=name) from None
    return int(moment.timestamp() * 1000)


def _place(code: str | None) -> dict[str, str] | None:
    """A typed code as a location: three letters are an airport, else a LOCODE."""
    if code is None:
        return None
    code = code.upper().replace(" ", "")
    return {"airport": code} if len(code) == 3 else {"locode": code}


def _amount(raw: str | None) -> int | str | None:
    """Digits become an integer; anything else goes to the protocol, which refuses it."""
    if raw is None:
        return None
    cleaned = raw.replace(" ", "").replace(".", "").replace(",", "")
    return int(cleaned) if cleaned.isdigit() else raw


def _drop_none(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if v is not None and v != [] and v != {}}


def _envelope(
    form: Mapping[str, str], lists: Mapping[str, list[str]], notice: dict[str, Any]
) -> dict[str, Any]:
    """The parts every publish form shares: recipients and handling."""
    handling = _drop_none(
        {
            "tlp": form.get("tlp", "amber"),
            "codes": sorted(lists.get("codes", [])),
            "restrictions": _text(form, "restrictions"),
        }
    )
    return {"notice": notice, "recipients": lists.get("recipients", []), "handling": handling}


def _shared(form: Mapping[str, str], agency: str, lang: str) -> dict[str, Any]:
    text = _text(form, "text")
    evaluation = _text(form, "evaluation")
    return _drop_none(
        {
            "v": 1,
            "programme": form.get("programme"),
            "unit": {"agency": agency},
            "text": {"lang": lang, "text": text} if text else None,
            "evaluation": {
                "scheme": "4x4",
                "source": evaluation[0],
                "information": int(evaluation[1]),
            }
            if evaluation and len(evaluation) == 2 and evaluation[1].isdigit()
            else None,
        }
    )


def alert_body(
    form: Mapping[str, str], lists: Mapping[str, list[str]], agency: str, lang: str
) -> dict[str, Any]:
    """The JSON body of a pre-arrival alert from its short form."""
    imo, flag = _text(form, "imo"), _text(form, "flag")
    subject = _drop_none(
        {
            "type": form.get("subject_type"),
            "container": _text(form, "container"),
            "flight": _text(form, "flight"),
            "awb": _text(form, "awb"),
            "vessel": _drop_none({"imo": imo, "flag": flag}) if imo or flag else None,
        }
    )
    notice = _drop_none(
        {
            **_shared(form, agency, lang),
            "kind": "notice.alert",
            "origin": _place(_text(form, "origin")),
            "destination": _place(_text(form, "destination")),
            "subject": subject,
            "expected_ms": _when(form, "expected"),
            "indicators": sorted(lists.get("indicators", [])),
        }
    )
    return _envelope(form, lists, notice)


def seizure_body(
    form: Mapping[str, str], lists: Mapping[str, list[str]], agency: str, lang: str
) -> dict[str, Any]:
    """The JSON body of a seizure notice from its short form."""
    unit = form.get("unit", "g")
    quantity = _drop_none(
        {
            "amount": _amount(_text(form, "amount")),
            "unit": unit,
            "currency": _text(form, "currency") if unit == "minor" else None,
        }
    )
    container = _text(form, "container")
    notice = _drop_none(
        {
            **_shared(form, agency, lang),
            "kind": "notice.seizure",
            "seized_ms": _when(form, "seized"),
            "location": _place(_text(form, "location")),
            "transport": form.get("transport"),
            "commodities": [_drop_none({"category": form.get("category"), "quantity": quantity})],
            "conveyance": {"container": container} if container else None,
        }
    )
    return _envelope(form, lists, notice)


def outcome_body(
    form: Mapping[str, str], lists: Mapping[str, list[str]], agency: str, lang: str
) -> dict[str, Any]:
    """The JSON body of an alert's outcome (what the destination found)."""
    del agency  # an outcome names the alert, not a reporting unit
    text = _text(form, "text")
    notice = _drop_none(
        {
            "v": 1,
            "kind": "notice.outcome",
            "alert": _text(form, "alert"),
            "result": form.get("result"),
            "at_ms": _when(form, "at"),
            "seizure": _text(form, "seizure"),
            "text": {"lang": lang, "text": text} if text else None,
        }
    )
    return _envelope(form, lists, notice)
