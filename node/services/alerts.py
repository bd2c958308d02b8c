"""The alert board: each pre-arrival alert, and whether its destination has answered.

An alert is *answered* once an outcome naming it is stored (sent by this
agency or received), *overdue* when its expected arrival has passed without
one, *open* otherwise. Built from the stored notices on each request: an
agency holds hundreds of alerts, not millions, and a board derived on read
cannot drift from the notices it summarises.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from baliza.node.services.context import NodeContext
from baliza.node.storage.notices import NoticeFilter, Notices, StoredNotice
from baliza.protocol.envelope import MessageKind

MAX_ALERTS = 1000


class AlertState(StrEnum):
    """Where an alert stands for the people at both ends."""

    OPEN = "open"
    ANSWERED = "answered"
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class AlertEntry:
    """One alert on the board, with the outcome that answered it if any."""

    alert: StoredNotice
    expected_ms: int
    state: AlertState
    outcome: StoredNotice | None

    def to_json(self) -> dict[str, Any]:
        """The API's form: the alert, its state, and the outcome with the linked seizure."""
        out: dict[str, Any] = {
            "id": self.alert.envelope_id,
            "direction": self.alert.direction.value,
            "sender": self.alert.sender,
            "recipients": list(self.alert.recipients),
            "summary": self.alert.summary,
            "expected_ms": self.expected_ms,
            "state": self.state.value,
            "outcome": None,
        }
        if self.outcome is not None:
            body = json.loads(self.outcome.notice_json)
            out["outcome"] = {
                "id": self.outcome.envelope_id,
                "sender": self.outcome.sender,
                "result": body.get("result"),
                "seizure": body.get("seizure"),
                "at_ms": body.get("at_ms"),
            }
        return out


async def alert_board(ctx: NodeContext, now: int) -> list[AlertEntry]:
    """Every stored alert (the latest ``MAX_ALERTS``), oldest first, with its state."""
    async with ctx.db.transaction(readonly=True) as session:
        notices = Notices(session)
        alerts = await notices.latest(MAX_ALERTS, NoticeFilter(kind=MessageKind.ALERT.value))
        outcomes = await notices.latest(MAX_ALERTS, NoticeFilter(kind=MessageKind.OUTCOME.value))
    answers: dict[str, StoredNotice] = {}
    for outcome in outcomes:  # oldest first: the latest answer wins
        answers[str(json.loads(outcome.notice_json).get("alert"))] = outcome
    board = []
    for alert in alerts:
        expected = int(json.loads(alert.notice_json)["expected_ms"])
        answer = answers.get(alert.envelope_id)
        if answer is not None:
            state = AlertState.ANSWERED
        elif expected < now:
            state = AlertState.OVERDUE
        else:
            state = AlertState.OPEN
        board.append(AlertEntry(alert, expected, state, answer))
    return board
