"""The feed's filter form, built from the API's one table of filters (``services.filters``).

Each filter of ``FILTERS`` is offered, labelled in the reader's language and
drawn as the input its values need (a list for a closed set, a date for a
date range); the first few are always shown, the others under "More
filters", opened when one of them is in use. A filter added to the table
without a label here fails a test, so the console never lags the API.
"""

from __future__ import annotations

from dataclasses import dataclass

from baliza.node.console.i18n import N_
from baliza.node.services.filters import FILTERS
from baliza.protocol.notices import KINDS, Programme
from baliza.protocol.notices.seizure import Category

LABELS = {
    "q": N_("Text"),
    "kind": N_("Kind"),
    "sender": N_("Sender"),
    "programme": N_("Programme"),
    "since": N_("From (date)"),
    "until": N_("Before (date)"),
    "direction": N_("Direction"),
    "location": N_("Place on the route (code)"),
    "commodity": N_("Commodity"),
    "container": N_("Container"),
    "vessel": N_("Vessel (IMO number)"),
    "flight": N_("Flight"),
    "awb": N_("Air waybill"),
    "company": N_("Company"),
    "person": N_("Person (family and given names)"),
    "document": N_("Document (number, with or without country)"),
    "vehicle": N_("Vehicle plate"),
    "case": N_("Case reference"),
    "channel": N_("Channel"),
}
SHOWN = ("q", "kind", "sender", "container", "direction")
DATES = ("since", "until")


@dataclass(frozen=True, slots=True)
class FilterField:
    """One input of the form: its filter name, label, widget and (for a list) its options."""

    name: str
    label: str
    widget: str  # "text", "date" or "select"
    options: tuple[tuple[str, str], ...] = ()  # (value, untranslated word)


def _options(name: str) -> tuple[tuple[str, str], ...]:
    if name == "kind":
        return tuple((k, k) for k in sorted(KINDS) if k != "receipt")
    if name == "direction":
        return (("in", N_("Received")), ("out", N_("Sent")))
    if name == "programme":
        return tuple((p.value, p.value) for p in Programme)
    if name == "commodity":
        return tuple((c.value, c.value) for c in Category)
    return ()


def fields() -> tuple[list[FilterField], list[FilterField]]:
    """The form's inputs: those always shown, and those under "More filters"."""
    shown: list[FilterField] = []
    more: list[FilterField] = []
    for spec in FILTERS:
        options = _options(spec.name)
        widget = "select" if options else "date" if spec.name in DATES else "text"
        field = FilterField(spec.name, LABELS[spec.name], widget, options)
        (shown if spec.name in SHOWN else more).append(field)
    shown.sort(key=lambda f: SHOWN.index(f.name))
    return shown, more
