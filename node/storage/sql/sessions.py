"""Console sessions as units of work read and write them.

A session is found by the SHA-256 of its cookie, together with the token or
the account that holds it, in one statement: every console request needs both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from baliza.node.storage.models import ApiTokenRow, ConsoleSessionRow, UserRow, table_of
from baliza.node.storage.sessions import ConsoleSession
from baliza.node.storage.sql.tokens import TOKEN_COLUMNS, token_from
from baliza.node.storage.sql.users import USER_COLUMNS, user_from
from baliza.node.storage.tokens import ApiToken
from baliza.node.storage.users import User

_sessions = table_of(ConsoleSessionRow)
_tokens = table_of(ApiTokenRow)
_users = table_of(UserRow)

_INSERT = insert(_sessions)
_SESSION_COLUMNS = (
    _sessions.c.id_hash,
    _sessions.c.token_id,
    _sessions.c.user_id,
    _sessions.c.csrf,
    _sessions.c.created_ms,
    _sessions.c.seen_ms,
)
_FIND = select(*_SESSION_COLUMNS).where(_sessions.c.id_hash == bindparam("id_hash"))
_N_SESSION = len(_SESSION_COLUMNS)
_N_TOKEN = len(TOKEN_COLUMNS)
# The session, then the token columns in the order ``token_from`` reads them,
# then the user columns in the order ``user_from`` reads them; one side is NULL.
_WITH_HOLDER = (
    select(*_SESSION_COLUMNS, *TOKEN_COLUMNS, *USER_COLUMNS)
    .select_from(
        _sessions.outerjoin(_tokens, _tokens.c.id == _sessions.c.token_id).outerjoin(
            _users, _users.c.id == _sessions.c.user_id
        )
    )
    .where(_sessions.c.id_hash == bindparam("id_hash"))
)
_TOUCH = (
    update(_sessions)
    .where(_sessions.c.id_hash == bindparam("hash"))
    .values(seen_ms=bindparam("now_ms"))
)
_REMOVE = delete(_sessions).where(_sessions.c.id_hash == bindparam("id_hash"))
_REMOVE_OF_USER = delete(_sessions).where(_sessions.c.user_id == bindparam("user_id"))
_REMOVE_IDLE = delete(_sessions).where(_sessions.c.seen_ms < bindparam("seen_before_ms"))


def insert_session(connection: Connection, item: ConsoleSession) -> None:
    """Store a new session."""
    connection.execute(
        _INSERT,
        {
            "id_hash": item.id_hash,
            "token_id": item.token_id,
            "user_id": item.user_id,
            "csrf": item.csrf,
            "created_ms": item.created_ms,
            "seen_ms": item.seen_ms,
        },
    )


def session_by_hash(connection: Connection, id_hash: bytes) -> ConsoleSession | None:
    """The session with this hash, or None."""
    row = connection.execute(_FIND, {"id_hash": id_hash}).one_or_none()
    return None if row is None else _session(row)


def session_with_holder(
    connection: Connection, id_hash: bytes
) -> tuple[ConsoleSession, ApiToken | User] | None:
    """The session with this hash and the token or account holding it (revoked, disabled
    or not), or None."""
    row = connection.execute(_WITH_HOLDER, {"id_hash": id_hash}).one_or_none()
    if row is None:
        return None
    session = _session(row[:_N_SESSION])
    if session.token_id is not None:
        return session, token_from(row[_N_SESSION : _N_SESSION + _N_TOKEN])
    return session, user_from(row[_N_SESSION + _N_TOKEN :])


def touch_session(connection: Connection, id_hash: bytes, now_ms: int) -> None:
    """Record that the session was used at ``now_ms``."""
    connection.execute(_TOUCH, {"hash": id_hash, "now_ms": now_ms})


def remove_session(connection: Connection, id_hash: bytes) -> None:
    """End one session (sign-out, or found idle)."""
    connection.execute(_REMOVE, {"id_hash": id_hash})


def remove_user_sessions(connection: Connection, user_id: str) -> None:
    """End every session of one account (disabled, or given new secrets)."""
    connection.execute(_REMOVE_OF_USER, {"user_id": user_id})


def remove_idle_sessions(connection: Connection, seen_before_ms: int) -> None:
    """End every session not used since ``seen_before_ms``."""
    connection.execute(_REMOVE_IDLE, {"seen_before_ms": seen_before_ms})


def _session(values: Sequence[Any]) -> ConsoleSession:
    id_hash, token_id, user_id, csrf, created_ms, seen_ms = values
    return ConsoleSession(
        id_hash=id_hash,
        token_id=token_id,
        user_id=user_id,
        csrf=csrf,
        created_ms=created_ms,
        seen_ms=seen_ms,
    )
