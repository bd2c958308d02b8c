"""Outbox leases: several worker processes deliver from one PostgreSQL outbox.

A row lock (``FOR UPDATE SKIP LOCKED``) ends with its transaction, and the
push to a peer must not run inside a transaction (a slow peer would hold a
database connection and row locks for seconds). So a courier takes rows in a
short transaction that marks them leased to its worker until a deadline, pushes
them with no transaction open, and records the answers. Another worker skips
leased rows until the deadline; a worker killed mid-push simply never answers,
its leases run out, and the rows are taken over. The peer de-duplicates by
envelope id, so the rare push repeated after an expired lease is harmless.

On SQLite one node process owns the database, so the courier does not lease
(leasing would turn its read-only look at the outbox into a write, an fsync).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from baliza.node.storage._dialect import dialect_name
from baliza.node.storage.delivery import MAX_BATCH, OutboxState, PendingDelivery
from baliza.node.storage.models import OutboxRow, SentEnvelopeRow

OWNER_LEN = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class Lease:
    """Who takes rows, and until when they are theirs."""

    owner: str
    until_ms: int


class OutboxLeases:
    """Hands out pending outbox rows to one worker at a time."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def available(self, destination: str, limit: int, now_ms: int) -> list[PendingDelivery]:
        """The oldest pending rows for ``destination`` nobody holds a live lease on.

        On PostgreSQL they stay row-locked until the transaction ends and rows
        another transaction is taking are skipped, so two workers choosing at
        the same moment get different rows; ``take`` then leases the ones sent.
        """
        query = (
            select(OutboxRow.seq, OutboxRow.envelope_id, OutboxRow.created_ms, SentEnvelopeRow.raw)
            .join(SentEnvelopeRow, SentEnvelopeRow.id == OutboxRow.envelope_id)
            .where(
                OutboxRow.destination == destination,
                OutboxRow.state == OutboxState.PENDING.value,
                or_(OutboxRow.leased_until_ms.is_(None), OutboxRow.leased_until_ms <= now_ms),
            )
            .order_by(OutboxRow.seq)
            .limit(max(1, min(limit, MAX_BATCH)))
        )
        if dialect_name(self._session) == "postgresql":
            query = query.with_for_update(skip_locked=True, of=OutboxRow)
        result = await self._session.execute(query)
        return [
            PendingDelivery(seq=seq, envelope_id=envelope_id, created_ms=created_ms, raw=raw)
            for seq, envelope_id, created_ms, raw in result
        ]

    async def take(self, seqs: Sequence[int], lease: Lease) -> None:
        """Lease the rows ``seqs`` (chosen by ``available`` in this transaction)."""
        if not seqs:
            return
        await self._session.execute(
            update(OutboxRow)
            .where(OutboxRow.seq.in_(list(seqs)))
            .values(lease_owner=lease.owner[:OWNER_LEN], leased_until_ms=lease.until_ms)
            .execution_options(synchronize_session=False)
        )

    async def release(self, seqs: Sequence[int], owner: str) -> None:
        """Give rows back before their deadline (the push failed; anyone may retry)."""
        if not seqs:
            return
        await self._session.execute(
            update(OutboxRow)
            .where(OutboxRow.seq.in_(list(seqs)), OutboxRow.lease_owner == owner[:OWNER_LEN])
            .values(lease_owner=None, leased_until_ms=None)
            .execution_options(synchronize_session=False)
        )

    async def next_expiry(self, destination: str, now_ms: int) -> int | None:
        """When the first live lease on a pending row for ``destination`` ends, if any.

        A courier that found every row leased by another worker waits until
        then: if that worker died, the rows are its to take over.
        """
        expiry = await self._session.scalar(
            select(func.min(OutboxRow.leased_until_ms)).where(
                OutboxRow.destination == destination,
                OutboxRow.state == OutboxState.PENDING.value,
                OutboxRow.leased_until_ms > now_ms,
            )
        )
        return None if expiry is None else int(expiry)
