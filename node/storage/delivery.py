"""Durable delivery state: the outbox, per-destination backoff, and pull cursors.

The outbox holds one row per (destination, sent envelope). A row is
``pending`` until the destination answers ``accepted`` or ``duplicate``
(``delivered``) or refuses it for good (``refused``, with the reason code).
Transport failures leave it pending and are counted in ``Destinations``
instead, with the next attempt time the delivery worker computed, so a person
can read "failing since …, last error …". The backoff policy itself lives
with the worker (time and jitter are its business); this module records it.

Several node processes may share one PostgreSQL database: their couriers
take rows through leases (``storage/leases.py``), not ``pending_batch``,
because a row lock ends with its transaction, before the push is answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from baliza.node.storage._dialect import dialect_name, upsert_insert
from baliza.node.storage.models import (
    DestinationRow,
    OutboxRow,
    PullCursorRow,
    SentEnvelopeRow,
    table_of,
)
from baliza.protocol.errors import ReasonCode, StorageError

MAX_BATCH = 1000


class OutboxState(StrEnum):
    """Where one delivery obligation stands."""

    PENDING = "pending"
    DELIVERED = "delivered"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxEntry:
    """One (destination, envelope) row of the outbox, as a status page shows it."""

    seq: int
    destination: str
    envelope_id: str
    created_ms: int
    state: OutboxState
    delivered_ms: int | None
    refused_reason: str | None
    refused_detail: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingDelivery:
    """An envelope waiting for one destination, with the bytes to send."""

    seq: int
    envelope_id: str
    created_ms: int
    raw: bytes


class OutboxItem(NamedTuple):
    """One envelope a peer may pull: its outbox ``seq`` (the cursor) and its bytes."""

    seq: int
    raw: bytes


def _entry(row: OutboxRow) -> OutboxEntry:
    return OutboxEntry(
        seq=row.seq,
        destination=row.destination,
        envelope_id=row.envelope_id,
        created_ms=row.created_ms,
        state=OutboxState(row.state),
        delivered_ms=row.delivered_ms,
        refused_reason=row.refused_reason,
        refused_detail=row.refused_detail,
    )


class Outbox:
    """Repository of delivery obligations, one queue per destination."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def enqueue(self, destination: str, envelope_id: str, created_ms: int) -> None:
        """Queue a sent envelope for ``destination``; queuing it twice is a no-op.

        The envelope must be in ``SentEnvelopes`` (a foreign key), otherwise
        the transaction fails with ``StorageError(CONFLICT)``.
        """
        await self.enqueue_many([destination], envelope_id, created_ms)

    async def enqueue_many(
        self, destinations: Sequence[str], envelope_id: str, created_ms: int
    ) -> None:
        """Queue one sent envelope for several destinations in one statement."""
        await self.enqueue_all([(destinations, envelope_id, created_ms)])

    async def enqueue_all(self, queued: Sequence[tuple[Sequence[str], str, int]]) -> None:
        """Queue several sent envelopes, each ``(destinations, envelope_id, created_ms)``,
        in one statement (a group of publications)."""
        rows = [
            {
                "destination": destination,
                "envelope_id": envelope_id,
                "created_ms": created_ms,
                "state": OutboxState.PENDING.value,
            }
            for destinations, envelope_id, created_ms in queued
            for destination in dict.fromkeys(destinations)
        ]
        if not rows:
            return
        statement = upsert_insert(self._session, table_of(OutboxRow)).on_conflict_do_nothing(
            index_elements=["destination", "envelope_id"]
        )
        await self._session.execute(statement, rows)

    async def pending_batch(self, destination: str, limit: int) -> list[PendingDelivery]:
        """The oldest pending envelopes for ``destination``, by ``seq``, with their bytes.

        On PostgreSQL the rows stay locked until the transaction ends and rows
        locked by another worker are skipped: keep the transaction open while
        sending, or mark the result before it ends.
        """
        query = (
            select(OutboxRow.seq, OutboxRow.envelope_id, OutboxRow.created_ms, SentEnvelopeRow.raw)
            .join(SentEnvelopeRow, SentEnvelopeRow.id == OutboxRow.envelope_id)
            .where(
                OutboxRow.destination == destination,
                OutboxRow.state == OutboxState.PENDING.value,
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

    async def mark_delivered(
        self, destination: str, envelope_ids: Sequence[str], now_ms: int
    ) -> int:
        """Mark ``destination``'s pending rows for ``envelope_ids`` delivered; return how many.

        Rows already delivered or refused are left alone, so a late duplicate
        answer cannot rewrite history. A peer answers per envelope id, hence
        the key: (destination, envelope id) is unique in the outbox.
        """
        if not envelope_ids:
            return 0
        result = await self._session.execute(
            update(OutboxRow)
            .where(
                OutboxRow.destination == destination,
                OutboxRow.envelope_id.in_(list(envelope_ids)),
                OutboxRow.state == OutboxState.PENDING.value,
            )
            .values(state=OutboxState.DELIVERED.value, delivered_ms=now_ms)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def mark_refused(
        self,
        destination: str,
        envelope_id: str,
        reason: str,
        detail: str,
        now_ms: int | None = None,
    ) -> bool:
        """Mark a pending row refused for good with the peer's reason code.

        Returns False when the row was not pending (already answered).
        ``now_ms``, when given, is kept in ``delivered_ms``: when the peer answered.
        """
        result = await self._session.execute(
            update(OutboxRow)
            .where(
                OutboxRow.destination == destination,
                OutboxRow.envelope_id == envelope_id,
                OutboxRow.state == OutboxState.PENDING.value,
            )
            .values(
                state=OutboxState.REFUSED.value,
                refused_reason=reason[:64],
                refused_detail=detail,
                delivered_ms=now_ms,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def state_for_envelope(self, envelope_id: str) -> list[OutboxEntry]:
        """Where one sent envelope stands at each destination, sorted by destination."""
        rows = await self._session.scalars(
            select(OutboxRow)
            .where(OutboxRow.envelope_id == envelope_id)
            .order_by(OutboxRow.destination)
        )
        return [_entry(row) for row in rows]

    async def counts(self) -> dict[str, dict[OutboxState, int]]:
        """Rows per destination and state: the numbers behind a status page."""
        result = await self._session.execute(
            select(OutboxRow.destination, OutboxRow.state, func.count()).group_by(
                OutboxRow.destination, OutboxRow.state
            )
        )
        counts: dict[str, dict[OutboxState, int]] = {}
        for destination, state, count in result:
            counts.setdefault(destination, {})[OutboxState(state)] = count
        return counts

    async def pending_counts(self) -> dict[str, int]:
        """Pending rows per destination (destinations with none are absent)."""
        result = await self._session.execute(
            select(OutboxRow.destination, func.count())
            .where(OutboxRow.state == OutboxState.PENDING.value)
            .group_by(OutboxRow.destination)
        )
        return {destination: count for destination, count in result}

    async def for_peer_after(self, destination: str, cursor: int, limit: int) -> list[OutboxItem]:
        """Envelopes queued for ``destination`` with ``seq > cursor``, by ``seq``.

        This answers a peer's pull (``GET /fed/v1/outbox``): every state is
        included, because a peer back from a week offline may have lost what
        it acknowledged, and it de-duplicates by envelope id anyway.
        """
        result = await self._session.execute(
            select(OutboxRow.seq, SentEnvelopeRow.raw)
            .join(SentEnvelopeRow, SentEnvelopeRow.id == OutboxRow.envelope_id)
            .where(OutboxRow.destination == destination, OutboxRow.seq > cursor)
            .order_by(OutboxRow.seq)
            .limit(max(1, min(limit, MAX_BATCH)))
        )
        return [OutboxItem(seq, raw) for seq, raw in result]


@dataclass(frozen=True, slots=True, kw_only=True)
class Destination:
    """A peer node to deliver to, and how delivery to it has been going."""

    agency: str
    url: str
    attempts: int
    next_attempt_ms: int
    failing_since_ms: int | None
    last_error: str | None
    last_delivered_ms: int | None


def _destination(row: DestinationRow) -> Destination:
    return Destination(
        agency=row.agency,
        url=row.url,
        attempts=row.attempts,
        next_attempt_ms=row.next_attempt_ms,
        failing_since_ms=row.failing_since_ms,
        last_error=row.last_error,
        last_delivered_ms=row.last_delivered_ms,
    )


class Destinations:
    """Repository of peer nodes and their delivery backoff."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def ensure(self, agency: str, url: str) -> None:
        """Create the destination, or update its URL and keep its delivery history."""
        statement = upsert_insert(self._session, DestinationRow).values(
            agency=agency, url=url, attempts=0, next_attempt_ms=0
        )
        await self._session.execute(
            statement.on_conflict_do_update(index_elements=["agency"], set_={"url": url})
        )

    async def get(self, agency: str) -> Destination | None:
        """One destination, or None before the first ``ensure``: nothing to back off from."""
        row = await self._session.get(DestinationRow, agency, populate_existing=True)
        return None if row is None else _destination(row)

    async def all(self) -> list[Destination]:
        """Every destination, sorted by agency."""
        rows = await self._session.scalars(
            select(DestinationRow)
            .order_by(DestinationRow.agency)
            .execution_options(populate_existing=True)
        )
        return [_destination(row) for row in rows]

    async def due(self, now_ms: int) -> list[Destination]:
        """Destinations whose backoff has expired and that have something pending.

        Ordered by ``next_attempt_ms``, so the longest-waiting peer goes first.
        """
        has_pending = exists().where(
            OutboxRow.destination == DestinationRow.agency,
            OutboxRow.state == OutboxState.PENDING.value,
        )
        rows = await self._session.scalars(
            select(DestinationRow)
            .where(DestinationRow.next_attempt_ms <= now_ms, has_pending)
            .order_by(DestinationRow.next_attempt_ms, DestinationRow.agency)
            .execution_options(populate_existing=True)
        )
        return [_destination(row) for row in rows]

    async def record_success(self, agency: str, now_ms: int) -> None:
        """Reset the backoff after a delivery. Raises ``StorageError(NOT_FOUND)``."""
        await self._update(
            agency,
            attempts=0,
            next_attempt_ms=0,
            failing_since_ms=None,
            last_error=None,
            last_delivered_ms=now_ms,
        )

    async def record_failure(
        self, agency: str, now_ms: int, error: str, next_attempt_ms: int
    ) -> None:
        """Count a failed attempt and schedule the next one (the caller computes backoff).

        ``failing_since_ms`` keeps the first failure of the current streak.
        Raises ``StorageError(NOT_FOUND)``.
        """
        await self._update(
            agency,
            attempts=DestinationRow.attempts + 1,
            next_attempt_ms=next_attempt_ms,
            failing_since_ms=func.coalesce(DestinationRow.failing_since_ms, now_ms),
            last_error=error,
        )

    async def _update(self, agency: str, **values: object) -> None:
        result = await self._session.execute(
            update(DestinationRow)
            .where(DestinationRow.agency == agency)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise StorageError(ReasonCode.NOT_FOUND, f"no destination {agency}")


class PullCursors:
    """Repository of how far this node has pulled each peer's outbox."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, peer: str) -> int:
        """The last outbox ``seq`` pulled from ``peer``; 0 when never pulled."""
        cursor = await self._session.scalar(
            select(PullCursorRow.cursor).where(PullCursorRow.peer == peer)
        )
        return cursor or 0

    async def set(self, peer: str, cursor: int) -> None:
        """Remember that everything up to ``cursor`` was pulled from ``peer``."""
        statement = upsert_insert(self._session, PullCursorRow).values(peer=peer, cursor=cursor)
        await self._session.execute(
            statement.on_conflict_do_update(index_elements=["peer"], set_={"cursor": cursor})
        )
