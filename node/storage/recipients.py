"""Repository of envelope recipients: who each envelope was addressed to, and why.

Rows are written once, in the transaction that stores the envelope, by
whoever stores it (publication, ingest, read receipt); they are never
rewritten. ``via`` is ``named``, ``channel`` or ``subscription``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from baliza.node.storage._dialect import upsert_insert
from baliza.node.storage.models import RecipientRow, table_of

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Addressee:
    """One recipient agency of an envelope and why it receives it."""

    agency: str
    via: str = "named"


class Recipients:
    """Who each stored envelope is addressed to."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, envelope_id: str, addressees: Iterable[Addressee]) -> None:
        """Record the addressees of one envelope; recording the same one again is a no-op."""
        await self.add_many([(envelope_id, a) for a in addressees])

    async def add_many(self, rows: Sequence[tuple[str, Addressee]]) -> None:
        """Record (envelope id, addressee) pairs in one statement."""
        if not rows:
            return
        statement = upsert_insert(self._session, table_of(RecipientRow)).on_conflict_do_nothing(
            index_elements=["envelope_id", "agency"]
        )
        await self._session.execute(
            statement,
            [{"envelope_id": eid, "agency": a.agency, "via": a.via} for eid, a in rows],
        )

    async def of(self, envelope_id: str) -> tuple[Addressee, ...]:
        """The addressees of one envelope, sorted by agency."""
        return (await self.of_many([envelope_id])).get(envelope_id, ())

    async def of_many(self, envelope_ids: Iterable[str]) -> dict[str, tuple[Addressee, ...]]:
        """The addressees of several envelopes, each sorted by agency."""
        ids = list(dict.fromkeys(envelope_ids))
        found: dict[str, list[Addressee]] = {}
        for start in range(0, len(ids), _CHUNK):
            rows = await self._session.execute(
                select(RecipientRow.envelope_id, RecipientRow.agency, RecipientRow.via)
                .where(RecipientRow.envelope_id.in_(ids[start : start + _CHUNK]))
                .order_by(RecipientRow.envelope_id, RecipientRow.agency)
            )
            for eid, agency, via in rows:
                found.setdefault(eid, []).append(Addressee(agency, via))
        return {eid: tuple(items) for eid, items in found.items()}

    async def includes(self, envelope_id: str, agency: str) -> bool:
        """Whether ``agency`` is among the addressees of ``envelope_id``."""
        row = await self._session.execute(
            select(RecipientRow.agency).where(
                RecipientRow.envelope_id == envelope_id, RecipientRow.agency == agency
            )
        )
        return row.first() is not None
