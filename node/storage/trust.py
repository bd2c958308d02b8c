"""Local trust records: the trust-event log and local blocks of agencies.

Trust events are append-only: who changed what about trust, and when (key
rotation, directory update, block, peer admission). They feed the audit log
and the admin console. Local blocks narrow trust below the federation
directory; they can never widen it, so nothing here admits anyone.

Units of work read and write them through sql/trust.py. The async
``TrustEvents`` and ``LocalBlocks`` below remain only for services/channels.py
and services/delivery.py until those move to units of work (delivery can ask
the node's ``BlockList``, services/trust_admin.py); then they go.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from baliza.node.storage._dialect import upsert_insert
from baliza.node.storage.models import LocalBlockRow, TrustEventRow

MAX_PAGE = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustEvent:
    """One recorded trust decision. ``detail`` is a JSON object."""

    seq: int
    at_ms: int
    actor: str
    action: str
    subject: str
    detail: Mapping[str, Any] = field(default_factory=dict)


class BlockKind(StrEnum):
    """``block`` refuses an agency's envelopes; ``pause`` only stops delivery to it."""

    BLOCK = "block"
    PAUSE = "pause"


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalBlock:
    """A local decision about one agency, and who took it when."""

    agency: str
    kind: BlockKind
    reason: str
    at_ms: int
    actor: str


class TrustEvents:
    """Repository of the append-only trust-event log."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(
        self,
        *,
        at_ms: int,
        actor: str,
        action: str,
        subject: str,
        detail: Mapping[str, Any] | None = None,
    ) -> int:
        """Append an event and return its ``seq``.

        ``detail`` must be JSON-serialisable; it is stored with sorted keys so
        equal details are equal bytes.
        """
        seq: int | None = await self._session.scalar(
            insert(TrustEventRow)
            .values(
                at_ms=at_ms,
                actor=actor,
                action=action,
                subject=subject,
                detail=json.dumps(dict(detail or {}), sort_keys=True, separators=(",", ":")),
            )
            .returning(TrustEventRow.seq)
        )
        assert seq is not None  # INSERT … RETURNING yields exactly one row
        return seq

    async def list(self, *, after_seq: int = 0, limit: int = 100) -> list[TrustEvent]:
        """Events with ``seq > after_seq``, oldest first, at most ``limit``."""
        rows = await self._session.scalars(
            select(TrustEventRow)
            .where(TrustEventRow.seq > after_seq)
            .order_by(TrustEventRow.seq)
            .limit(max(1, min(limit, MAX_PAGE)))
        )
        return [
            TrustEvent(
                seq=row.seq,
                at_ms=row.at_ms,
                actor=row.actor,
                action=row.action,
                subject=row.subject,
                detail=json.loads(row.detail),
            )
            for row in rows
        ]


class LocalBlocks:
    """Repository of local blocks and pauses, one per agency."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def set(self, block: LocalBlock) -> None:
        """Block or pause an agency, replacing any earlier decision about it."""
        values = {
            "kind": BlockKind(block.kind).value,
            "reason": block.reason,
            "at_ms": block.at_ms,
            "actor": block.actor,
        }
        statement = upsert_insert(self._session, LocalBlockRow).values(
            agency=block.agency, **values
        )
        await self._session.execute(
            statement.on_conflict_do_update(index_elements=["agency"], set_=values)
        )

    async def remove(self, agency: str) -> bool:
        """Lift the decision about ``agency``; False if there was none."""
        result = await self._session.execute(
            delete(LocalBlockRow).where(LocalBlockRow.agency == agency)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def is_blocked(self, agency: str) -> bool:
        """Whether envelopes from ``agency`` are refused here (a pause does not refuse)."""
        block = await self.get(agency)
        return block is not None and block.kind is BlockKind.BLOCK

    async def get(self, agency: str) -> LocalBlock | None:
        """The decision about ``agency``, or None when it is neither blocked nor paused."""
        row = await self._session.scalar(
            select(LocalBlockRow)
            .where(LocalBlockRow.agency == agency)
            .execution_options(populate_existing=True)
        )
        return None if row is None else _block(row)

    async def all(self) -> list[LocalBlock]:
        """Every local decision, sorted by agency."""
        rows = await self._session.scalars(
            select(LocalBlockRow)
            .order_by(LocalBlockRow.agency)
            .execution_options(populate_existing=True)
        )
        return [_block(row) for row in rows]


def _block(row: LocalBlockRow) -> LocalBlock:
    return LocalBlock(
        agency=row.agency,
        kind=BlockKind(row.kind),
        reason=row.reason,
        at_ms=row.at_ms,
        actor=row.actor,
    )
