"""The long form's parts: route legs, requests, the nominal section, tasks, conveyance.

Like ``forms.py`` this only arranges what was typed into the notice's JSON
form; the protocol checks every value. The long form has a fixed number of
rows (persons, companies, documents, tasks): no script is needed to add one,
and an empty row is simply left out. ``FIELD_ROWS`` maps a refusal inside a
row (``notice.nominal.persons[1].nationality``) back to the input that holds
it (``person1_nationality``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PERSON_ROWS = 2
COMPANY_ROWS = 2
DOCUMENT_ROWS = 2
TASK_ROWS = 3

PERSON_FIELDS = ("role", "family_name", "given_names", "nationality", "birth_date")
COMPANY_FIELDS = ("role", "name", "country", "registration")
DOCUMENT_FIELDS = ("type", "number", "country")
TASK_FIELDS = ("ref", "title", "status", "assignee", "due")

# A refusal inside a row of the long form → the input holding it.
FIELD_ROWS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"notice\.nominal\.persons\[(\d+)\]\.documents\[\d+\]\.(\w+)"),
        "person{0}_doc_{1}",
    ),
    (re.compile(r"notice\.nominal\.persons\[(\d+)\]\.(\w+)"), "person{0}_{1}"),
    (re.compile(r"notice\.nominal\.companies\[(\d+)\]\.(\w+)"), "company{0}_{1}"),
    (re.compile(r"notice\.nominal\.documents\[(\d+)\]\.(\w+)"), "document{0}_{1}"),
    (re.compile(r"notice\.tasks\[(\d+)\]\.(\w+)"), "task{0}_{1}"),
)
ROW_FIELD_RENAMES = {"due_ms": "due"}


def row_field(path: str) -> str:
    """The row input a refusal at ``path`` belongs to ('' when it is not in a row)."""
    for pattern, template in FIELD_ROWS:
        found = pattern.match(path)
        if found is not None:
            name = ROW_FIELD_RENAMES.get(found.group(2), found.group(2))
            return template.format(found.group(1), name)
    return ""


def text(form: Mapping[str, str], name: str) -> str | None:
    """A typed value without outer spaces, or None when nothing was typed."""
    value = form.get(name, "").strip()
    return value or None


def upper(form: Mapping[str, str], name: str) -> str | None:
    """A code typed in any case (country, document number, plate), upper-cased."""
    value = text(form, name)
    return value.upper() if value else None


def drop_empty(value: dict[str, Any]) -> dict[str, Any]:
    """A map without the fields nobody filled in."""
    return {k: v for k, v in value.items() if v is not None and v != [] and v != {}}


def words(form: Mapping[str, str], name: str) -> list[str]:
    """A list typed on one line or several, separated by commas, spaces or new lines."""
    return [w for w in re.split(r"[\s,;]+", form.get(name, "")) if w]


def place(code: str | None) -> dict[str, str] | None:
    """A typed code as a location: three letters are an airport, else a LOCODE."""
    if code is None:
        return None
    code = code.upper().replace(" ", "")
    return {"airport": code} if len(code) == 3 else {"locode": code}


def route(form: Mapping[str, str]) -> dict[str, Any] | None:
    """Loading → transit → discharge → destination, or None when no leg was given."""
    legs = drop_empty(
        {
            "loading": place(text(form, "route_loading")),
            "transit": [place(code) for code in words(form, "route_transit")],
            "discharge": place(text(form, "route_discharge")),
            "destination": place(text(form, "route_destination")),
        }
    )
    return legs or None


def requests(form: Mapping[str, str], lists: Mapping[str, list[str]]) -> list[dict[str, str]]:
    """What the recipients are asked to do; ``other`` carries the note typed for it."""
    note = text(form, "request_note")
    return [
        drop_empty({"action": action, "note": note if action == "other" else None})
        for action in sorted(lists.get("requests", []))
    ]


def unit(form: Mapping[str, str], agency: str) -> dict[str, str]:
    """The reporting unit: this agency, with the unit's name and contact if given."""
    return drop_empty(
        {"agency": agency, "name": text(form, "unit_name"), "contact": text(form, "unit_contact")}
    )


def _document(form: Mapping[str, str], prefix: str) -> dict[str, str] | None:
    number = upper(form, f"{prefix}number")
    if number is None:
        return None
    return drop_empty(
        {
            "type": form.get(f"{prefix}type", "other"),
            "number": number,
            "country": upper(form, f"{prefix}country"),
        }
    )


def _person(form: Mapping[str, str], i: int) -> dict[str, Any] | None:
    family = text(form, f"person{i}_family_name")
    document = _document(form, f"person{i}_doc_")
    if family is None and document is None and text(form, f"person{i}_given_names") is None:
        return None
    return drop_empty(
        {
            "role": form.get(f"person{i}_role"),
            "family_name": family,
            "given_names": text(form, f"person{i}_given_names"),
            "nationality": upper(form, f"person{i}_nationality"),
            "birth_date": text(form, f"person{i}_birth_date"),
            "documents": [document] if document else [],
        }
    )


def _company(form: Mapping[str, str], i: int) -> dict[str, Any] | None:
    name = text(form, f"company{i}_name")
    registration = text(form, f"company{i}_registration")
    if name is None and registration is None:
        return None
    return drop_empty(
        {
            "role": form.get(f"company{i}_role"),
            "name": name,
            "country": upper(form, f"company{i}_country"),
            "registration": registration,
        }
    )


def nominal(form: Mapping[str, str]) -> dict[str, Any] | None:
    """Persons, companies and documents named, or None (an empty section is not sent)."""
    section = drop_empty(
        {
            "persons": [p for i in range(PERSON_ROWS) if (p := _person(form, i))],
            "companies": [c for i in range(COMPANY_ROWS) if (c := _company(form, i))],
            "documents": [
                d for i in range(DOCUMENT_ROWS) if (d := _document(form, f"document{i}_"))
            ],
        }
    )
    return section or None


def tasks(form: Mapping[str, str], due: list[int | None]) -> list[dict[str, Any]]:
    """A case's tasks; ``due`` holds each row's due time, already read as UTC ms."""
    out = []
    for i in range(TASK_ROWS):
        ref, title = text(form, f"task{i}_ref"), text(form, f"task{i}_title")
        if ref is None and title is None:
            continue
        out.append(
            drop_empty(
                {
                    "ref": ref,
                    "title": title,
                    "status": form.get(f"task{i}_status", "open"),
                    "assignee": text(form, f"task{i}_assignee"),
                    "due_ms": due[i],
                }
            )
        )
    return out


def conveyance(form: Mapping[str, str]) -> dict[str, Any] | None:
    """What carried the goods, or None when nothing was given."""
    imo, vessel_name, flag = text(form, "imo"), text(form, "vessel_name"), upper(form, "flag")
    plate = upper(form, "plate")
    found = drop_empty(
        {
            "container": text(form, "container"),
            "seals": [s.upper() for s in words(form, "seals")],
            "vessel": drop_empty({"imo": imo, "name": vessel_name, "flag": flag})
            if imo or vessel_name or flag
            else None,
            "flight": text(form, "flight"),
            "awb": text(form, "awb"),
            "vehicle": drop_empty({"plate": plate, "country": upper(form, "plate_country")})
            if plate
            else None,
        }
    )
    return found or None
