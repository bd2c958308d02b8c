"""The inbox: every notice this agency received, who holds it, and what comes first.

One model for every face: the console's Inbox page, ``GET /api/v1/inbox``
and ``baliza inbox`` render ``InboxPage``. It is derived on each read from
the stored notices, their shared state and the reader's own read marks,
so nothing received can be missing from it: a notice nobody has touched
is listed as new, unassigned, of normal priority.

- ``view`` chooses whose work: ``all`` received notices, ``mine`` (held
  by the reader), or ``unit`` (the reader's unit's shared queue: held by a
  member of the reader's unit, or by nobody).
- ``state`` narrows it: ``open`` (not done; the default), ``unread``
  (open and not yet seen by the reader), ``new``, ``in_progress``,
  ``done`` or ``any``.
- ``handover`` is the shift-change summary of the reader's unit: for
  each holder (and for nobody), how many open notices are new and how
  many in progress.

The order is the rule's (``rules.inbox.order_key``): alerts expected
within two hours or overdue, unanswered, first. The page says "N of M"
with the total, and ``complete`` is False when the node holds more
received notices than the inbox reads at once (the newest are read).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Any, Final

from sqlalchemy import Connection

from baliza.node.services.rules.inbox import (
    Holding,
    Person,
    Placing,
    Priority,
    Status,
    order_key,
    pressing,
)
from baliza.node.services.views.board import AlertState, alert_state, answers, scan
from baliza.node.storage import Database
from baliza.node.storage.notices import NoticeFilter, StoredNotice
from baliza.node.storage.sql import inbox as inbox_rows
from baliza.node.storage.sql import notices as notice_rows
from baliza.protocol.envelope import MessageKind
from baliza.protocol.errors import InputError, ReasonCode

INBOX_PAGE: Final = 20
MAX_INBOX_PAGE: Final = 200
# The inbox reads at most this many received notices, the newest; past that
# it says it is incomplete rather than leaving some out silently.
SCAN_LIMIT: Final = 20_000


class InboxView(StrEnum):
    """Whose work a page lists."""

    ALL = "all"
    MINE = "mine"
    UNIT = "unit"


class InboxState(StrEnum):
    """Which notices of the view a page lists."""

    OPEN = "open"
    UNREAD = "unread"
    NEW = "new"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    ANY = "any"


@dataclass(frozen=True, slots=True, kw_only=True)
class Holder:
    """A person who holds a notice."""

    id: str
    login: str
    name: str
    unit: str | None

    def to_json(self) -> dict[str, Any]:
        """The API's form."""
        return {"id": self.id, "login": self.login, "name": self.name, "unit": self.unit}


