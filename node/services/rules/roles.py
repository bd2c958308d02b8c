"""What each role may do: the one rule the API, the console and the CLI all ask.

Roles nest (an administrator may publish, a publisher may read). The rule
is a pure function returning the refusal rather than raising it, so a page
can ask it before offering an action and say why an action is not offered,
in the same words the API would refuse it with, and a route can raise the
same refusal when the action is attempted anyway.

The actions a notice page offers, and the role each needs:

- ``answer_alert``: recording the outcome of a received alert (an outcome is
  a notice the node signs and sends, so it is publishing)
- ``record_seizure``: publishing a seizure that answers a received alert,
  with the outcome naming it
- ``share``: passing a received notice on to other partners
- ``correct``: publishing a correction of a notice this agency sent
- ``publish``: any other notice
- ``administer``: tokens, peers, keys, channels, subscriptions
"""

from __future__ import annotations

from enum import StrEnum

from baliza.protocol.errors import ReasonCode, TrustError


class Role(StrEnum):
    """What a token may do. Each role includes the ones listed before it."""

    ANALYST = "analyst"  # read and follow notices
    PUBLISHER = "publisher"  # and publish
    ADMIN = "admin"  # and manage tokens, peers, keys

    def allows(self, needed: Role) -> bool:
        """Whether this role may do what ``needed`` may."""
        return role_refusal(self, needed) is None


class Action(StrEnum):
    """Something a person may be offered, which some roles may not do."""

    READ = "read"
    ANSWER_ALERT = "answer_alert"
    RECORD_SEIZURE = "record_seizure"
    SHARE = "share"
    CORRECT = "correct"
    PUBLISH = "publish"
    ADMINISTER = "administer"


NEEDS = {
    Action.READ: Role.ANALYST,
    Action.ANSWER_ALERT: Role.PUBLISHER,
    Action.RECORD_SEIZURE: Role.PUBLISHER,
    Action.SHARE: Role.PUBLISHER,
    Action.CORRECT: Role.PUBLISHER,
    Action.PUBLISH: Role.PUBLISHER,
    Action.ADMINISTER: Role.ADMIN,
}
_ORDER = tuple(Role)


def role_refusal(have: Role, needed: Role) -> TrustError | None:
    """The refusal (``forbidden``) of ``have`` doing what needs ``needed``, or None."""
    if _ORDER.index(have) >= _ORDER.index(needed):
        return None
    return TrustError(ReasonCode.FORBIDDEN, f"this needs the {needed} role; the token is {have}")


def action_refusal(have: Role, action: Action) -> TrustError | None:
    """The refusal of ``have`` doing ``action``, or None (see the table above)."""
    return role_refusal(have, NEEDS[action])
