"""Console sessions, stored hashed: a browser signed in with an API token.

The cookie holds a random secret; only its SHA-256 is stored, so a copy of
the database cannot be replayed as a session. A session points at the token
it was opened with, so revoking the token ends every session it opened.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from baliza.node.storage.models import ConsoleSessionRow


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsoleSession:
    """One signed-in browser: its token, its form token, when it was last used."""

    id_hash: bytes
    token_id: str
    csrf: str
    created_ms: int
    seen_ms: int


class ConsoleSessions:
    """Repository of console sessions."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, item: ConsoleSession) -> None:
        """Store a new session."""
        await self._session.execute(
            insert(ConsoleSessionRow).values(
                id_hash=item.id_hash,
                token_id=item.token_id,
                csrf=item.csrf,
                created_ms=item.created_ms,
                seen_ms=item.seen_ms,
            )
        )

    async def find(self, id_hash: bytes) -> ConsoleSession | None:
        """The session with this hash, or None."""
        row = await self._session.scalar(
            select(ConsoleSessionRow)
            .where(ConsoleSessionRow.id_hash == id_hash)
            .execution_options(populate_existing=True)
        )
        if row is None:
            return None
        return ConsoleSession(
            id_hash=row.id_hash,
            token_id=row.token_id,
            csrf=row.csrf,
            created_ms=row.created_ms,
            seen_ms=row.seen_ms,
        )

    async def touch(self, id_hash: bytes, now_ms: int) -> None:
        """Record that the session was used at ``now_ms``."""
        await self._session.execute(
            update(ConsoleSessionRow)
            .where(ConsoleSessionRow.id_hash == id_hash)
            .values(seen_ms=now_ms)
            .execution_options(synchronize_session=False)
        )

    async def remove(self, id_hash: bytes) -> None:
        """End one session (sign-out, or found idle)."""
        await self._session.execute(
            delete(ConsoleSessionRow)
            .where(ConsoleSessionRow.id_hash == id_hash)
            .execution_options(synchronize_session=False)
        )

    async def remove_idle(self, seen_before_ms: int) -> None:
        """End every session not used since ``seen_before_ms``."""
        await self._session.execute(
            delete(ConsoleSessionRow)
            .where(ConsoleSessionRow.seen_ms < seen_before_ms)
            .execution_options(synchronize_session=False)
        )
