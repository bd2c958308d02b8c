"""The alert board: each pre-arrival alert, and whether its destination has answered.

An alert is *answered* once an outcome naming it is stored (sent by this
agency or received), *overdue* when its expected arrival has passed without
one, *open* otherwise. The board is derived from the stored notices on each
read, so it cannot drift from the notices it summarises; it is ordered by
expected arrival, filtered by state, and paged with the total, so a page
always says "N of M" and nothing is dropped without saying so.

The API (``GET /api/v1/alerts``), the console's board and ``baliza alerts``
all render this one model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection

from baliza.node.services.context import NodeContext
from baliza.node.storage.notices import NoticeFilter, StoredNotice
from baliza.node.storage.sql import notice_pages
from baliza.protocol.envelope import MessageKind
from baliza.protocol.errors import InputError, ReasonCode

BOARD_PAGE = 200  # one page of the board unless the caller asks for another size
MAX_BOARD_PAGE = 1000
# The board reads at most this many alerts (the oldest first) and outcomes;
# past that it says it is incomplete rather than leaving some out silently.
SCAN_LIMIT = 20_000
_SCAN_PAGE = 1000


class AlertState(StrEnum):
    """Where an alert stands for the people at both ends."""

    OPEN = "open"
    ANSWERED = "answered"
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertOutcome:
    """The answer to an alert: what the destination found, and its seizure notice if any."""

    id: str
    sender: str
    result: str
    seizure: str | None
    at_ms: int | None

    @classmethod
    def of(cls, outcome: StoredNotice) -> AlertOutcome:
        """The outcome a stored ``notice.outcome`` carries."""
        body = json.loads(outcome.notice_json)
        return cls(
            id=outcome.envelope_id,
            sender=outcome.sender,
            result=str(body.get("result")),
            seizure=body.get("seizure"),
            at_ms=body.get("at_ms"),
        )

    def to_json(self) -> dict[str, Any]:
        """The API's form (chapter 08, "Alert board")."""
        return {
            "id": self.id,
            "sender": self.sender,
            "result": self.result,
            "seizure": self.seizure,
            "at_ms": self.at_ms,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertRow:
    """One alert on the board, with the outcome that answered it if any."""

    alert: StoredNotice
    expected_ms: int
    state: AlertState
    outcome: AlertOutcome | None

    def to_json(self) -> dict[str, Any]:
        """The API's form: the alert, its state, and the outcome with the linked seizure."""
        return {
            "id": self.alert.envelope_id,
            "direction": self.alert.direction.value,
            "sender": self.alert.sender,
            "recipients": list(self.alert.recipients),
            "summary": self.alert.summary,
            "expected_ms": self.expected_ms,
            "state": self.state.value,
            "outcome": None if self.outcome is None else self.outcome.to_json(),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertBoard:
    """One page of the board: ``items`` are ``offset`` … of ``total`` alerts in ``state``.

    ``counts`` has every state's total (whatever the filter), and
    ``complete`` is False when the store held more alerts than the board reads.
    """

    items: tuple[AlertRow, ...]
    total: int
    offset: int
    limit: int
    state: AlertState | None
    counts: Mapping[AlertState, int]
    complete: bool

    def to_json(self) -> dict[str, Any]:
        """The API's form of the page."""
        return {
            "items": [row.to_json() for row in self.items],
            "total": self.total,
            "offset": self.offset,
            "limit": self.limit,
            "counts": {s.value: self.counts.get(s, 0) for s in AlertState},
            "complete": self.complete,
        }


def board_state(raw: str | None) -> AlertState | None:
    """The state filter a caller named (``None`` for all); refused naming ``state``."""
    if raw is None or raw == "":
        return None
    try:
        return AlertState(raw)
    except ValueError:
        states = ", ".join(s.value for s in AlertState)
        raise InputError(ReasonCode.BAD_ENUM, f"must be one of: {states}", path="state") from None


def scan(
    connection: Connection, filters: NoticeFilter, after: int = 0
) -> tuple[list[StoredNotice], bool]:
    """Every notice matching ``filters`` after ``after`` in storage order, up to ``SCAN_LIMIT``.

    The second value is False when the limit cut the scan short. Runs inside
    the caller's unit of work.
    """
    rows: list[StoredNotice] = []
    while len(rows) < SCAN_LIMIT:
        page = notice_pages.list_page(connection, after, _SCAN_PAGE, filters)
        rows.extend(page)
        if len(page) < _SCAN_PAGE:
            return rows, True
        after = page[-1].seq
    return rows[:SCAN_LIMIT], False


def answers(outcomes: list[StoredNotice]) -> dict[str, StoredNotice]:
    """The outcome answering each alert id; of several, the latest stored wins."""
    found: dict[str, StoredNotice] = {}
    for outcome in sorted(outcomes, key=lambda o: o.seq):
        found[str(json.loads(outcome.notice_json).get("alert"))] = outcome
    return found


def alert_state(alert_json: str, answered: bool, now: int) -> tuple[int, AlertState]:
    """An alert's expected arrival and its state at ``now``: the one notion of both.

    The board and the inbox (which puts pressing alerts first) ask this.
    """
    expected = int(json.loads(alert_json).get("expected_ms", 0))
    if answered:
        return expected, AlertState.ANSWERED
    return expected, AlertState.OVERDUE if expected < now else AlertState.OPEN


def _row(alert: StoredNotice, answer: StoredNotice | None, now: int) -> AlertRow:
    expected, state = alert_state(alert.notice_json, answer is not None, now)
    outcome = None if answer is None else AlertOutcome.of(answer)
    return AlertRow(alert=alert, expected_ms=expected, state=state, outcome=outcome)


def _alerts_and_outcomes(
    connection: Connection,
) -> tuple[list[StoredNotice], list[StoredNotice], bool]:
    alerts, alerts_complete = scan(connection, NoticeFilter(kind=MessageKind.ALERT.value))
    since = alerts[0].seq if alerts else 0
    outcomes, outcomes_complete = scan(
        connection, NoticeFilter(kind=MessageKind.OUTCOME.value), since
    )
    return alerts, outcomes, alerts_complete and outcomes_complete


async def alert_board(
    ctx: NodeContext,
    now: int,
    *,
    state: AlertState | None = None,
    offset: int = 0,
    limit: int = BOARD_PAGE,
) -> AlertBoard:
    """The alerts sent and received, ordered by expected arrival, one page of them.

    Reads in one read unit of work. Raises ``InputError`` for a limit
    outside 1 … ``MAX_BOARD_PAGE`` or a negative offset.
    """
    if not 1 <= limit <= MAX_BOARD_PAGE:
        raise InputError(ReasonCode.OUT_OF_RANGE, f"must be in [1, {MAX_BOARD_PAGE}]", path="limit")
    if offset < 0:
        raise InputError(ReasonCode.OUT_OF_RANGE, "must be 0 or more", path="offset")
    alerts, outcomes, complete = await ctx.db.run(_alerts_and_outcomes, write=False)
    answered = answers(outcomes)
    rows = sorted(
        (_row(a, answered.get(a.envelope_id), now) for a in alerts),
        key=lambda r: (r.expected_ms, r.alert.seq),
    )
    counts = {s: sum(r.state is s for r in rows) for s in AlertState}
    chosen = [r for r in rows if state is None or r.state is state]
    return AlertBoard(
        items=tuple(chosen[offset : offset + limit]),
        total=len(chosen),
        offset=offset,
        limit=limit,
        state=state,
        counts=counts,
        complete=complete,
    )
