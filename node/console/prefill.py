"""A sent notice back into its form's fields, so a correction starts from what was sent.

The inverse of ``forms``/``form_parts``/``case_forms``: each JSON field the
forms write is put back into the input it came from. A field the forms do
not show (a second commodity, a fourth task) is not carried over;
``lost_fields`` names them and the correction form lists them, so the
officer knows to correct such a notice through the API instead.
"""

from __future__ import annotations

from typing import Any

from baliza.node.console.form_parts import COMPANY_ROWS, DOCUMENT_ROWS, PERSON_ROWS, TASK_ROWS
from baliza.node.console.i18n import local_minute

Values = dict[str, str]
Lists = dict[str, list[str]]


def minute(ms: object, tz: str = "UTC") -> str:
    """Unix ms as a ``datetime-local`` value in zone ``tz``."""
    if not isinstance(ms, int):
        return ""
    return local_minute(ms, tz)


def _code(loc: object) -> str:
    if not isinstance(loc, dict):
        return ""
    return str(loc.get("locode") or loc.get("airport") or "")


def _set(values: Values, name: str, value: object) -> None:
    if value is not None and value != "":
        values[name] = str(value)


def _reported(body: dict[str, Any], values: Values, lists: Lists) -> None:
    _set(values, "programme", body.get("programme"))
    unit = body.get("unit") or {}
    _set(values, "unit_name", unit.get("name"))
    _set(values, "unit_contact", unit.get("contact"))
    _set(values, "text", (body.get("text") or {}).get("text"))
    evaluation = body.get("evaluation")
    if isinstance(evaluation, dict) and evaluation.get("scheme") == "4x4":
        values["evaluation"] = f"{evaluation.get('source')}{evaluation.get('information')}"
    requests = body.get("requests") or []
    lists["requests"] = [str(r.get("action")) for r in requests]
    for r in requests:
        if r.get("note"):
            values["request_note"] = str(r["note"])


def _nominal(body: dict[str, Any], values: Values) -> None:
    section = body.get("nominal") or {}
    for i, person in enumerate((section.get("persons") or [])[:PERSON_ROWS]):
        for name in ("role", "family_name", "given_names", "nationality", "birth_date"):
            _set(values, f"person{i}_{name}", person.get(name))
        for document in (person.get("documents") or [])[:1]:
            for name in ("type", "number", "country"):
                _set(values, f"person{i}_doc_{name}", document.get(name))
    for i, company in enumerate((section.get("companies") or [])[:COMPANY_ROWS]):
        for name in ("role", "name", "country", "registration"):
            _set(values, f"company{i}_{name}", company.get(name))
    for i, document in enumerate((section.get("documents") or [])[:DOCUMENT_ROWS]):
        for name in ("type", "number", "country"):
            _set(values, f"document{i}_{name}", document.get(name))


def _vessel(vessel: object, values: Values) -> None:
    if isinstance(vessel, dict):
        _set(values, "imo", vessel.get("imo"))
        _set(values, "vessel_name", vessel.get("name"))
        _set(values, "flag", vessel.get("flag"))


def _alert(body: dict[str, Any], values: Values, lists: Lists, tz: str) -> None:
    values["origin"] = _code(body.get("origin"))
    values["destination"] = _code(body.get("destination"))
    values["expected"] = minute(body.get("expected_ms"), tz)
    subject = body.get("subject") or {}
    _set(values, "subject_type", subject.get("type"))
    for name in ("container", "flight", "awb"):
        _set(values, name, subject.get(name))
    _vessel(subject.get("vessel"), values)
    lists["indicators"] = [str(i) for i in body.get("indicators") or []]


