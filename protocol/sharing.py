"""The handling rules that decide whether a notice may travel further.

One function per question, each answering with the rule it applied, so every
refusal names its rule:

- may a subscriber receive a notice with this handling? (``subscriber_rule``)
- may a recipient pass a received notice on, and does it need the
  originator's permission first? (``share_rule``)

TLP 2.0 limits how far (RED: only the named recipients; AMBER+STRICT: only the
receiving organisation). The handling codes limit what a recipient may do: H2
forbids onward dissemination without the provider's permission, and H3 states
restrictions only a person can judge, so both need the originator's consent.
H0 (law-enforcement use) and H1 (no court use without permission) do not stop
sharing between the law-enforcement members of a federation.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from baliza.protocol.errors import ReasonCode, TrustError
from baliza.protocol.handling import Handling, HandlingCode, Tlp

RULE_RED = "TLP:RED never leaves its named recipients"
RULE_AMBER_STRICT = "TLP:AMBER+STRICT stays inside the receiving organisation"
RULE_H2 = "H2: no onward dissemination without the provider's permission"
RULE_H3 = "H3: the stated restrictions need the provider's permission to pass it on"


class ShareNeed(StrEnum):
    """What passing a notice on requires."""

    FREE = "free"
    PERMISSION = "permission"


@dataclass(frozen=True, slots=True)
class ShareRule:
    """Whether a share may go now or after a grant, and the rule that says so."""

    need: ShareNeed
    rule: str | None = None


def _far_enough(handling: Handling) -> None:
    if handling.tlp is Tlp.RED:
        raise TrustError(ReasonCode.HANDLING_FORBIDS, RULE_RED, path="handling.tlp")
    if handling.tlp is Tlp.AMBER_STRICT:
        raise TrustError(ReasonCode.HANDLING_FORBIDS, RULE_AMBER_STRICT, path="handling.tlp")


def subscriber_rule(handling: Handling) -> str | None:
    """The rule that keeps a notice from subscribers, or None when they may receive it."""
    try:
        _far_enough(handling)
    except TrustError as err:
        return err.detail
    return None


def share_rule(handling: Handling) -> ShareRule:
    """Whether a received notice may be passed on; raise ``TrustError`` naming the rule if never."""
    _far_enough(handling)
    if HandlingCode.H2 in handling.codes:
        return ShareRule(ShareNeed.PERMISSION, RULE_H2)
    if HandlingCode.H3 in handling.codes:
        return ShareRule(ShareNeed.PERMISSION, RULE_H3)
    return ShareRule(ShareNeed.FREE)
