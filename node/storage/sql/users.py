"""People's accounts as units of work read and write them.

A user is found by id (a session) or by case-folded login (sign-in). The
writes that make a factor single-use are conditional updates, so two
sign-ins racing with the same code or recovery code cannot both succeed:
``advance_totp_step`` moves the step only forward, ``use_recovery_code``
marks a code only if it is unused, and each reports whether it did.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from baliza.node.storage.models import PersonActionRow, RecoveryCodeRow, UserRow, table_of
from baliza.node.storage.users import PersonAction, User

_users = table_of(UserRow)
_codes = table_of(RecoveryCodeRow)
_actions = table_of(PersonActionRow)

USER_COLUMNS = (
    _users.c.id,
    _users.c.login,
    _users.c.name,
    _users.c.unit,
    _users.c.role,
    _users.c.password,
    _users.c.totp_secret,
    _users.c.totp_step,
    _users.c.disabled,
    _users.c.failures,
    _users.c.locked_until_ms,
    _users.c.created_ms,
    _users.c.last_sign_in_ms,
)
_INSERT = insert(_users)
_BY_ID = select(*USER_COLUMNS).where(_users.c.id == bindparam("id"))
_BY_ID_LOCKED = _BY_ID.with_for_update()
_BY_LOGIN = select(*USER_COLUMNS).where(_users.c.login == bindparam("login"))
# SQLite renders no FOR UPDATE: its write units hold the one write lock already.
_BY_LOGIN_LOCKED = _BY_LOGIN.with_for_update()
_ALL = select(*USER_COLUMNS).order_by(_users.c.login)
_ADVANCE_STEP = (
    update(_users)
    .where(_users.c.id == bindparam("user_id"), _users.c.totp_step < bindparam("step"))
    .values(totp_step=bindparam("step"))
)
_SUCCEEDED = (
    update(_users)
    .where(_users.c.id == bindparam("user_id"))
    .values(failures=0, locked_until_ms=0, last_sign_in_ms=bindparam("now_ms"))
)
_FAILED = (
    update(_users)
    .where(_users.c.id == bindparam("user_id"))
    .values(failures=bindparam("failures"), locked_until_ms=bindparam("locked_until_ms"))
)
_DISABLE = update(_users).where(_users.c.id == bindparam("user_id")).values(disabled=True)
_RESET = (
    update(_users)
    .where(_users.c.id == bindparam("user_id"))
    .values(
        password=bindparam("password"),
        totp_secret=bindparam("totp_secret"),
        totp_step=0,
        failures=0,
        locked_until_ms=0,
        disabled=False,
    )
)
_SET_PASSWORD = (
    update(_users).where(_users.c.id == bindparam("user_id")).values(password=bindparam("password"))
)
_INSERT_CODE = insert(_codes)
_DROP_CODES = delete(_codes).where(_codes.c.user_id == bindparam("owner"))
_USE_CODE = (
    update(_codes)
    .where(
        _codes.c.user_id == bindparam("owner"),
        _codes.c.code_hash == bindparam("typed_hash"),
        _codes.c.used_ms.is_(None),
    )
    .values(used_ms=bindparam("now_ms"))
)
_INSERT_ACTION = insert(_actions)
_ACTIONS_ALL = select(
    _actions.c.at_ms,
    _actions.c.user_id,
    _users.c.name,
    _users.c.unit,
    _actions.c.action,
    _actions.c.subject,
    _users.c.login,
    _actions.c.detail,
).join(_users, _users.c.id == _actions.c.user_id)
_ACTIONS_ON = _ACTIONS_ALL.where(_actions.c.subject == bindparam("subject")).order_by(
    _actions.c.seq
)


def user_from(row: Sequence[Any]) -> User:
    """A ``User`` from a row of ``USER_COLUMNS``, in that order."""
    (
        user_id,
        login,
        name,
        unit,
        role,
        password,
        totp_secret,
        totp_step,
        disabled,
        failures,
        locked_until_ms,
        created_ms,
        last_sign_in_ms,
    ) = row
    return User(
        id=user_id,
        login=login,
        name=name,
        unit=unit,
        role=role,
        password=password,
        totp_secret=totp_secret,
        totp_step=totp_step,
        disabled=bool(disabled),
        failures=failures,
        locked_until_ms=locked_until_ms,
        created_ms=created_ms,
        last_sign_in_ms=last_sign_in_ms,
    )


def insert_user(connection: Connection, user: User) -> None:
    """Store a new user; a login in use fails the unit with ``StorageError(CONFLICT)``."""
    connection.execute(
        _INSERT,
        {
            "id": user.id,
            "login": user.login,
            "name": user.name,
            "unit": user.unit,
            "role": user.role,
            "password": user.password,
            "totp_secret": user.totp_secret,
            "totp_step": user.totp_step,
            "disabled": user.disabled,
            "failures": user.failures,
            "locked_until_ms": user.locked_until_ms,
            "created_ms": user.created_ms,
            "last_sign_in_ms": user.last_sign_in_ms,
        },
    )


def user_by_id(connection: Connection, user_id: str, *, lock: bool = False) -> User | None:
    """The user with this id, or None.

    ``lock`` holds the row until the unit ends (PostgreSQL), so a value
    written from what was read (a failure count plus one) is written from
    what the unit before it left, not from what both read at once.
    """
    row = connection.execute(_BY_ID_LOCKED if lock else _BY_ID, {"id": user_id}).one_or_none()
    return None if row is None else user_from(row)


def user_by_login(connection: Connection, login: str, *, lock: bool = False) -> User | None:
    """The user with this (already case-folded) login, or None.

    ``lock`` holds the row until the unit ends (PostgreSQL), so a change
    made on the strength of what it read (a token given to an enabled
    person) cannot interleave with the account's being disabled.
    """
    statement = _BY_LOGIN_LOCKED if lock else _BY_LOGIN
    row = connection.execute(statement, {"login": login}).one_or_none()
    return None if row is None else user_from(row)


def all_users(connection: Connection) -> list[User]:
    """Every user, disabled ones included, by login."""
    return [user_from(row) for row in connection.execute(_ALL)]


def advance_totp_step(connection: Connection, user_id: str, step: int) -> bool:
    """Note that the code of ``step`` was used; False if that step or a later one already was."""
    return bool(connection.execute(_ADVANCE_STEP, {"user_id": user_id, "step": step}).rowcount)


def use_recovery_code(connection: Connection, user_id: str, code_hash: bytes, now_ms: int) -> bool:
    """Mark a recovery code used; False if the user has no such unused code."""
    result = connection.execute(
        _USE_CODE, {"owner": user_id, "typed_hash": code_hash, "now_ms": now_ms}
    )
    return bool(result.rowcount)


def replace_recovery_codes(connection: Connection, user_id: str, hashes: list[bytes]) -> None:
    """Drop a user's recovery codes, used or not, and store these instead.

    The user's row is locked first (PostgreSQL): two renewals at once would
    otherwise each drop only the codes committed before it began, and the
    first one's codes, never shown to anyone, would keep working.
    """
    connection.execute(_BY_ID_LOCKED, {"id": user_id})
    connection.execute(_DROP_CODES, {"owner": user_id})
    connection.execute(
        _INSERT_CODE,
        [{"user_id": user_id, "code_hash": h, "used_ms": None} for h in hashes],
    )


def note_success(connection: Connection, user_id: str, now_ms: int) -> None:
    """Forget the user's failures and note when they signed in."""
    connection.execute(_SUCCEEDED, {"user_id": user_id, "now_ms": now_ms})


