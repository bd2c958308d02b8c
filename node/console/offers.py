"""What a notice page offers its reader, and why an action is not offered.

Each action is offered when it applies to the notice (a seizure, or an
outcome, answers a received alert; a correction supersedes a notice this agency sent) and the
reader's role may do it, asked of the one role rule (``rules.roles``) the
API's routes ask too. An action that applies but the role may not do is
shown with the reason instead of vanishing without a word.
"""

from __future__ import annotations

from dataclasses import dataclass

from baliza.node.console.i18n import N_
from baliza.node.services.rules.roles import Action, Role, action_refusal
from baliza.node.services.views import StoredNotice

CORRECTABLE = frozenset(
    {"notice.alert", "notice.seizure", "notice.outcome", "notice.case", "notice.correction"}
)
LABELS = {
    Action.RECORD_SEIZURE: N_("Seizure made — record it"),
    Action.ANSWER_ALERT: N_("Record the outcome"),
    Action.CORRECT: N_("Correct this notice"),
    Action.SHARE: N_("Share this notice"),
}
# Why the action is not offered: what it needs, why, and whom to ask.
WHY_NOT = {
    Action.SHARE: N_(
        "Sharing this notice needs the publisher role: a share is an envelope your node signs"
        " and sends. You are signed in as %(role)s; ask your node's administrator for a"
        " publisher token."
    ),
    Action.RECORD_SEIZURE: N_(
        "Recording a seizure that answers this alert needs the publisher role: the seizure"
        " and its outcome are notices your node signs and sends. You are signed in as"
        " %(role)s; ask your node's administrator for a publisher token."
    ),
    Action.ANSWER_ALERT: N_(
        "Recording the outcome of this alert needs the publisher role: an outcome is a notice"
        " your node signs and sends to the alert's sender. You are signed in as %(role)s; ask"
        " your node's administrator for a publisher token."
    ),
    Action.CORRECT: N_(
        "Correcting this notice needs the publisher role: a correction is a notice your node"
        " signs and sends to every recipient. You are signed in as %(role)s; ask your node's"
        " administrator for a publisher token."
    ),
}


@dataclass(frozen=True, slots=True)
class Offer:
    """One action on the page: its link when offered, or the reason it is not."""

    action: Action
    label: str
    href: str | None
    why_not: str | None


def _applies(notice: StoredNotice, own_agency: str) -> list[tuple[Action, str]]:
    found = []
    if notice.kind == "notice.alert" and notice.direction.value == "in":
        found.append(
            (Action.RECORD_SEIZURE, f"/console/publish/seizure?answers={notice.envelope_id}")
        )
        found.append((Action.ANSWER_ALERT, f"/console/publish/outcome?alert={notice.envelope_id}"))
    if notice.direction.value == "in":
        found.append((Action.SHARE, f"/console/notices/{notice.envelope_id}/share"))
    if (
        notice.direction.value == "out"
        and notice.sender == own_agency
        and notice.kind in CORRECTABLE
    ):
        found.append((Action.CORRECT, f"/console/publish/correction?of={notice.envelope_id}"))
    return found


def offers(notice: StoredNotice, own_agency: str, role: Role) -> list[Offer]:
    """The actions that apply to ``notice``, each offered or with why not (untranslated)."""
    out = []
    for action, href in _applies(notice, own_agency):
        refused = action_refusal(role, action)
        out.append(
            Offer(
                action=action,
                label=LABELS[action],
                href=None if refused else href,
                why_not=WHY_NOT[action] if refused else None,
            )
        )
    return out
