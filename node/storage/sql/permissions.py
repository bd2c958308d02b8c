"""Share permission requests as units of work read and write them.

A request is kept by the requester and by the originator under the same id;
its ``recipients`` are stored as a JSON list.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from baliza.node.storage.models import PermissionRow, table_of
from baliza.node.storage.subscriptions import Permission
from baliza.protocol.errors import ReasonCode, StorageError

_permissions = table_of(PermissionRow)
_COLUMNS = (
    _permissions.c.id,
    _permissions.c.envelope_id,
    _permissions.c.requester,
    _permissions.c.originator,
    _permissions.c.recipients,
    _permissions.c.state,
    _permissions.c.created_ms,
    _permissions.c.note,
    _permissions.c.reason,
    _permissions.c.decided_ms,
    _permissions.c.share_id,
)
_GET = select(*_COLUMNS).where(_permissions.c.id == bindparam("pid"))
# SQLite renders no FOR UPDATE: its write units hold the one write lock already.
_GET_LOCKED = _GET.with_for_update()
_ALL = select(*_COLUMNS).order_by(_permissions.c.created_ms, _permissions.c.id)
_GRANTED_RECIPIENTS = select(_permissions.c.recipients).where(
    _permissions.c.envelope_id == bindparam("envelope_id"), _permissions.c.state == "granted"
)
_WAITING = (
    select(func.count())
    .select_from(_permissions)
    .where(_permissions.c.originator == bindparam("me"), _permissions.c.state == "pending")
)
_ADD = insert(_permissions)
_DECIDE = (
    update(_permissions)
    .where(_permissions.c.id == bindparam("pid"))
    .values(
        state=bindparam("new_state"),
        decided_ms=bindparam("at_ms"),
        reason=bindparam("why"),
        share_id=bindparam("share"),
    )
)


def _permission(row: Any) -> Permission:
    values = dict(row._mapping)
    values["recipients"] = tuple(json.loads(values["recipients"]))
    return Permission(**values)


def add(connection: Connection, item: Permission) -> None:
    """Store a new request; an id already here fails with ``CONFLICT``."""
    if connection.execute(_GET, {"pid": item.id}).first() is not None:
        raise StorageError(ReasonCode.CONFLICT, f"permission request {item.id} exists")
    connection.execute(
        _ADD,
        {
            "id": item.id,
            "envelope_id": item.envelope_id,
            "requester": item.requester,
            "originator": item.originator,
            "recipients": json.dumps(list(item.recipients)),
            "state": item.state,
            "note": item.note,
            "reason": item.reason,
            "created_ms": item.created_ms,
            "decided_ms": item.decided_ms,
            "share_id": item.share_id,
        },
    )


def get(connection: Connection, pid: str, *, lock: bool = False) -> Permission:
    """One request; ``NOT_FOUND`` if this node has none by that id.

    ``lock`` holds the row until the unit ends (PostgreSQL), so a decision
    checked against "pending" is checked against what a decision committed
    at the same moment left: two officers cannot both decide.
    """
    row = connection.execute(_GET_LOCKED if lock else _GET, {"pid": pid}).first()
    if row is None:
        raise StorageError(ReasonCode.NOT_FOUND, f"no permission request {pid}", path="id")
    return _permission(row)


def granted_to(connection: Connection, envelope_id: str, agency: str) -> bool:
    """Whether a granted request let ``agency`` receive ``envelope_id`` from a sharer."""
    return any(
        agency in json.loads(recipients)
        for recipients in connection.execute(
            _GRANTED_RECIPIENTS, {"envelope_id": envelope_id}
        ).scalars()
    )


def decide(
    connection: Connection,
    pid: str,
    state: str,
    *,
    at_ms: int,
    reason: str | None,
    share_id: str | None = None,
) -> None:
    """Record the decision (and the share sent after a grant)."""
    connection.execute(
        _DECIDE,
        {"pid": pid, "new_state": state, "at_ms": at_ms, "why": reason, "share": share_id},
    )


def every(connection: Connection) -> list[Permission]:
    """Every request, oldest first."""
    return [_permission(row) for row in connection.execute(_ALL)]


def waiting_on(connection: Connection, me: str) -> int:
    """How many requests to pass on ``me``'s notices wait for ``me``'s decision."""
    return int(connection.execute(_WAITING, {"me": me}).scalar() or 0)
