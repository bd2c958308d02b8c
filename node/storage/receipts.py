"""Receipts: which agency acknowledged which envelope, and how far.

A receipt arrives at least once, possibly many times; storing it is
idempotent, keyed by (envelope, agency, state), and the first time wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from baliza.node.storage._dialect import upsert_insert
from baliza.node.storage.models import ReceiptRow


class ReceiptState(StrEnum):
    """How far a recipient got with an envelope."""

    DELIVERED = "delivered"
    READ = "read"
    ACTIONED = "actioned"


@dataclass(frozen=True, slots=True, kw_only=True)
class Receipt:
    """One acknowledgement of an envelope by an agency."""

    envelope_id: str
    from_agency: str
    state: ReceiptState
    at_ms: int


_STATE_ORDER = {state: index for index, state in enumerate(ReceiptState)}


class Receipts:
    """Repository of receipts."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, receipt: Receipt) -> bool:
        """Store a receipt unless the same one is stored; True if it was new."""
        statement = (
            upsert_insert(self._session, ReceiptRow)
            .values(
                envelope_id=receipt.envelope_id,
                from_agency=receipt.from_agency,
                state=ReceiptState(receipt.state).value,
                at_ms=receipt.at_ms,
            )
            .on_conflict_do_nothing(index_elements=["envelope_id", "from_agency", "state"])
            .returning(ReceiptRow.envelope_id)
        )
        inserted = await self._session.scalar(statement)
        return inserted is not None

    async def for_envelope(self, envelope_id: str) -> list[Receipt]:
        """Every receipt of an envelope, by agency, then delivered → read → actioned."""
        rows = await self._session.execute(
            select(ReceiptRow.from_agency, ReceiptRow.state, ReceiptRow.at_ms).where(
                ReceiptRow.envelope_id == envelope_id
            )
        )
        receipts = [
            Receipt(
                envelope_id=envelope_id,
                from_agency=agency,
                state=ReceiptState(state),
                at_ms=at_ms,
            )
            for agency, state, at_ms in rows
        ]
        receipts.sort(key=lambda r: (r.from_agency, _STATE_ORDER[r.state]))
        return receipts
