"""The inbox's use cases: who works on which received notice, and who has seen what.

Each use case is one unit of work. A change reads the notice's state under
a lock, asks the rules (``rules.inbox``) for the new state, writes it, and
records each thing that changed as the person's action (``person_actions``,
with the time and the value set), all in one transaction: a refused change
writes nothing, and a recorded action always matches the stored state.

The inbox belongs to people: a caller without an account (an API token) is
refused, except that an administrator's token may act for a named person
(``acting_for``), as the operator's ``baliza inbox --user`` does. Read
marks are each person's own; nobody can read or set another's.

Acting on a notice (taking it, changing its status or priority) marks it
seen by whoever did; opening a page never writes (reads read), and a
person marks a notice read or unread explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from sqlalchemy import Connection

from baliza.node.services.accounts import fold_login
from baliza.node.services.rules.inbox import (
    Colleague,
    Holding,
    Person,
    Priority,
    Status,
    assign,
    priority_of,
    set_priority,
    set_status,
    status_of,
)
from baliza.node.services.rules.roles import Role
from baliza.node.services.sessions import session_hash
from baliza.node.services.tokens import Caller
from baliza.node.services.views.inbox import Holder
from baliza.node.storage import Database
from baliza.node.storage.notices import Direction
from baliza.node.storage.sql import inbox as inbox_rows
from baliza.node.storage.sql import notices as notice_rows
from baliza.node.storage.sql import sessions as session_rows
from baliza.node.storage.sql import users as user_rows
from baliza.node.storage.users import User
from baliza.protocol.errors import InputError, ReasonCode, StorageError, TrustError

__all__ = [
    "Changed",
    "InboxChange",
    "acting_for",
    "apply_change",
    "colleagues",
    "mark_seen",
    "person_of",
    "unread_count",
    "unread_for_session",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class InboxChange:
    """What a person asks to change on one notice; None leaves a thing as it is.

    ``assignee`` is a login ("" releases the notice); ``read`` sets the
    asker's own read mark.
    """

    assignee: str | None = None
    status: str | None = None
    priority: str | None = None
    read: bool | None = None

    def __post_init__(self) -> None:
        if (self.assignee, self.status, self.priority, self.read) == (None, None, None, None):
            raise InputError(
                ReasonCode.MISSING_FIELD,
                "name something to change: assignee, status, priority or read",
                path="change",
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class Changed:
    """A notice's state after a change, and what the change recorded."""

    id: str
    sender: str
    status: Status
    priority: Priority
    assignee: str | None  # login
    read: bool
    recorded: tuple[str, ...]  # the person's actions written: assigned, status, …


def person_of(caller: Caller) -> Person:
    """The person behind a console session; ``TrustError(FORBIDDEN)`` for a token's."""
    if caller.user_id is None:
        raise TrustError(
            ReasonCode.FORBIDDEN,
            "the inbox is kept per person: sign in with your account, not a token",
            path="user",
        )
    return Person(user_id=caller.user_id, role=caller.role, unit=caller.unit)


def _as_person(user: User | None, login: str) -> Person:
    if user is None:
        raise InputError(ReasonCode.NOT_FOUND, f"no account {login!r} on this node", path="user")
    if user.disabled:
        raise InputError(ReasonCode.CONFLICT, f"the account {login!r} is disabled", path="user")
    return Person(user_id=user.id, role=Role(user.role), unit=user.unit)


async def acting_for(db: Database, caller: Caller, login: str | None) -> Person:
    """Whom an API call's inbox is: the person named ``login``, for an administrator's token.

    Raises ``TrustError(FORBIDDEN)`` for a token below admin (a machine
    may not read or move a person's inbox), ``InputError(MISSING_FIELD)``
    without a login, ``NOT_FOUND`` or ``CONFLICT`` (disabled) naming ``user``.
    """
    if caller.user_id is not None:
        return person_of(caller)
    if not caller.role.allows(Role.ADMIN):
        raise TrustError(
            ReasonCode.FORBIDDEN,
            "only an administrator's token may act for a person in the inbox",
            path="user",
        )
    if not login:
        raise InputError(ReasonCode.MISSING_FIELD, "name the person (login)", path="user")
    folded = fold_login(login)
    user = await db.run(partial(user_rows.user_by_login, login=folded), write=False)
    return _as_person(user, folded)


def _received(connection: Connection, envelope_id: str, sender: str | None) -> tuple[int, str]:
    """The (seq, sender) of the received notice ``envelope_id``; NOT_FOUND naming ``id``."""
    try:
        notice = notice_rows.get(connection, envelope_id, sender)
    except StorageError:
        notice = None
    if notice is None or notice.direction is not Direction.IN:
        raise InputError(
            ReasonCode.NOT_FOUND, f"no received notice {envelope_id} in the inbox", path="id"
        )
    return notice.seq, notice.sender