@dataclass(frozen=True, slots=True, kw_only=True)
class InboxEntry:
    """One received notice in the inbox, as the reader sees it."""

    notice: StoredNotice
    holding: Holding
    holder: Holder | None
    read_ms: int | None  # when the reader saw it; None: unread
    expected_ms: int | None  # an alert's expected arrival
    alert_state: AlertState | None
    pressing: bool  # an unanswered alert due within two hours or overdue

    def to_json(self) -> dict[str, Any]:
        """The API's form."""
        return {
            "id": self.notice.envelope_id,
            "sender": self.notice.sender,
            "kind": self.notice.kind,
            "summary": self.notice.summary,
            "created_ms": self.notice.created_ms,
            "stored_ms": self.notice.stored_ms,
            "status": self.holding.status.value,
            "priority": self.holding.priority.value,
            "assignee": None if self.holder is None else self.holder.to_json(),
            "read": self.read_ms is not None,
            "read_ms": self.read_ms,
            "expected_ms": self.expected_ms,
            "alert_state": None if self.alert_state is None else self.alert_state.value,
            "pressing": self.pressing,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class HandoverLine:
    """One holder of open work in the unit (``holder`` None: nobody yet)."""

    holder: Holder | None
    new: int
    in_progress: int
    pressing: int

    def to_json(self) -> dict[str, Any]:
        """The API's form."""
        return {
            "holder": None if self.holder is None else self.holder.to_json(),
            "new": self.new,
            "in_progress": self.in_progress,
            "pressing": self.pressing,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class InboxPage:
    """One page of the reader's inbox: ``items`` are ``offset`` … of ``total``."""

    items: tuple[InboxEntry, ...]
    total: int
    offset: int
    limit: int
    view: InboxView
    state: InboxState
    counts: Mapping[InboxState, int]  # every state's total within the view
    unread: int  # open notices the reader has not seen, in every view
    unit: str | None
    handover: tuple[HandoverLine, ...]
    complete: bool

    def to_json(self) -> dict[str, Any]:
        """The API's form of the page."""
        return {
            "items": [e.to_json() for e in self.items],
            "total": self.total,
            "offset": self.offset,
            "limit": self.limit,
            "view": self.view.value,
            "state": self.state.value,
            "counts": {s.value: self.counts.get(s, 0) for s in InboxState},
            "unread": self.unread,
            "unit": self.unit,
            "handover": [line.to_json() for line in self.handover],
            "complete": self.complete,
        }


def inbox_view(raw: str | None) -> InboxView:
    """The view a caller named (``all`` when none); refused naming ``view``."""
    try:
        return InboxView(raw or InboxView.ALL)
    except ValueError:
        views = ", ".join(v.value for v in InboxView)
        raise InputError(ReasonCode.BAD_ENUM, f"must be one of: {views}", path="view") from None


def inbox_state(raw: str | None) -> InboxState:
    """The state a caller named (``open`` when none); refused naming ``state``."""
    try:
        return InboxState(raw or InboxState.OPEN)
    except ValueError:
        states = ", ".join(s.value for s in InboxState)
        raise InputError(ReasonCode.BAD_ENUM, f"must be one of: {states}", path="state") from None


@dataclass(frozen=True, slots=True)
class _Found:
    row: inbox_rows.InboxRow
    holding: Holding
    holder: Holder | None
    expected_ms: int | None
    alert_state: AlertState | None
    pressing: bool
    key: tuple[int, int, int, int, int]


def _found(row: inbox_rows.InboxRow, answered: set[str], now: int) -> _Found:
    holding = Holding(
        status=Status(row.status or Status.NEW),
        priority=Priority(row.priority or Priority.NORMAL),
        assignee=row.assignee_id,
    )
    holder = None
    if row.assignee_id is not None:
        holder = Holder(
            id=row.assignee_id,
            login=row.assignee_login or "",
            name=row.assignee_name or "",
            unit=row.assignee_unit,
        )
    expected, state = None, None
    if row.alert_json is not None:
        expected, state = alert_state(row.alert_json, row.envelope_id in answered, now)
    is_answered = row.envelope_id in answered
    placing = Placing(seq=row.seq, holding=holding, expected_ms=expected, answered=is_answered)
    urgent = holding.status is not Status.DONE and pressing(expected, is_answered, now)
    return _Found(row, holding, holder, expected, state, urgent, order_key(placing, now))


def _in_view(found: _Found, view: InboxView, person: Person) -> bool:
    if view is InboxView.MINE:
        return found.holding.assignee == person.user_id
    if view is InboxView.UNIT:
        return found.holder is None or found.holder.unit == person.unit
    return True


def _in_state(found: _Found, state: InboxState) -> bool:
    status = found.holding.status
    if state is InboxState.ANY:
        return True
    if state is InboxState.OPEN:
        return status is not Status.DONE
    if state is InboxState.UNREAD:
        return status is not Status.DONE and found.row.read_ms is None
    return status.value == state.value


def _handover(found: list[_Found], person: Person) -> tuple[HandoverLine, ...]:
    lines: dict[str | None, tuple[Holder | None, Counter[str]]] = {}
    for f in found:
        if f.holding.status is Status.DONE or not _in_view(f, InboxView.UNIT, person):
            continue
        holder_id = f.holder.id if f.holder else None
        _, counts = lines.setdefault(holder_id, (f.holder, Counter()))
        counts[f.holding.status.value] += 1
        counts["pressing"] += f.pressing
    ordered = sorted(lines.values(), key=lambda v: (v[0] is not None, v[0].name if v[0] else ""))
    return tuple(
        HandoverLine(
            holder=holder,
            new=counts[Status.NEW.value],
            in_progress=counts[Status.IN_PROGRESS.value],
            pressing=counts["pressing"],
        )
        for holder, counts in ordered
    )


def _read_page(
    connection: Connection,
    person: Person,
    now: int,
    view: InboxView,
    state: InboxState,
    offset: int,
    limit: int,
) -> InboxPage:
    rows = inbox_rows.entries(connection, person.user_id, SCAN_LIMIT + 1)
    complete = len(rows) <= SCAN_LIMIT
    rows = rows[:SCAN_LIMIT]
    outcomes, outcomes_complete = scan(connection, NoticeFilter(kind=MessageKind.OUTCOME.value))
    answered = set(answers(outcomes))
    found = sorted((_found(r, answered, now) for r in rows), key=lambda f: f.key)
    in_view = [f for f in found if _in_view(f, view, person)]
    counts = {s: sum(_in_state(f, s) for f in in_view) for s in InboxState}
    chosen = [f for f in in_view if _in_state(f, state)]
    shown = chosen[offset : offset + limit]
    stored = notice_rows.get_many(connection, [(f.row.sender, f.row.envelope_id) for f in shown])
    items = tuple(
        InboxEntry(
            notice=stored[(f.row.sender, f.row.envelope_id)],
            holding=f.holding,
            holder=f.holder,
            read_ms=f.row.read_ms,
            expected_ms=f.expected_ms,
            alert_state=f.alert_state,
            pressing=f.pressing,
        )
        for f in shown
        if (f.row.sender, f.row.envelope_id) in stored
    )
    return InboxPage(
        items=items,
        total=len(chosen),
        offset=offset,
        limit=limit,
        view=view,
        state=state,
        counts=counts,
        unread=sum(_in_state(f, InboxState.UNREAD) for f in found),
        unit=person.unit,
        handover=_handover(found, person),
        complete=complete and outcomes_complete,
    )


async def inbox_page(
    db: Database,
    person: Person,
    now: int,
    *,
    view: InboxView = InboxView.ALL,
    state: InboxState = InboxState.OPEN,
    offset: int = 0,
    limit: int = INBOX_PAGE,
) -> InboxPage:
    """One page of ``person``'s inbox at ``now``, in the rule's order; one read unit.

    Raises ``InputError(OUT_OF_RANGE)`` for a limit outside 1 …
    ``MAX_INBOX_PAGE`` or a negative offset.
    """
    if not 1 <= limit <= MAX_INBOX_PAGE:
        raise InputError(ReasonCode.OUT_OF_RANGE, f"must be in [1, {MAX_INBOX_PAGE}]", path="limit")
    if offset < 0:
        raise InputError(ReasonCode.OUT_OF_RANGE, "must be 0 or more", path="offset")
    work = partial(
        _read_page,
        person=person,
        now=now,
        view=view,
        state=state,
        offset=offset,
        limit=limit,
    )
    return await db.run(work, write=False)
