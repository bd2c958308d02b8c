"""The administrator's data strings in the reader's language.

Trust events, subscription states and reasons and subscription filters are
stored as codes and short English phrases (the API and the audit log keep
them so); the console says them as words. Spanish and Portuguese give a
subscription (``suscripción``, ``subscrição``) feminine states while the
delivery of a notice (``envío``) keeps its own: the states are translated
in the context of a subscription (``pgettext``), never shared.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from baliza.node.console.i18n import N_, Formatter
from baliza.node.console.places import countries, locate


def NP_(context: str, message: str) -> tuple[str, str]:  # noqa: N802 (the gettext convention)
    """Mark ``message`` in ``context`` for translation without translating it now."""
    return context, message


TRUST_EVENTS = {
    "token.created": N_("Token created"),
    "token.revoked": N_("Token revoked"),
    "peer.block": N_("Agency blocked"),
    "peer.pause": N_("Delivery to an agency paused"),
    "peer.unblock": N_("Agency unblocked"),
    "directory.applied": N_("Directory version applied"),
    "channel.membership": N_("Channel members changed"),
    "channel.conflict": N_("Contradicting channel history refused"),
    "channel.alarm_resolved": N_("Channel alarm resolved"),
    "audit.equivocation": N_("A peer signed two audit histories"),
    "key.generated": N_("Keys generated"),
    "key.rotated": N_("Keys rotated"),
}

SUBSCRIPTION_STATES = {
    "requested": NP_("subscription", "requested"),
    "pending": NP_("subscription", "pending"),
    "admitted": NP_("subscription", "admitted"),
    "refused": NP_("subscription", "refused"),
    "paused": NP_("subscription", "paused"),
    "cancelled": NP_("subscription", "cancelled"),
}

# The reasons the node itself writes (an administrator's own reason is shown as written).
SUBSCRIPTION_REASONS = {
    "admitted by policy": N_("admitted by policy"),
    "held for an administrator": N_("held for an administrator"),
}

FILTER_PARTS = {
    "kinds": N_("Kinds of notice"),
    "programmes": N_("Programmes"),
    "categories": N_("Commodities"),
    "countries": N_("Countries"),
    "places": N_("Places"),
}


@dataclass(frozen=True, slots=True)
class FilterLine:
    """One narrowing of a subscription filter: its label and its values, in words."""

    label: str
    values: tuple[str, ...]


def trust_event(action: str, fmt: Formatter) -> str:
    """A trust event's action in words (the code itself for one this console does not know)."""
    return fmt.gettext(TRUST_EVENTS[action]) if action in TRUST_EVENTS else action


def subscription_state(state: str, fmt: Formatter) -> str:
    """A subscription's state, as its own noun's gender wants it."""
    if state not in SUBSCRIPTION_STATES:
        return state
    return fmt.pgettext(*SUBSCRIPTION_STATES[state])


def subscription_reason(reason: str | None, fmt: Formatter) -> str:
    """The node's own reasons translated; an administrator's words as written."""
    if not reason:
        return ""
    return fmt.gettext(SUBSCRIPTION_REASONS[reason]) if reason in SUBSCRIPTION_REASONS else reason


# The label of a filter shown as written (a noun: "Filtro", not the verb "Filtrar").
FILTER_LABEL = NP_("noun: a subscription's filter", "Filter")


def filter_lines(filter_json: str, fmt: Formatter) -> list[FilterLine]:
    """A subscription filter as labelled words; empty for "every notice"."""
    try:
        wire = json.loads(filter_json)
    except ValueError:
        return [FilterLine(fmt.pgettext(*FILTER_LABEL), (filter_json,))]
    if not isinstance(wire, dict):
        return [FilterLine(fmt.pgettext(*FILTER_LABEL), (filter_json,))]
    names = dict(countries(fmt.lang))
    out = []
    for key, label in FILTER_PARTS.items():
        items = wire.get(key) or []
        if not isinstance(items, list):
            continue
        words = []
        for item in map(str, items):
            if key == "countries":
                words.append(names.get(item.upper(), item))
            elif key == "places":
                place = locate(item)
                words.append(f"{place.name} ({item})" if place else item)
            else:
                words.append(fmt.gettext(item))
        out.append(FilterLine(fmt.gettext(label), tuple(words)))
    return out
