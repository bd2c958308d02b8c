"""Every refused field of a publish form at once, by the protocol's own checks.

The protocol stops at the first field it refuses. So that a person sees
every problem after one submission, the form is checked again and again
without publishing: each refused field is noted, then stood in for by a
value the protocol accepts (or emptied, for a field that may be empty),
and the notice is built and checked once more, until it passes or a field
is refused twice. Nothing here decides what is valid: ``PublishRequest``
does, as for the API. Each message says what to write, and a place typed
by name ("Cartagena") is offered its code from the node's code lists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from baliza.node.console import places
from baliza.node.console.forms import field_of
from baliza.node.console.i18n import N_, Formatter
from baliza.node.console.reasons import explain
from baliza.node.services.publish import PublishRequest
from baliza.protocol.errors import BalizaError, ReasonCode

Build = Callable[[dict[str, str], dict[str, list[str]]], dict[str, Any]]
MAX_ROUNDS = 40
PLACE_FIELDS = frozenset(
    {"origin", "destination", "location", "route_loading", "route_discharge", "route_destination"}
)
# What to write, shown after the reason a field was refused.
HINTS = {
    **dict.fromkeys(
        PLACE_FIELDS,
        N_("Write a UN/LOCODE such as COCTG or ESALG, or an IATA airport code such as BOG."),
    ),
    "route_transit": N_("Write UN/LOCODEs separated by spaces, such as PABLB ESVLC."),
    "container": N_("Write four letters and seven digits, such as MSCU1234566."),
    "flight": N_("Write the airline code and the number, such as IB6011."),
    "awb": N_("Write the eleven digits, such as 075-12345675."),
    "imo": N_("Write the seven digits of the IMO number, such as 9074729."),
    "amount": N_("Write a number, such as 412 kg, 35000 or 1.5 l."),
    "currency": N_("Write a three-letter currency code, such as EUR or USD."),
    "recipients": N_("Tick at least one agency to send it to."),
    "expected": N_("Give the date and the time of the arrival."),
    "seized": N_("Give the date and the time of the seizure."),
    "at": N_("Give the date and the time."),
    "case_ref": N_("Write letters, digits and / . _ -, such as ES-AEAT-2026/0412."),
    "alert": N_("Open the alert and use its “Record the outcome” link: it fills this in."),
    "channel": N_("Choose the joint investigation team the case belongs to."),
}
# The form's own labels (the same words as the form shows), for the summary.
LABELS = {
    "origin": N_("Origin (UN/LOCODE or IATA airport)"),
    "destination": N_("Destination (UN/LOCODE or IATA airport)"),
    "expected": N_("Expected arrival"),
    "subject_type": N_("The alert is about a"),
    "container": N_("Container number"),
    "flight": N_("Flight"),
    "awb": N_("Air waybill"),
    "imo": N_("Vessel IMO number"),
    "vessel_name": N_("Vessel name"),
    "flag": N_("Vessel flag"),
    "indicators": N_("Why it was selected"),
    "seized": N_("Seized at"),
    "location": N_("Where (UN/LOCODE or IATA airport)"),
    "transport": N_("Transport"),
    "category": N_("What was seized"),
    "amount": N_("Quantity"),
    "unit": N_("Unit"),
    "currency": N_("Currency (for unit minor)"),
    "description": N_("Description of the goods"),
    "packaging": N_("Packaging"),
    "concealment": N_("How it was hidden"),
    "detection": N_("What led to the find"),
    "seals": N_("Container seals"),
    "plate": N_("Vehicle plate"),
    "plate_country": N_("Country of the plate"),
    "route_loading": N_("Loaded at (UN/LOCODE or IATA airport)"),
    "route_transit": N_("Through (codes separated by spaces)"),
    "route_discharge": N_("Discharged at"),
    "route_destination": N_("Final destination"),
    "case_ref": N_("Case reference"),
    "alert": N_("Alert answered (its identifier)"),
    "result": N_("What was found"),
    "at": N_("When"),
    "seizure": N_("Seizure notice (its identifier, when something was seized)"),
    "title": N_("Title of the case"),
    "status": N_("Where the case stands"),
    "offences": N_("Offences"),
    "linked": N_("Linked notices (identifiers, one per line)"),
    "channel": N_("Joint investigation team (channel)"),
    "recipients": N_("Recipients"),
    "tlp": N_("Traffic Light Protocol"),
    "codes": N_("Handling codes"),
    "restrictions": N_("Restrictions (with H3)"),
    "text": N_("Remarks"),
    "evaluation": N_("Evaluation (source and information)"),
    "photos": N_("Photos and documents"),
    "programme": N_("Programme"),
    "reason": N_("Reason for the correction"),
}
LIST_FIELDS = frozenset({"recipients", "codes", "indicators", "offences", "requests"})


def _moment(hours: int) -> str:
    # A stand-in read in any zone (UTC-12 to UTC+14) stays on the same side of now.
    return (datetime.now(UTC) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def _stand_ins() -> dict[str, str]:
    """Values the protocol accepts, put in place of a refused field to look further."""
    return {
        "origin": "ECGYE",
        "destination": "ESALG",
        "location": "ESALG",
        "route_loading": "ECGYE",
        "route_discharge": "ESALG",
        "container": "MSCU1234566",
        "flight": "IB6011",
        "awb": "075-12345675",
        "imo": "9074729",
        "amount": "1",
        "currency": "EUR",
        "expected": _moment(48),
        "seized": _moment(-26),
        "at": _moment(-26),
        "case_ref": "XX-0000/0001",
        "title": "-",
    }


@dataclass(frozen=True, slots=True)
class Refusal:
    """One refused field: where it is, and what the person is told."""

    field: str
    label: str
    message: str


def _place_match(typed: str, fmt: Formatter) -> str:
    """ "Cartagena → COCTG, ESCAR": the codes of the places a name matches."""
    found = places.find(typed)[:4]
    if not found or any(p.code == typed.strip().upper() for p in found):
        return ""
    offered = ", ".join(f"{p.name} → {p.code}" for p in found)
    return fmt.gettext("Did you mean: %(places)s?") % {"places": offered}


# Reasons that say only that the value is wrong: where the field says what to write,
# that is said instead ("too short or too long" for "Cartagena" tells nobody anything).
GENERIC = frozenset({ReasonCode.BAD_LENGTH, ReasonCode.WRONG_TYPE, ReasonCode.BAD_FORMAT})


def message(field: str, err: BalizaError, typed: str, fmt: Formatter) -> str:
    """The reason, what to write, and for a place typed by name, the matching codes."""
    generic = err.reason in GENERIC and field in HINTS
    parts = [] if generic else [explain(err, fmt)]
    if field in HINTS:
        parts.append(fmt.gettext(HINTS[field]))
    if field in PLACE_FIELDS and typed.strip():
        parts.append(_place_match(typed, fmt))
    return " ".join(p for p in parts if p)


def refusals(
    build: Build,
    body_of: Callable[[dict[str, Any], dict[str, str], dict[str, list[str]]], dict[str, Any]],
    values: dict[str, str],
    lists: dict[str, list[str]],
    fmt: Formatter,
) -> list[Refusal]:
    """Every field the protocol refuses in this form, in the order it checks them.

    ``build`` makes the notice from the form, ``body_of`` the publish body
    around it; nothing is published or stored.
    """
    trial = dict(values)
    trial_lists = {k: list(v) for k, v in lists.items()}
    stand_ins = _stand_ins()
    found: list[Refusal] = []
    seen: set[str] = set()
    for _ in range(MAX_ROUNDS):
        try:
            PublishRequest.from_json(body_of(build(trial, trial_lists), trial, trial_lists))
            return found
        except BalizaError as err:
            field = field_of(err.path)
            if field in seen:
                return found  # stood in for and refused again: nothing more to learn
            seen.add(field)
            typed = values.get(field, "")
            label = fmt.gettext(LABELS[field]) if field in LABELS else ""
            found.append(Refusal(field, label, message(field, err, typed, fmt)))
            if not field:
                return found
            if field in LIST_FIELDS:
                trial_lists[field] = ["zz.example.node"] if field == "recipients" else []
            else:
                trial[field] = stand_ins.get(field, "")
    return found