def note_failures(
    connection: Connection, user_id: str, failures: int, locked_until_ms: int
) -> None:
    """Store the user's failure count and lock-out end, as the rule decided them."""
    connection.execute(
        _FAILED,
        {"user_id": user_id, "failures": failures, "locked_until_ms": locked_until_ms},
    )


def disable_user(connection: Connection, user_id: str) -> None:
    """Disable a user: no sign-in, and every session of theirs ends at its next request."""
    connection.execute(_DISABLE, {"user_id": user_id})


def reset_user(connection: Connection, user_id: str, password: str, totp_secret: str) -> None:
    """Give a user a new password hash and TOTP secret, forget failures, enable them."""
    connection.execute(
        _RESET, {"user_id": user_id, "password": password, "totp_secret": totp_secret}
    )


def set_password(connection: Connection, user_id: str, password: str) -> None:
    """Store a user's new password hash (PHC string)."""
    connection.execute(_SET_PASSWORD, {"user_id": user_id, "password": password})


def record_action(
    connection: Connection,
    *,
    at_ms: int,
    user_id: str,
    action: str,
    subject: str,
    detail: str | None = None,
) -> None:
    """Record that a person did ``action`` (``person_actions.ACTIONS``) to ``subject``.

    ``detail`` is the value an inbox change set (an assignee's login, a status, a priority).
    """
    connection.execute(
        _INSERT_ACTION,
        {
            "at_ms": at_ms,
            "user_id": user_id,
            "action": action,
            "subject": subject,
            "detail": detail,
        },
    )


def _person_actions(rows: Iterable[Any]) -> list[PersonAction]:
    return [
        PersonAction(
            at_ms=at_ms,
            user_id=user_id,
            name=name,
            unit=unit,
            action=action,
            subject=subject,
            login=login,
            detail=detail,
        )
        for at_ms, user_id, name, unit, action, subject, login, detail in rows
    ]


def actions_by(
    connection: Connection, *, login: str | None, since_ms: int, limit: int
) -> list[PersonAction]:
    """Every action at or after ``since_ms``, by the person ``login`` if named, oldest first."""
    query = _ACTIONS_ALL.where(_actions.c.at_ms >= since_ms)
    if login is not None:
        query = query.where(_users.c.login == login)
    return _person_actions(connection.execute(query.order_by(_actions.c.seq).limit(limit)))


def actions_on(connection: Connection, subject: str) -> list[PersonAction]:
    """Who did what to ``subject``, oldest first, with each person's name and unit."""
    return _person_actions(connection.execute(_ACTIONS_ON, {"subject": subject}))
