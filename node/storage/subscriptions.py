"""Repositories of partner subscriptions and share permission requests.

Both are kept on the two nodes concerned under the same id; a row changes
state only through the services, which check who may make which change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from baliza.node.storage.models import PermissionRow, SubscriptionRow
from baliza.protocol.errors import ReasonCode, StorageError


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscription:
    """One subscription as stored here."""

    id: str
    publisher: str
    subscriber: str
    filter_json: str
    state: str
    created_ms: int
    updated_ms: int
    paused_by: str | None = None
    note: str | None = None
    reason: str | None = None


def _subscription(row: SubscriptionRow) -> Subscription:
    return Subscription(
        id=row.id,
        publisher=row.publisher,
        subscriber=row.subscriber,
        filter_json=row.filter_json,
        state=row.state,
        created_ms=row.created_ms,
        updated_ms=row.updated_ms,
        paused_by=row.paused_by,
        note=row.note,
        reason=row.reason,
    )


class Subscriptions:
    """Subscriptions this node publishes to partners, or holds with publishers."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, item: Subscription) -> None:
        """Store a new subscription; an id already here fails with ``CONFLICT``."""
        if await self._session.get(SubscriptionRow, item.id) is not None:
            raise StorageError(ReasonCode.CONFLICT, f"subscription {item.id} exists", path="id")
        self._session.add(
            SubscriptionRow(
                id=item.id,
                publisher=item.publisher,
                subscriber=item.subscriber,
                filter_json=item.filter_json,
                state=item.state,
                paused_by=item.paused_by,
                note=item.note,
                reason=item.reason,
                created_ms=item.created_ms,
                updated_ms=item.updated_ms,
            )
        )
        await self._session.flush()

    async def get(self, sid: str) -> Subscription:
        """One subscription; ``NOT_FOUND`` if this node has none by that id."""
        row = await self._session.get(SubscriptionRow, sid)
        if row is None:
            raise StorageError(ReasonCode.NOT_FOUND, f"no subscription {sid}", path="id")
        return _subscription(row)

    async def set_state(
        self, sid: str, state: str, *, at_ms: int, reason: str | None, paused_by: str | None
    ) -> None:
        """Record a new state (and who paused, when pausing)."""
        await self._session.execute(
            update(SubscriptionRow)
            .where(SubscriptionRow.id == sid)
            .values(state=state, updated_ms=at_ms, reason=reason, paused_by=paused_by)
        )

    async def involving(self, agency: str) -> list[Subscription]:
        """Every subscription where ``agency`` is publisher or subscriber, oldest first."""
        rows = await self._session.scalars(
            select(SubscriptionRow)
            .where(or_(SubscriptionRow.publisher == agency, SubscriptionRow.subscriber == agency))
            .order_by(SubscriptionRow.created_ms, SubscriptionRow.id)
        )
        return [_subscription(r) for r in rows]

    async def admitted_from(self, publisher: str) -> list[Subscription]:
        """The admitted subscriptions to ``publisher``'s notices: who to seal to as well."""
        rows = await self._session.scalars(
            select(SubscriptionRow)
            .where(SubscriptionRow.publisher == publisher, SubscriptionRow.state == "admitted")
            .order_by(SubscriptionRow.subscriber)
        )
        return [_subscription(r) for r in rows]


@dataclass(frozen=True, slots=True, kw_only=True)
class Permission:
    """One request to pass a notice on, as stored by the requester or the originator."""

    id: str
    envelope_id: str
    requester: str
    originator: str
    recipients: tuple[str, ...]
    state: str
    created_ms: int
    note: str | None = None
    reason: str | None = None
    decided_ms: int | None = None
    share_id: str | None = None


def _permission(row: PermissionRow) -> Permission:
    return Permission(
        id=row.id,
        envelope_id=row.envelope_id,
        requester=row.requester,
        originator=row.originator,
        recipients=tuple(json.loads(row.recipients)),
        state=row.state,
        created_ms=row.created_ms,
        note=row.note,
        reason=row.reason,
        decided_ms=row.decided_ms,
        share_id=row.share_id,
    )


class Permissions:
    """Permission requests this node sent (as requester) or received (as originator)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, item: Permission) -> None:
        """Store a new request; an id already here fails with ``CONFLICT``."""
        if await self._session.get(PermissionRow, item.id) is not None:
            raise StorageError(ReasonCode.CONFLICT, f"permission request {item.id} exists")
        self._session.add(
            PermissionRow(
                id=item.id,
                envelope_id=item.envelope_id,
                requester=item.requester,
                originator=item.originator,
                recipients=json.dumps(list(item.recipients)),
                state=item.state,
                note=item.note,
                reason=item.reason,
                created_ms=item.created_ms,
                decided_ms=item.decided_ms,
                share_id=item.share_id,
            )
        )
        await self._session.flush()

    async def granted_to(self, envelope_id: str, agency: str) -> bool:
        """Whether a granted request let ``agency`` receive ``envelope_id`` from a sharer."""
        rows = await self._session.scalars(
            select(PermissionRow).where(
                PermissionRow.envelope_id == envelope_id, PermissionRow.state == "granted"
            )
        )
        return any(agency in json.loads(row.recipients) for row in rows)

    async def get(self, pid: str) -> Permission:
        """One request; ``NOT_FOUND`` if this node has none by that id."""
        row = await self._session.get(PermissionRow, pid)
        if row is None:
            raise StorageError(ReasonCode.NOT_FOUND, f"no permission request {pid}", path="id")
        return _permission(row)

    async def decide(
        self, pid: str, state: str, *, at_ms: int, reason: str | None, share_id: str | None = None
    ) -> None:
        """Record the decision (and the share sent after a grant)."""
        await self._session.execute(
            update(PermissionRow)
            .where(PermissionRow.id == pid)
            .values(state=state, decided_ms=at_ms, reason=reason, share_id=share_id)
        )

    async def all(self) -> list[Permission]:
        """Every request, oldest first."""
        rows = await self._session.scalars(
            select(PermissionRow).order_by(PermissionRow.created_ms, PermissionRow.id)
        )
        return [_permission(r) for r in rows]
