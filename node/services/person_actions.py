"""Which person in this agency did what, and when: read, published, shared, decided (issue 20 §1).

A read receipt tells the sender that an *agency* read its notice; the
protocol does not change. Inside the agency, an inquiry must be able to
ask who: each person's action is recorded here with its time, the notice
page shows it, and an administrator exports it (``baliza users actions``,
``GET /api/v1/people/actions``). Only people's actions are recorded: a
person signed in with an account, or an API token a person owns, acting
for its owner (``Caller.acting_person``). A named service's token is a
machine, and its actions are the token's trust events.

Each action is recorded by the service that performs it, in the same unit
of work where it has one: a read with the read receipt it sends
(``services.receipts``), a share request with the permission request
(``services.sharing``), a share permission granted or refused with the
decision (``sharing.decide``), a subscription admitted or refused with
the change (``services.subscriptions``). A publication, or a share sent at
once, goes through the group commit with other people's, so its person is
recorded in a unit of its own right after the envelope is stored.

The actions and their subjects:

- ``read``, ``published``, ``shared``: a notice (its envelope id);
- ``granted``, ``refused``: a share permission's original notice, or
  (``admitted``, ``refused``) a subscription's id;
- ``assigned``: a notice given to someone (kept for the inbox).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Final

from sqlalchemy import Connection

from baliza.node.services.accounts import fold_login
from baliza.node.services.filters import parse_time
from baliza.node.storage import Database
from baliza.node.storage.sql import users as user_rows
from baliza.node.storage.users import PersonAction
from baliza.protocol.errors import ReasonCode, UsageError

__all__ = [
    "ACTIONS",
    "ACTION_COLUMNS",
    "ActionFilter",
    "PersonAction",
    "action_filter",
    "action_rows",
    "actions",
    "actions_csv",
    "people_on",
    "record_action",
    "record_published",
]

ACTIONS: Final = ("read", "published", "shared", "granted", "admitted", "refused", "assigned")
MAX_ROWS: Final = 100_000  # one export; an inquiry narrows by person or time beyond that


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionFilter:
    """Which actions an inquiry asks for: one person's (by login), since a time."""

    login: str | None = None
    since_ms: int = 0


async def record_published(db: Database, user_id: str, envelope_ids: list[str], now: int) -> None:
    """Record that the person ``user_id`` published these envelopes at ``now``."""

    def work(connection: Connection) -> None:
        for eid in envelope_ids:
            user_rows.record_action(
                connection, at_ms=now, user_id=user_id, action="published", subject=eid
            )

    if envelope_ids:
        await db.run(work, write=True)


async def record_action(db: Database, user_id: str, action: str, subject: str, now: int) -> None:
    """Record one action of ``user_id`` in a unit of its own (when the act had none to share)."""
    if action not in ACTIONS:
        raise UsageError(ReasonCode.BAD_ENUM, f"action must be one of {', '.join(ACTIONS)}")
    await db.run(
        partial(
            user_rows.record_action, at_ms=now, user_id=user_id, action=action, subject=subject
        ),
        write=True,
    )


async def people_on(db: Database, envelope_id: str) -> list[PersonAction]:
    """Who here read, published, shared or decided on ``envelope_id``, oldest first."""
    return await db.run(partial(user_rows.actions_on, subject=envelope_id), write=False)


async def actions(db: Database, wanted: ActionFilter) -> list[PersonAction]:
    """Every recorded action matching ``wanted``, oldest first, at most ``MAX_ROWS``."""
    return await db.run(
        partial(
            user_rows.actions_by,
            login=wanted.login,
            since_ms=wanted.since_ms,
            limit=MAX_ROWS,
        ),
        write=False,
    )


ACTION_COLUMNS: Final = ("at", "at_ms", "login", "name", "unit", "action", "subject", "detail")


def action_rows(found: list[PersonAction]) -> list[list[str]]:
    """The export's rows, in ``ACTION_COLUMNS`` order; times in UTC, ISO 8601."""
    return [
        [
            datetime.fromtimestamp(a.at_ms / 1000, UTC).isoformat(timespec="milliseconds"),
            str(a.at_ms),
            a.login,
            a.name,
            a.unit or "",
            a.action,
            a.subject,
            a.detail or "",
        ]
        for a in found
    ]


def actions_csv(found: list[PersonAction]) -> str:
    """The export as CSV text (RFC 4180 line ends); a cell that looks like a formula is quoted
    with a leading apostrophe, so a spreadsheet opening the file runs nothing.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(ACTION_COLUMNS)
    for row in action_rows(found):
        writer.writerow(["'" + c if c[:1] in ("=", "+", "-", "@") else c for c in row])
    return out.getvalue()


def action_filter(user: str | None, since: str | None) -> ActionFilter:
    """The filter an inquiry typed: a login and a time (ISO 8601 or Unix ms), both optional."""
    login = None if not user else fold_login(user)
    since_ms = 0 if not since else parse_time(since, "since")
    return ActionFilter(login=login, since_ms=since_ms)