def _seizure(body: dict[str, Any], values: Values, tz: str) -> None:
    values["seized"] = minute(body.get("seized_ms"), tz)
    values["location"] = _code(body.get("location"))
    for name in ("transport", "concealment", "detection", "case_ref"):
        _set(values, name, body.get(name))
    commodity = (body.get("commodities") or [{}])[0]
    quantity = commodity.get("quantity") or {}
    for name, value in (
        ("category", commodity.get("category")),
        ("description", commodity.get("description")),
        ("packaging", commodity.get("packaging")),
        ("amount", quantity.get("amount")),
        ("unit", quantity.get("unit")),
        ("currency", quantity.get("currency")),
    ):
        _set(values, name, value)
    conveyance = body.get("conveyance") or {}
    for name in ("container", "flight", "awb"):
        _set(values, name, conveyance.get(name))
    values["seals"] = " ".join(conveyance.get("seals") or [])
    _vessel(conveyance.get("vessel"), values)
    vehicle = conveyance.get("vehicle") or {}
    _set(values, "plate", vehicle.get("plate"))
    _set(values, "plate_country", vehicle.get("country"))
    route = body.get("route") or {}
    for leg in ("loading", "discharge", "destination"):
        values[f"route_{leg}"] = _code(route.get(leg))
    values["route_transit"] = " ".join(_code(t) for t in route.get("transit") or [])


def _case(body: dict[str, Any], values: Values, lists: Lists, tz: str) -> None:
    for name in ("case_ref", "title", "status"):
        _set(values, name, body.get(name))
    lists["offences"] = [str(o) for o in body.get("offences") or []]
    values["linked"] = "\n".join(body.get("linked") or [])
    for i, task in enumerate((body.get("tasks") or [])[:TASK_ROWS]):
        for name in ("ref", "title", "status", "assignee"):
            _set(values, f"task{i}_{name}", task.get(name))
        values[f"task{i}_due"] = minute(task.get("due_ms"), tz)


def _outcome(body: dict[str, Any], values: Values, tz: str) -> None:
    for name in ("alert", "result", "seizure"):
        _set(values, name, body.get(name))
    values["at"] = minute(body.get("at_ms"), tz)
    _set(values, "text", (body.get("text") or {}).get("text"))


def fields_of(body: dict[str, Any], tz: str = "UTC") -> tuple[Values, Lists]:
    """The form values and checked lists that would publish ``body`` again (times in ``tz``)."""
    values: Values = {"tz": tz}
    lists: Lists = {}
    kind = body.get("kind")
    if kind == "notice.outcome":
        _outcome(body, values, tz)
        return values, lists
    _reported(body, values, lists)
    _nominal(body, values)
    if kind == "notice.alert":
        _alert(body, values, lists, tz)
    elif kind == "notice.seizure":
        _seizure(body, values, tz)
    elif kind == "notice.case":
        _case(body, values, lists, tz)
    return values, lists


def paths(value: Any, prefix: str = "") -> set[str]:
    """Every leaf field of a notice's JSON, as a path (``commodities[1].category``)."""
    if isinstance(value, dict):
        return {p for k, v in value.items() for p in paths(v, f"{prefix}.{k}" if prefix else k)}
    if isinstance(value, list):
        return {p for i, v in enumerate(value) for p in paths(v, f"{prefix}[{i}]")}
    return {prefix}


def lost_fields(sent: dict[str, Any], refilled: dict[str, Any]) -> list[str]:
    """The fields of ``sent`` its form cannot hold (a correction from the form drops them)."""
    kept_apart = ("attachments",)  # carried as stored photos, not as fields
    return sorted(p for p in paths(sent) - paths(refilled) if not p.startswith(kept_apart))


def seizure_of_alert(body: dict[str, Any], now: str) -> Values:
    """A seizure form started from the alert it answers: where, what carried it, the route.

    Seized now, at the alert's destination, in the container, vessel or
    flight the alert named, on the route it gave; the officer adds what was
    found and how much.
    """
    values: Values = {"seized": now}
    _set(values, "programme", body.get("programme"))
    destination = _code(body.get("destination"))
    values["location"] = destination
    values["route_loading"] = _code(body.get("origin"))
    values["route_destination"] = destination
    subject = body.get("subject") or {}
    for name in ("container", "flight", "awb"):
        _set(values, name, subject.get(name))
    _vessel(subject.get("vessel"), values)
    _set(values, "transport", "air" if subject.get("type") in ("flight", "awb") else "sea")
    return values
