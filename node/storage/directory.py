"""Repository of the federation directory versions this node accepted.

Every applied version is kept, as signed, so an operator can show which
directory vouched for a key at any moment, and the node can restore the
newest one at start without asking anybody.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from baliza.node.storage.models import DirectoryVersionRow


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectoryVersion:
    """One applied version: its number, when, until when, the signed bytes and signers."""

    version: int
    applied_ms: int
    expires_ms: int
    raw: bytes
    signers: tuple[str, ...]


class DirectoryVersions:
    """Append-only history of applied directory versions."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, version: DirectoryVersion) -> None:
        """Record an applied version; the same version twice fails (CONFLICT)."""
        await self._session.execute(
            insert(DirectoryVersionRow).values(
                version=version.version,
                applied_ms=version.applied_ms,
                expires_ms=version.expires_ms,
                raw=version.raw,
                signers=json.dumps(list(version.signers)),
            )
        )

    async def latest(self) -> DirectoryVersion | None:
        """The newest applied version, or None before the first one."""
        row = await self._session.scalar(
            select(DirectoryVersionRow).order_by(DirectoryVersionRow.version.desc()).limit(1)
        )
        return None if row is None else _version(row)

    async def after(self, version: int, limit: int = 50) -> Sequence[DirectoryVersion]:
        """Versions newer than ``version``, oldest first: what a lagging peer needs."""
        rows = await self._session.scalars(
            select(DirectoryVersionRow)
            .where(DirectoryVersionRow.version > version)
            .order_by(DirectoryVersionRow.version)
            .limit(limit)
        )
        return [_version(r) for r in rows]

    async def history(self) -> Sequence[DirectoryVersion]:
        """Every applied version, oldest first."""
        rows = await self._session.scalars(
            select(DirectoryVersionRow).order_by(DirectoryVersionRow.version)
        )
        return [_version(r) for r in rows]


def _version(row: DirectoryVersionRow) -> DirectoryVersion:
    return DirectoryVersion(
        version=row.version,
        applied_ms=row.applied_ms,
        expires_ms=row.expires_ms,
        raw=row.raw,
        signers=tuple(json.loads(row.signers)),
    )