def _colleague(connection: Connection, login: str) -> Colleague | None:
    if not login:
        return None
    user = user_rows.user_by_login(connection, fold_login(login))
    if user is None:
        return None
    return Colleague(id=user.id, login=user.login, disabled=user.disabled)


def _change(
    connection: Connection,
    person: Person,
    envelope_id: str,
    sender: str | None,
    change: InboxChange,
    now: int,
) -> Changed:
    seq, from_ = _received(connection, envelope_id, sender)
    status, priority, assignee = inbox_rows.lock_holding(connection, seq, now)
    before = Holding(status=Status(status), priority=Priority(priority), assignee=assignee)
    after = before
    if change.assignee is not None:
        named = change.assignee.strip()
        after = assign(person, after, _colleague(connection, named), named)
    if change.status is not None:
        after = set_status(person, after, status_of(change.status))
    if change.priority is not None:
        after = set_priority(person, after, priority_of(change.priority))
    recorded = _record(connection, person, envelope_id, before, after, now)
    if after != before:
        inbox_rows.set_holding(
            connection,
            seq,
            status=after.status.value,
            priority=after.priority.value,
            assignee_id=after.assignee,
            now_ms=now,
        )
    read = change.read if change.read is not None else True if recorded else None
    if read is True:
        inbox_rows.mark_read(connection, person.user_id, [seq], now)
    elif read is False:
        inbox_rows.mark_unread(connection, person.user_id, seq)
    holder = None if after.assignee is None else user_rows.user_by_id(connection, after.assignee)
    return Changed(
        id=envelope_id,
        sender=from_,
        status=after.status,
        priority=after.priority,
        assignee=None if holder is None else holder.login,
        read=_is_read(connection, person.user_id, seq) if read is None else read,
        recorded=recorded,
    )


def _is_read(connection: Connection, user_id: str, seq: int) -> bool:
    return inbox_rows.read_mark(connection, user_id, seq) is not None


def _record(
    connection: Connection,
    person: Person,
    envelope_id: str,
    before: Holding,
    after: Holding,
    now: int,
) -> tuple[str, ...]:
    """Write the person's action for each thing that changed; the actions written."""
    actions: list[tuple[str, str | None]] = []
    if after.assignee != before.assignee:
        if after.assignee is None:
            actions.append(("released", None))
        else:
            holder = user_rows.user_by_id(connection, after.assignee)
            actions.append(("assigned", holder.login if holder else after.assignee))
    if after.status is not before.status:
        actions.append(("status", after.status.value))
    if after.priority is not before.priority:
        actions.append(("priority", after.priority.value))
    for action, detail in actions:
        user_rows.record_action(
            connection,
            at_ms=now,
            user_id=person.user_id,
            action=action,
            subject=envelope_id,
            detail=detail,
        )
    return tuple(action for action, _ in actions)


async def apply_change(
    db: Database,
    person: Person,
    envelope_id: str,
    change: InboxChange,
    now: int,
    *,
    sender: str | None = None,
) -> Changed:
    """Apply ``change`` to the received notice ``envelope_id`` for ``person``; one write unit.

    Raises what the rules raise (``BAD_ENUM``, ``NOT_FOUND`` or ``CONFLICT``
    naming the field, ``FORBIDDEN``), and ``NOT_FOUND`` naming ``id`` for a
    notice this agency did not receive; nothing is written then.
    """
    work = partial(
        _change,
        person=person,
        envelope_id=envelope_id,
        sender=sender,
        change=change,
        now=now,
    )
    return await db.run(work, write=True)


async def mark_seen(db: Database, person: Person, envelope_id: str, now: int) -> None:
    """Mark the received notice ``envelope_id`` seen by ``person`` (kept if already marked)."""

    def work(connection: Connection) -> None:
        seq, _ = _received(connection, envelope_id, None)
        inbox_rows.mark_read(connection, person.user_id, [seq], now)

    await db.run(work, write=True)


async def unread_count(db: Database, person: Person) -> int:
    """How many open received notices ``person`` has not seen (the menu's badge)."""
    return await db.run(partial(inbox_rows.unread_open, reader=person.user_id), write=False)


def _unread_of_session(connection: Connection, id_hash: bytes) -> int:
    found = session_rows.session_with_holder(connection, id_hash)
    if found is None or not isinstance(found[1], User):
        return 0
    return inbox_rows.unread_open(connection, found[1].id)


async def unread_for_session(db: Database, cookie: str | None) -> int:
    """The badge for whoever holds the session ``cookie`` (0 for none, or a token's).

    The console's middleware asks this before the page's own session check,
    so it only counts: whether the session is still live is that check's
    to decide, and a page of an ended session is never shown.
    """
    if not cookie:
        return 0
    return await db.run(partial(_unread_of_session, id_hash=session_hash(cookie)), write=False)


async def colleagues(db: Database) -> list[Holder]:
    """Every enabled account a notice may be assigned to, by unit then name."""
    rows = await db.run(inbox_rows.colleagues, write=False)
    return [Holder(id=i, login=login, name=name, unit=unit) for i, login, name, unit in rows]
