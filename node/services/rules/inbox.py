"""The inbox's rules: what comes first, which changes are allowed, and who may make them.

Rules of this file:

- Everything here is pure: facts and ``now`` in, a decision out. The
  console, the API and the CLI all ask these functions, through
  ``services.inbox``, and nothing else decides the same questions.
- A received notice is, for the agency, ``new`` until someone works on it,
  ``in_progress`` while someone does, ``done`` when finished. The allowed
  steps are the table ``STEPS``: done is reopened by going back to work on
  it (``in_progress``), never straight to ``new``, so a reopened notice
  keeps a holder. Setting the value a notice already has changes nothing.
- Putting a notice in progress gives it to whoever did, if nobody held it:
  work in progress always has a holder, so a handover can name them.
- Every person (analyst and up) may take an unassigned notice, release their
  own, and change status and priority of what they hold or nobody holds. To
  assign a notice to a colleague, or to change one that a colleague holds,
  takes a publisher (the officers who run the queue): an analyst cannot
  move another person's work. The assignee must be an enabled account here.
- The order: alerts whose expected arrival is within ``NEAR_MS`` or past,
  and that no outcome has answered, come first, the soonest first (the
  alert board's own notion of expected arrival and answer, see
  ``views.board.alert_state``); then by priority, then new before in
  progress before done, then the newest arrival first.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final

from baliza.node.services.rules.roles import Role
from baliza.protocol.errors import InputError, ReasonCode, TrustError

NEAR_MS: Final = 2 * 3600 * 1000  # an alert arriving within two hours goes to the top


class Status(StrEnum):
    """How far the agency is with a received notice."""

    NEW = "new"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class Priority(StrEnum):
    """How urgent a received notice is for the agency, lowest first."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """0 for the lowest priority, 3 for the highest."""
        return tuple(Priority).index(self)


STEPS: Final = {
    Status.NEW: frozenset({Status.IN_PROGRESS, Status.DONE}),
    Status.IN_PROGRESS: frozenset({Status.NEW, Status.DONE}),
    Status.DONE: frozenset({Status.IN_PROGRESS}),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Holding:
    """The agency's shared state of one received notice (a notice with no row: ``FRESH``)."""

    status: Status = Status.NEW
    priority: Priority = Priority.NORMAL
    assignee: str | None = None  # a user id


FRESH: Final = Holding()


@dataclass(frozen=True, slots=True, kw_only=True)
class Person:
    """Who asks for a change: a user of this node, with their role and unit."""

    user_id: str
    role: Role
    unit: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Colleague:
    """An account a notice may be assigned to, as storage found it."""

    id: str
    login: str
    disabled: bool


def status_of(raw: str, path: str = "status") -> Status:
    """The status named ``raw``; ``InputError(BAD_ENUM)`` naming ``path`` otherwise."""
    try:
        return Status(raw)
    except ValueError:
        allowed = ", ".join(s.value for s in Status)
        raise InputError(ReasonCode.BAD_ENUM, f"must be one of: {allowed}", path=path) from None


def priority_of(raw: str, path: str = "priority") -> Priority:
    """The priority named ``raw``; ``InputError(BAD_ENUM)`` naming ``path`` otherwise."""
    try:
        return Priority(raw)
    except ValueError:
        allowed = ", ".join(p.value for p in Priority)
        raise InputError(ReasonCode.BAD_ENUM, f"must be one of: {allowed}", path=path) from None


def _may_touch(person: Person, holding: Holding, path: str) -> TrustError | None:
    """A notice held by someone else is moved only by a publisher or above."""
    if holding.assignee in (None, person.user_id) or person.role.allows(Role.PUBLISHER):
        return None
    return TrustError(
        ReasonCode.FORBIDDEN,
        "a colleague holds this notice; changing it needs the publisher role",
        path=path,
    )


def assign(person: Person, holding: Holding, to: Colleague | None, named: str) -> Holding:
    """``holding`` given to ``to`` (``named`` is what was asked for; "" releases it).

    Raises ``InputError(NOT_FOUND)`` naming ``assignee`` for an account not
    on this node, ``InputError(CONFLICT)`` for a disabled one, and
    ``TrustError(FORBIDDEN)`` when an analyst assigns to someone else or
    moves a colleague's notice.
    """
    if named and to is None:
        raise InputError(
            ReasonCode.NOT_FOUND, f"no account {named!r} on this node", path="assignee"
        )
    if to is not None and to.disabled:
        raise InputError(
            ReasonCode.CONFLICT, f"the account {to.login!r} is disabled", path="assignee"
        )
    refusal = _may_touch(person, holding, "assignee")
    if refusal is not None:
        raise refusal
    if to is not None and to.id != person.user_id and not person.role.allows(Role.PUBLISHER):
        raise TrustError(
            ReasonCode.FORBIDDEN,
            "assigning a notice to a colleague needs the publisher role",
            path="assignee",
        )
    return replace(holding, assignee=None if to is None else to.id)


def set_status(person: Person, holding: Holding, wanted: Status) -> Holding:
    """``holding`` with its status ``wanted``: an allowed step, or the same status (no change).

    Going in progress without a holder gives the notice to ``person``.
    Raises ``InputError(CONFLICT)`` naming ``status`` for a step ``STEPS``
    does not allow, ``TrustError(FORBIDDEN)`` for a colleague's notice and
    an analyst.
    """
    if wanted is holding.status:
        return holding
    refusal = _may_touch(person, holding, "status")
    if refusal is not None:
        raise refusal
    if wanted not in STEPS[holding.status]:
        raise InputError(
            ReasonCode.CONFLICT,
            f"a notice that is {holding.status} cannot become {wanted}",
            path="status",
        )
    holder = holding.assignee
    if wanted is Status.IN_PROGRESS and holder is None:
        holder = person.user_id
    return replace(holding, status=wanted, assignee=holder)


def set_priority(person: Person, holding: Holding, wanted: Priority) -> Holding:
    """``holding`` with priority ``wanted``; ``TrustError(FORBIDDEN)`` as for ``set_status``."""
    if wanted is holding.priority:
        return holding
    refusal = _may_touch(person, holding, "priority")
    if refusal is not None:
        raise refusal
    return replace(holding, priority=wanted)


def pressing(expected_ms: int | None, answered: bool, now: int) -> bool:
    """Whether an alert goes to the top: no answer, and expected within ``NEAR_MS`` or past."""
    return expected_ms is not None and not answered and expected_ms - now <= NEAR_MS


@dataclass(frozen=True, slots=True, kw_only=True)
class Placing:
    """What the order looks at in one entry."""

    seq: int  # arrival order here
    holding: Holding
    expected_ms: int | None = None  # an alert's expected arrival
    answered: bool = False  # an alert an outcome names


_STATUS_ORDER: Final = {Status.NEW: 0, Status.IN_PROGRESS: 1, Status.DONE: 2}


def order_key(placing: Placing, now: int) -> tuple[int, int, int, int, int]:
    """The sort key of an entry: smaller comes first (see the order above).

    Done work is never pressing: an alert closed without an outcome is
    someone's decision, not a forgotten one.
    """
    top = placing.holding.status is not Status.DONE and pressing(
        placing.expected_ms, placing.answered, now
    )
    return (
        0 if top else 1,
        (placing.expected_ms or 0) if top else 0,
        -placing.holding.priority.rank,
        _STATUS_ORDER[placing.holding.status],
        -placing.seq,
    )
