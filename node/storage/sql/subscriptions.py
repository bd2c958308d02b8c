"""Partner subscriptions as units of work read and write them.

A subscription is kept on the two nodes concerned under the same id; a row
changes state only through the services, which check who may make which change.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, insert, or_, select, update

from baliza.node.storage.models import SubscriptionRow, table_of
from baliza.node.storage.subscriptions import Subscription
from baliza.protocol.errors import ReasonCode, StorageError

_subscriptions = table_of(SubscriptionRow)
_COLUMNS = (
    _subscriptions.c.id,
    _subscriptions.c.publisher,
    _subscriptions.c.subscriber,
    _subscriptions.c.filter_json,
    _subscriptions.c.state,
    _subscriptions.c.created_ms,
    _subscriptions.c.updated_ms,
    _subscriptions.c.paused_by,
    _subscriptions.c.note,
    _subscriptions.c.reason,
)
_ADMITTED = (
    select(_subscriptions.c.subscriber, _subscriptions.c.filter_json)
    .where(
        _subscriptions.c.publisher == bindparam("publisher"),
        _subscriptions.c.state == "admitted",
    )
    .order_by(_subscriptions.c.subscriber)
)
_GET = select(*_COLUMNS).where(_subscriptions.c.id == bindparam("sid"))
# SQLite renders no FOR UPDATE: its write units hold the one write lock already.
_GET_LOCKED = _GET.with_for_update()
_INVOLVING = (
    select(*_COLUMNS)
    .where(
        or_(
            _subscriptions.c.publisher == bindparam("agency"),
            _subscriptions.c.subscriber == bindparam("agency"),
        )
    )
    .order_by(_subscriptions.c.created_ms, _subscriptions.c.id)
)
_ADD = insert(_subscriptions)
_SET_STATE = (
    update(_subscriptions)
    .where(_subscriptions.c.id == bindparam("sid"))
    .values(
        state=bindparam("new_state"),
        updated_ms=bindparam("at_ms"),
        reason=bindparam("why"),
        paused_by=bindparam("by"),
    )
)


def admitted_filters(connection: Connection, publisher: str) -> list[tuple[str, str]]:
    """(subscriber, filter JSON) of every admitted subscription to ``publisher``'s notices."""
    return [(s, f) for s, f in connection.execute(_ADMITTED, {"publisher": publisher})]


def add(connection: Connection, item: Subscription) -> None:
    """Store a new subscription; an id already here fails with ``CONFLICT``."""
    if connection.execute(_GET, {"sid": item.id}).first() is not None:
        raise StorageError(ReasonCode.CONFLICT, f"subscription {item.id} exists", path="id")
    connection.execute(
        _ADD,
        {
            "id": item.id,
            "publisher": item.publisher,
            "subscriber": item.subscriber,
            "filter_json": item.filter_json,
            "state": item.state,
            "paused_by": item.paused_by,
            "note": item.note,
            "reason": item.reason,
            "created_ms": item.created_ms,
            "updated_ms": item.updated_ms,
        },
    )


def get(connection: Connection, sid: str, *, lock: bool = False) -> Subscription:
    """One subscription; ``NOT_FOUND`` if this node has none by that id.

    ``lock`` holds the row until the unit ends (PostgreSQL), so a change
    checked against the state read (``check_change``) is checked against
    the state a change committed at the same moment left: an approval and
    the other side's cancel cannot both pass on "pending".
    """
    row = connection.execute(_GET_LOCKED if lock else _GET, {"sid": sid}).first()
    if row is None:
        raise StorageError(ReasonCode.NOT_FOUND, f"no subscription {sid}", path="id")
    return Subscription(**row._mapping)


def set_state(
    connection: Connection,
    sid: str,
    state: str,
    *,
    at_ms: int,
    reason: str | None,
    paused_by: str | None,
) -> None:
    """Record a new state (and who paused, when pausing)."""
    connection.execute(
        _SET_STATE,
        {"sid": sid, "new_state": state, "at_ms": at_ms, "why": reason, "by": paused_by},
    )


def involving(connection: Connection, agency: str) -> list[Subscription]:
    """Every subscription where ``agency`` is publisher or subscriber, oldest first."""
    return [
        Subscription(**row._mapping) for row in connection.execute(_INVOLVING, {"agency": agency})
    ]
