"""Repository of channel memberships: every accepted version as signed, and join requests.

Versions are never rewritten or deleted: a node must be able to check an
envelope sealed to an older version (its members at that version) long after
the channel moved on. The member rows are derived from the signed bytes when
a version is stored, so the roster of any version is one indexed query.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from baliza.node.storage._dialect import upsert_insert
from baliza.node.storage.models import ChannelJoinRow, ChannelMemberRow, ChannelVersionRow


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredMembership:
    """One accepted membership version: who was in, who owned it, and the signed bytes."""

    channel: str
    version: int
    kind: str
    applied_ms: int
    expires_ms: int
    members: tuple[str, ...]
    owners: tuple[str, ...]
    raw: bytes


class JoinState(StrEnum):
    """Where a request to join a programme channel stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True, kw_only=True)
class JoinRequest:
    """An agency's request to join a channel, as the owner's node keeps it."""

    channel: str
    agency: str
    requested_ms: int
    note: str
    state: JoinState
    decided_ms: int | None = None


class Channels:
    """Accepted membership versions and the join requests of channels this node owns."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, membership: StoredMembership) -> None:
        """Store one accepted version and its members; a stored version fails (CONFLICT)."""
        await self._session.execute(
            insert(ChannelVersionRow),
            [
                {
                    "channel": membership.channel,
                    "version": membership.version,
                    "kind": membership.kind,
                    "applied_ms": membership.applied_ms,
                    "expires_ms": membership.expires_ms,
                    "raw": membership.raw,
                }
            ],
        )
        await self._session.execute(
            insert(ChannelMemberRow),
            [
                {
                    "channel": membership.channel,
                    "version": membership.version,
                    "agency": agency,
                    "owner": agency in membership.owners,
                }
                for agency in membership.members
            ],
        )

    async def latest(self, channel: str) -> StoredMembership | None:
        """The newest accepted version of ``channel``, or None if this node knows none."""
        version = await self._session.scalar(
            select(func.max(ChannelVersionRow.version)).where(ChannelVersionRow.channel == channel)
        )
        return None if version is None else await self.get(channel, version)

    async def get(self, channel: str, version: int) -> StoredMembership | None:
        """One accepted version, or None if this node does not hold it."""
        row = await self._session.get(ChannelVersionRow, (channel, version))
        if row is None:
            return None
        members = (
            await self._session.execute(
                select(ChannelMemberRow.agency, ChannelMemberRow.owner)
                .where(ChannelMemberRow.channel == channel, ChannelMemberRow.version == version)
                .order_by(ChannelMemberRow.agency)
            )
        ).all()
        return StoredMembership(
            channel=row.channel,
            version=row.version,
            kind=row.kind,
            applied_ms=row.applied_ms,
            expires_ms=row.expires_ms,
            members=tuple(a for a, _ in members),
            owners=tuple(a for a, owner in members if owner),
            raw=row.raw,
        )

    async def after(self, channel: str, version: int, limit: int) -> list[StoredMembership]:
        """The versions of ``channel`` newer than ``version``, oldest first (catch-up)."""
        versions = await self._session.scalars(
            select(ChannelVersionRow.version)
            .where(ChannelVersionRow.channel == channel, ChannelVersionRow.version > version)
            .order_by(ChannelVersionRow.version)
            .limit(limit)
        )
        found = [await self.get(channel, v) for v in versions]
        return [m for m in found if m is not None]

    async def all_latest(self) -> list[StoredMembership]:
        """The newest version of every channel this node knows, by channel id."""
        newest = (
            select(ChannelVersionRow.channel, func.max(ChannelVersionRow.version).label("v"))
            .group_by(ChannelVersionRow.channel)
            .order_by(ChannelVersionRow.channel)
        )
        rows = (await self._session.execute(newest)).all()
        found = [await self.get(channel, version) for channel, version in rows]
        return [m for m in found if m is not None]

    async def request_join(self, request: JoinRequest) -> bool:
        """Record a join request; return False if the agency already asked."""
        statement = (
            upsert_insert(self._session, ChannelJoinRow)
            .on_conflict_do_nothing(index_elements=["channel", "agency"])
            .returning(ChannelJoinRow.agency)
        )
        result = await self._session.execute(
            statement,
            [
                {
                    "channel": request.channel,
                    "agency": request.agency,
                    "requested_ms": request.requested_ms,
                    "note": request.note,
                    "state": request.state.value,
                }
            ],
        )
        return result.first() is not None

    async def joins(self, channel: str | None = None) -> list[JoinRequest]:
        """Join requests, newest first; of one channel if given."""
        query = select(ChannelJoinRow).order_by(ChannelJoinRow.requested_ms.desc())
        if channel is not None:
            query = query.where(ChannelJoinRow.channel == channel)
        return [_join(row) for row in await self._session.scalars(query)]

    async def decide_join(self, channel: str, agency: str, state: JoinState, now_ms: int) -> bool:
        """Approve or refuse a pending request; return False if there is none pending."""
        result = await self._session.execute(
            update(ChannelJoinRow)
            .where(
                ChannelJoinRow.channel == channel,
                ChannelJoinRow.agency == agency,
                ChannelJoinRow.state == JoinState.PENDING.value,
            )
            .values(state=state.value, decided_ms=now_ms)
            .returning(ChannelJoinRow.agency)
        )
        return result.first() is not None


def _join(row: ChannelJoinRow) -> JoinRequest:
    return JoinRequest(
        channel=row.channel,
        agency=row.agency,
        requested_ms=row.requested_ms,
        note=row.note,
        state=JoinState(row.state),
        decided_ms=row.decided_ms,
    )
