"""API tokens as units of work read and write them.

A token row is found by its public id; only the SHA-256 of its secret is
stored (see storage/tokens.py). Tokens are never deleted nor un-revoked, so
the count of revoked ones (the revocation epoch) only grows. Disabling a
person revokes the tokens they own (``revoke_owned_by``), so their tokens
end through the same epoch as any revoked token.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from baliza.node.storage.models import ApiTokenRow, UserRow, table_of
from baliza.node.storage.tokens import ApiToken, ListedToken, TokenOwner, TokenRole

_tokens = table_of(ApiTokenRow)
_users = table_of(UserRow)
TOKEN_COLUMNS = (
    _tokens.c.id,
    _tokens.c.name,
    _tokens.c.role,
    _tokens.c.token_hash,
    _tokens.c.created_ms,
    _tokens.c.revoked_ms,
    _tokens.c.owner_id,
)
_INSERT = insert(_tokens)
_BY_ID = select(*TOKEN_COLUMNS).where(_tokens.c.id == bindparam("id"))
_ALL = (
    select(*TOKEN_COLUMNS, _users.c.login, _users.c.name, _users.c.disabled)
    .select_from(_tokens.outerjoin(_users, _users.c.id == _tokens.c.owner_id))
    .order_by(_tokens.c.created_ms, _tokens.c.id)
)
_N = len(TOKEN_COLUMNS)
# A second revocation keeps the first time.
_REVOKE = (
    update(_tokens)
    .where(_tokens.c.id == bindparam("token_id"), _tokens.c.revoked_ms.is_(None))
    .values(revoked_ms=bindparam("now_ms"))
)
_OWNED_IN_FORCE = select(_tokens.c.id).where(
    _tokens.c.owner_id == bindparam("owner"), _tokens.c.revoked_ms.is_(None)
)
_REVOKE_OWNED = (
    update(_tokens)
    .where(_tokens.c.owner_id == bindparam("owner"), _tokens.c.revoked_ms.is_(None))
    .values(revoked_ms=bindparam("now_ms"))
)
# A stream that validated its token at count N need not look again until it changes.
_REVOKED = select(func.count(_tokens.c.revoked_ms))


def token_from(row: Sequence[Any]) -> ApiToken:
    """An ``ApiToken`` from a row of the token columns, in table order."""
    token_id, name, role, token_hash, created_ms, revoked_ms, owner_id = row
    return ApiToken(
        id=token_id,
        name=name,
        role=TokenRole(role),
        token_hash=token_hash,
        created_ms=created_ms,
        revoked_ms=revoked_ms,
        owner_id=owner_id,
    )


def insert_token(connection: Connection, token: ApiToken) -> None:
    """Store a new token; a used id fails the unit with ``StorageError(CONFLICT)``."""
    connection.execute(
        _INSERT,
        {
            "id": token.id,
            "name": token.name,
            "role": TokenRole(token.role).value,
            "token_hash": token.token_hash,
            "created_ms": token.created_ms,
            "revoked_ms": token.revoked_ms,
            "owner_id": token.owner_id,
        },
    )


def token_by_id(connection: Connection, token_id: str) -> ApiToken | None:
    """The token with this public id, revoked or not; None if there is none.

    None rather than an error: an unknown id is the ordinary outcome of a
    bad credential, which the API answers with 401 either way.
    """
    row = connection.execute(_BY_ID, {"id": token_id}).one_or_none()
    return None if row is None else token_from(row)


def all_tokens(connection: Connection) -> list[ListedToken]:
    """Every token with its owner's login and name, oldest first."""
    listed = []
    for row in connection.execute(_ALL):
        login, name, disabled = row[_N:]
        owner = (
            None if login is None else TokenOwner(login=login, name=name, disabled=bool(disabled))
        )
        listed.append(ListedToken(token=token_from(row[:_N]), owner=owner))
    return listed


def revoke_token(connection: Connection, token_id: str, now_ms: int) -> bool:
    """Revoke a token from ``now_ms``; False when it was already revoked or never existed.

    Revoking twice keeps the first time. Callers that must tell "unknown"
    from "already revoked" look the token up when this returns False.
    """
    result = connection.execute(_REVOKE, {"token_id": token_id, "now_ms": now_ms})
    return bool(result.rowcount)


def revoke_owned_by(connection: Connection, owner_id: str, now_ms: int) -> list[str]:
    """Revoke from ``now_ms`` every token in force that ``owner_id`` owns; return their ids.

    Read, then revoked, in the caller's unit: the ids name the trust events.
    """
    ids = [str(i) for i in connection.execute(_OWNED_IN_FORCE, {"owner": owner_id}).scalars()]
    if ids:
        connection.execute(_REVOKE_OWNED, {"owner": owner_id, "now_ms": now_ms})
    return ids


def revocations(connection: Connection) -> int:
    """How many tokens have been revoked so far (the revocation epoch)."""
    return int(connection.execute(_REVOKED).scalar_one())
