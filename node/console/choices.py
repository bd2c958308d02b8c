"""What a publish form offers to choose from, and the codes explained in plain words.

Every list comes from the protocol's own enumerations (so a form offers
exactly what the protocol accepts) or from the node (partners, JIT
channels), and the places from the libraries' data (``places``).
"""

from __future__ import annotations

from typing import Any

from baliza.node.console import adapter, officer_adapter, places, workflow_adapter
from baliza.node.console.form_parts import COMPANY_ROWS, DOCUMENT_ROWS, PERSON_ROWS, TASK_ROWS
from baliza.node.console.i18n import N_
from baliza.node.services.context import NodeContext
from baliza.protocol.handling import HandlingCode, Tlp
from baliza.protocol.notices import (
    CaseStatus,
    Category,
    CompanyRole,
    Concealment,
    Detection,
    DocumentType,
    Offence,
    OutcomeResult,
    PersonRole,
    Programme,
    RequestAction,
    RiskIndicator,
    SubjectType,
    TaskStatus,
    TransportMode,
)
from baliza.protocol.notices.common import Unit

HANDLING_WORDS = {
    "h0": N_("H0 — for law-enforcement use only."),
    "h1": N_("H1 — not for use in court without the sender's permission."),
    "h2": N_("H2 — not to be passed on without the sender's permission."),
    "h3": N_("H3 — other restrictions, stated below."),
}
EVALUATION_WORDS = {
    "A": N_("A — the source is reliable without doubt"),
    "B": N_("B — the source has mostly been reliable"),
    "C": N_("C — the source has not been reliable"),
    "X": N_("X — the source cannot be assessed"),
    "1": N_("1 — known to be true without reservation"),
    "2": N_("2 — known personally to the source"),
    "3": N_("3 — not known personally to the source, but corroborated"),
    "4": N_("4 — cannot be assessed"),
}


def _values(enum: Any) -> list[str]:
    return [member.value for member in enum]


async def choices(ctx: NodeContext, lang: str) -> dict[str, Any]:
    """Everything a publish form's selects, checkboxes and pickers offer."""
    return {
        "programmes": _values(Programme),
        "peers": adapter.peer_agencies(ctx),
        "jits": await officer_adapter.jit_channels(ctx),
        "programme_channels": await workflow_adapter.programme_channels(ctx),
        "tlps": _values(Tlp),
        "handling": [(c.value, HANDLING_WORDS[c.value]) for c in HandlingCode],
        "evaluation_words": EVALUATION_WORDS,
        "subject_types": _values(SubjectType),
        "indicator_values": _values(RiskIndicator),
        "transports": _values(TransportMode),
        "categories": _values(Category),
        "units": ["kg", "l", *_values(Unit)],  # kg and l: read as g and ml
        "results": _values(OutcomeResult),
        "concealments": _values(Concealment),
        "detections": _values(Detection),
        "request_actions": _values(RequestAction),
        "person_roles": _values(PersonRole),
        "company_roles": _values(CompanyRole),
        "document_types": _values(DocumentType),
        "case_statuses": _values(CaseStatus),
        "offences": _values(Offence),
        "task_statuses": _values(TaskStatus),
        "rows": {
            "person": range(PERSON_ROWS),
            "company": range(COMPANY_ROWS),
            "document": range(DOCUMENT_ROWS),
            "task": range(TASK_ROWS),
        },
        "countries": places.countries(lang),
        "seaports": places.seaports(),
    }
