"""Security keys and WebAuthn challenges as units of work read and write them.

A challenge is taken by deleting it: ``take_challenge`` returns the row it
deleted, or None, so a challenge answers one ceremony only even when two
race. A key's counter moves only forward (``advance_sign_count`` is a
conditional update), so two sign-ins racing with one assertion cannot both
pass.
"""

from __future__ import annotations

from sqlalchemy import Connection, and_, bindparam, delete, insert, or_, select, update

from baliza.node.storage.models import SecurityKeyRow, WebauthnChallengeRow, table_of
from baliza.node.storage.users import Challenge, SecurityKey

_keys = table_of(SecurityKeyRow)
_challenges = table_of(WebauthnChallengeRow)

_KEY_COLUMNS = (
    _keys.c.credential_id,
    _keys.c.user_id,
    _keys.c.public_key,
    _keys.c.sign_count,
    _keys.c.name,
    _keys.c.created_ms,
    _keys.c.last_used_ms,
)
_INSERT_KEY = insert(_keys)
_KEYS_OF = (
    select(*_KEY_COLUMNS)
    .where(_keys.c.user_id == bindparam("owner"))
    .order_by(_keys.c.created_ms, _keys.c.credential_id)
)
_KEY_BY_ID = select(*_KEY_COLUMNS).where(_keys.c.credential_id == bindparam("cid"))
_ADVANCE = (
    update(_keys)
    .where(
        _keys.c.credential_id == bindparam("cid"),
        or_(
            _keys.c.sign_count < bindparam("count"),
            and_(_keys.c.sign_count == 0, bindparam("count") == 0),
        ),
    )
    .values(sign_count=bindparam("count"), last_used_ms=bindparam("now_ms"))
)
_REMOVE_KEY = delete(_keys).where(
    _keys.c.credential_id == bindparam("cid"), _keys.c.user_id == bindparam("owner")
)
_INSERT_CHALLENGE = insert(_challenges)
_FIND_CHALLENGE = select(
    _challenges.c.user_id,
    _challenges.c.purpose,
    _challenges.c.challenge,
    _challenges.c.expires_ms,
).where(_challenges.c.id_hash == bindparam("id_hash"))
_DROP_CHALLENGE = delete(_challenges).where(_challenges.c.id_hash == bindparam("id_hash"))
_DROP_EXPIRED = delete(_challenges).where(_challenges.c.expires_ms <= bindparam("now_ms"))


def _key_from(row: tuple[object, ...]) -> SecurityKey:
    cid, owner, public_key, count, name, created, used = row
    assert isinstance(cid, bytes) and isinstance(public_key, bytes)
    assert isinstance(owner, str) and isinstance(name, str)
    assert isinstance(count, int) and isinstance(created, int)
    assert used is None or isinstance(used, int)
    return SecurityKey(
        credential_id=bytes(cid),
        user_id=owner,
        public_key=bytes(public_key),
        sign_count=count,
        name=name,
        created_ms=created,
        last_used_ms=used,
    )


def insert_key(connection: Connection, key: SecurityKey) -> None:
    """Store a new key; a credential id already stored fails the unit (``conflict``)."""
    connection.execute(
        _INSERT_KEY,
        {
            "credential_id": key.credential_id,
            "user_id": key.user_id,
            "public_key": key.public_key,
            "sign_count": key.sign_count,
            "name": key.name,
            "created_ms": key.created_ms,
            "last_used_ms": key.last_used_ms,
        },
    )


def keys_of(connection: Connection, user_id: str) -> list[SecurityKey]:
    """A user's keys, oldest first."""
    return [_key_from(tuple(row)) for row in connection.execute(_KEYS_OF, {"owner": user_id})]


def key_by_id(connection: Connection, credential_id: bytes) -> SecurityKey | None:
    """The key with this credential id, whoever holds it; or None."""
    row = connection.execute(_KEY_BY_ID, {"cid": credential_id}).one_or_none()
    return None if row is None else _key_from(tuple(row))


def advance_sign_count(connection: Connection, credential_id: bytes, count: int, now: int) -> bool:
    """Store the counter an assertion carried; False if it is not after the stored one.

    A key that keeps no counter sends 0 every time; 0 after 0 is accepted.
    """
    result = connection.execute(_ADVANCE, {"cid": credential_id, "count": count, "now_ms": now})
    return bool(result.rowcount)


def remove_key(connection: Connection, user_id: str, credential_id: bytes) -> bool:
    """Remove one of ``user_id``'s keys; False if they hold no such key."""
    result = connection.execute(_REMOVE_KEY, {"cid": credential_id, "owner": user_id})
    return bool(result.rowcount)


def insert_challenge(
    connection: Connection, id_hash: bytes, challenge: Challenge, now: int
) -> None:
    """Store a challenge in flight, and forget every expired one."""
    connection.execute(_DROP_EXPIRED, {"now_ms": now})
    connection.execute(
        _INSERT_CHALLENGE,
        {
            "id_hash": id_hash,
            "user_id": challenge.user_id,
            "purpose": challenge.purpose,
            "challenge": challenge.challenge,
            "expires_ms": challenge.expires_ms,
        },
    )


def take_challenge(connection: Connection, id_hash: bytes) -> Challenge | None:
    """Delete the challenge with this handle and return it; None if there was none."""
    row = connection.execute(_FIND_CHALLENGE, {"id_hash": id_hash}).one_or_none()
    if row is None:
        return None
    if not connection.execute(_DROP_CHALLENGE, {"id_hash": id_hash}).rowcount:
        return None  # another unit took it first
    owner, purpose, challenge, expires = row
    return Challenge(user_id=owner, purpose=purpose, challenge=bytes(challenge), expires_ms=expires)
