"""Repository of queued federation messages: the outbox of subscription and permission news.

Envelopes have their own outbox (storage/delivery.py); these are the small
signed messages that change a subscription's or a share permission's state
on the other side. They are queued in the transaction of the change, sent
oldest first per destination, and kept (``sent`` or ``refused`` with the
peer's reason) as the record of what was said.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from baliza.node.storage.models import MessageRow

PENDING, SENT, REFUSED = "pending", "sent", "refused"


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """One message to POST, signed at sending time, to ``destination``'s ``path``."""

    seq: int
    destination: str
    path: str
    body: bytes
    attempts: int
    next_attempt_ms: int


class Messages:
    """Queued federation messages."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, destination: str, path: str, body: bytes, now_ms: int) -> int:
        """Queue a message; return its sequence number."""
        row = MessageRow(destination=destination, path=path, body=body, created_ms=now_ms)
        self._session.add(row)
        await self._session.flush()
        return row.seq

    async def pending(self, destination: str | None = None) -> Sequence[QueuedMessage]:
        """Pending messages (of one destination), oldest first."""
        query = select(MessageRow).where(MessageRow.state == PENDING).order_by(MessageRow.seq)
        if destination is not None:
            query = query.where(MessageRow.destination == destination)
        rows = (await self._session.scalars(query)).all()
        return [
            QueuedMessage(r.seq, r.destination, r.path, r.body, r.attempts, r.next_attempt_ms)
            for r in rows
        ]

    async def state_of(self, seq: int) -> str:
        """``pending``, ``sent`` or ``refused``."""
        return str(
            await self._session.scalar(select(MessageRow.state).where(MessageRow.seq == seq))
        )

    async def error_of(self, seq: int) -> str | None:
        """The last error recorded for a message (the peer's refusal, or why it waits)."""
        return await self._session.scalar(
            select(MessageRow.last_error).where(MessageRow.seq == seq)
        )

    async def done(self, seq: int, state: str, now_ms: int, error: str | None = None) -> None:
        """Mark a message sent, or refused by the peer (kept with its reason)."""
        await self._session.execute(
            update(MessageRow)
            .where(MessageRow.seq == seq)
            .values(state=state, done_ms=now_ms, last_error=error)
        )

    async def failed(self, seq: int, next_attempt_ms: int, error: str) -> None:
        """The peer could not be reached: try again at ``next_attempt_ms``."""
        await self._session.execute(
            update(MessageRow)
            .where(MessageRow.seq == seq)
            .values(
                attempts=MessageRow.attempts + 1, next_attempt_ms=next_attempt_ms, last_error=error
            )
        )

    async def count_pending(self) -> int:
        """How many messages wait for their peer (for /metrics and status)."""
        query = select(func.count()).select_from(MessageRow).where(MessageRow.state == PENDING)
        return int(await self._session.scalar(query) or 0)
