"""Bearer tokens for the agency-local API, stored hashed.

A token reads ``bz_<id>_<secret>``: the id finds the row, the secret is
checked against its SHA-256 in constant time. The secret is shown once, when
the token is created, and never stored; a database leak gives no tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from baliza.node.storage import Database
from baliza.node.storage.tokens import ApiToken, ApiTokens, TokenRole
from baliza.node.storage.trust import TrustEvents
from baliza.protocol.errors import ReasonCode, TrustError, UsageError

__all__ = [
    "ApiToken",
    "Caller",
    "Role",
    "authenticate",
    "check_bearer",
    "create_token",
    "issue_token",
    "list_tokens",
    "require",
    "revoke_token",
    "token_in_force",
    "withdraw_token",
]


class Role(StrEnum):
    """What a token may do. Each role includes the ones listed before it."""

    ANALYST = "analyst"  # read and follow notices
    PUBLISHER = "publisher"  # and publish
    ADMIN = "admin"  # and manage tokens, peers, keys

    def allows(self, needed: Role) -> bool:
        """Whether this role may do what ``needed`` may."""
        order = list(Role)
        return order.index(self) >= order.index(needed)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling the API."""

    token_id: str
    name: str
    role: Role


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


async def create_token(
    session: AsyncSession, name: str, role: str, now: int, *, actor: str = "local operator"
) -> str:
    """Create a token and return it; it is never shown again. Recorded as a trust event."""
    try:
        parsed = Role(role)
    except ValueError:
        raise UsageError(
            ReasonCode.BAD_ENUM, f"role must be one of {', '.join(Role)}", path="role"
        ) from None
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(24)
    await ApiTokens(session).add(
        ApiToken(
            id=token_id,
            name=name,
            role=TokenRole(parsed.value),
            token_hash=_hash(secret),
            created_ms=now,
        )
    )
    await TrustEvents(session).record(
        at_ms=now,
        actor=actor,
        action="token.created",
        subject=token_id,
        detail={"name": name, "role": parsed.value},
    )
    return f"bz_{token_id}_{secret}"


async def authenticate(session: AsyncSession, authorization: str | None) -> Caller:
    """Check an ``Authorization: Bearer`` header; raise ``TrustError`` if it fails."""
    if not authorization or not authorization.startswith("Bearer "):
        raise TrustError(ReasonCode.UNAUTHENTICATED, "a bearer token is required")
    token = authorization.removeprefix("Bearer ").strip()
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "bz":
        raise TrustError(ReasonCode.UNAUTHENTICATED, "malformed token")
    row = await ApiTokens(session).find_by_id(parts[1])
    if (
        row is None
        or row.revoked_ms is not None
        or not hmac.compare_digest(row.token_hash, _hash(parts[2]))
    ):
        raise TrustError(ReasonCode.UNAUTHENTICATED, "unknown or revoked token")
    return Caller(token_id=row.id, name=row.name, role=Role(row.role))


def require(caller: Caller, needed: Role) -> None:
    """Refuse ``caller`` unless its role allows ``needed``."""
    if not caller.role.allows(needed):
        raise TrustError(
            ReasonCode.FORBIDDEN, f"this needs the {needed} role; the token is {caller.role}"
        )


async def revoke_token(session: AsyncSession, token_id: str, now: int, *, actor: str) -> None:
    """Revoke a token (its console sessions end with it); recorded as a trust event."""
    await ApiTokens(session).revoke(token_id, now)
    await TrustEvents(session).record(
        at_ms=now, actor=actor, action="token.revoked", subject=token_id
    )


# The use cases, each one transaction: what the API, the console and the CLI call.


async def issue_token(
    db: Database, name: str, role: str, now: int, *, actor: str = "local operator"
) -> str:
    """Create a token (``create_token`` in its own transaction); its secret is shown once."""
    async with db.transaction() as session:
        return await create_token(session, name, role, now, actor=actor)


async def check_bearer(db: Database, authorization: str | None) -> Caller:
    """``authenticate`` in a read-only transaction; raises ``TrustError`` if it fails."""
    async with db.transaction(readonly=True) as session:
        return await authenticate(session, authorization)


async def token_in_force(db: Database, token_id: str) -> bool:
    """Whether the token exists and has not been revoked."""
    async with db.transaction(readonly=True) as session:
        token = await ApiTokens(session).find_by_id(token_id)
    return token is not None and token.revoked_ms is None


async def list_tokens(db: Database) -> list[ApiToken]:
    """Every API token, revoked ones included (for audit); never a secret."""
    async with db.transaction(readonly=True) as session:
        return await ApiTokens(session).list()


async def withdraw_token(db: Database, token_id: str, now: int, *, actor: str) -> None:
    """Revoke a token; ``UsageError`` (not found) when there is no such token."""
    async with db.transaction() as session:
        if await ApiTokens(session).find_by_id(token_id) is None:
            raise UsageError(ReasonCode.NOT_FOUND, f"no token {token_id}", path="id")
        await revoke_token(session, token_id, now, actor=actor)
