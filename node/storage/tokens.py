"""Bearer tokens of the local JSON API, stored hashed.

A token is ``<id>.<secret>``: the public id finds the row, and only
SHA-256(secret) is stored, so a copy of the database cannot be replayed as a
credential. Comparing the hash in constant time is the caller's job (the API
layer, with ``hmac.compare_digest``); a revoked token stays listed for audit.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from baliza.node.storage.models import ApiTokenRow
from baliza.protocol.errors import ReasonCode, StorageError


class TokenRole(StrEnum):
    """What a token may do on the local API."""

    PUBLISHER = "publisher"
    ANALYST = "analyst"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiToken:
    """A stored API token: its public id, holder name, role and secret hash."""

    id: str
    name: str
    role: TokenRole
    token_hash: bytes
    created_ms: int
    revoked_ms: int | None = None

    @property
    def active(self) -> bool:
        """Whether the token may still authenticate."""
        return self.revoked_ms is None


def _token(row: ApiTokenRow) -> ApiToken:
    return ApiToken(
        id=row.id,
        name=row.name,
        role=TokenRole(row.role),
        token_hash=row.token_hash,
        created_ms=row.created_ms,
        revoked_ms=row.revoked_ms,
    )


class ApiTokens:
    """Repository of API tokens."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, token: ApiToken) -> None:
        """Store a new token; a used id fails the transaction with ``CONFLICT``."""
        await self._session.execute(
            insert(ApiTokenRow).values(
                id=token.id,
                name=token.name,
                role=TokenRole(token.role).value,
                token_hash=token.token_hash,
                created_ms=token.created_ms,
                revoked_ms=token.revoked_ms,
            )
        )

    async def find_by_id(self, token_id: str) -> ApiToken | None:
        """The token with this public id, revoked or not; None if there is none.

        None rather than an error: an unknown id is the ordinary outcome of a
        bad credential, which the API answers with 401 either way.
        """
        row = await self._session.scalar(
            select(ApiTokenRow)
            .where(ApiTokenRow.id == token_id)
            .execution_options(populate_existing=True)
        )
        return None if row is None else _token(row)

    async def revoke(self, token_id: str, now_ms: int) -> None:
        """Revoke a token from ``now_ms``; revoking twice keeps the first time.

        Raises ``StorageError(NOT_FOUND)`` for an unknown id.
        """
        if await self.find_by_id(token_id) is None:
            raise StorageError(ReasonCode.NOT_FOUND, f"no API token {token_id}")
        await self._session.execute(
            update(ApiTokenRow)
            .where(ApiTokenRow.id == token_id, ApiTokenRow.revoked_ms.is_(None))
            .values(revoked_ms=now_ms)
            .execution_options(synchronize_session=False)
        )

    async def list(self) -> list[ApiToken]:
        """Every token, oldest first."""
        rows = await self._session.scalars(
            select(ApiTokenRow)
            .order_by(ApiTokenRow.created_ms, ApiTokenRow.id)
            .execution_options(populate_existing=True)
        )
        return [_token(row) for row in rows]
