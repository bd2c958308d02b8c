"""The inbox as units of work read and write it.

Every received notice is in the inbox: the listing is the received notices
left-joined to their shared state (``inbox_items``, absent until the first
change) and to the reader's own read mark (``inbox_reads``, one person's
alone: the join names that person). A change locks the notice's state row
first (``lock_holding`` writes a fresh row if none, then reads it ``FOR
UPDATE`` on PostgreSQL; SQLite has one writer), so two people changing one
notice at once are applied one after the other, each to what the other left.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    case,
    delete,
    false,
    func,
    literal,
    select,
    update,
)

from baliza.node.storage.models import (
    InboxItemRow,
    InboxReadRow,
    NoticeRow,
    UserRow,
    table_of,
)
from baliza.node.storage.sql._dialect import Upsert

_items = table_of(InboxItemRow)
_reads = table_of(InboxReadRow)
_notices = table_of(NoticeRow)
_users = table_of(UserRow)
ALERT_KIND = "notice.alert"


@dataclass(frozen=True, slots=True, kw_only=True)
class InboxRow:
    """One received notice with its shared state and the reader's read mark, as stored."""

    seq: int
    envelope_id: str
    sender: str
    kind: str
    stored_ms: int
    alert_json: str | None  # only an alert's, for its expected arrival
    status: str | None  # None: no change yet (new, normal, unassigned)
    priority: str | None
    assignee_id: str | None
    assignee_login: str | None
    assignee_name: str | None
    assignee_unit: str | None
    read_ms: int | None


_ENTRIES = (
    select(
        _notices.c.seq,
        _notices.c.envelope_id,
        _notices.c.sender,
        _notices.c.kind,
        _notices.c.stored_ms,
        case((_notices.c.kind == ALERT_KIND, _notices.c.notice_json), else_=None),
        _items.c.status,
        _items.c.priority,
        _items.c.assignee_id,
        _users.c.login,
        _users.c.name,
        _users.c.unit,
        _reads.c.read_ms,
    )
    .select_from(_notices)
    .outerjoin(_items, _items.c.notice_seq == _notices.c.seq)
    .outerjoin(_users, _users.c.id == _items.c.assignee_id)
    .outerjoin(
        _reads,
        and_(_reads.c.notice_seq == _notices.c.seq, _reads.c.user_id == bindparam("reader")),
    )
    .where(_notices.c.direction == "in")
    .order_by(_notices.c.seq.desc())
    .limit(bindparam("limit"))
)
_UNREAD_OPEN = (
    select(func.count())
    .select_from(_notices)
    .outerjoin(_items, _items.c.notice_seq == _notices.c.seq)
    .outerjoin(
        _reads,
        and_(_reads.c.notice_seq == _notices.c.seq, _reads.c.user_id == bindparam("reader")),
    )
    .where(
        _notices.c.direction == "in",
        _reads.c.read_ms.is_(None),
        func.coalesce(_items.c.status, literal("new")) != "done",
    )
)
_FRESH = Upsert(
    _items,
    lambda insert: insert.values(
        notice_seq=bindparam("seq"),
        status="new",
        priority="normal",
        assignee_id=None,
        changed_ms=bindparam("now_ms"),
    ).on_conflict_do_nothing(index_elements=["notice_seq"]),
)
_HOLDING = (
    select(_items.c.status, _items.c.priority, _items.c.assignee_id)
    .where(_items.c.notice_seq == bindparam("seq"))
    .with_for_update()
)
_SET_HOLDING = (
    update(_items)
    .where(_items.c.notice_seq == bindparam("seq"))
    .values(
        status=bindparam("status"),
        priority=bindparam("priority"),
        assignee_id=bindparam("assignee_id"),
        changed_ms=bindparam("now_ms"),
    )
)
_MARK_READ = Upsert(
    _reads,
    lambda insert: insert.values(
        user_id=bindparam("reader"), notice_seq=bindparam("seq"), read_ms=bindparam("now_ms")
    ).on_conflict_do_nothing(index_elements=["user_id", "notice_seq"]),
)
_READ_MARK = select(_reads.c.read_ms).where(
    _reads.c.user_id == bindparam("reader"), _reads.c.notice_seq == bindparam("seq")
)
_MARK_UNREAD = delete(_reads).where(
    _reads.c.user_id == bindparam("reader"), _reads.c.notice_seq == bindparam("seq")
)


def entries(connection: Connection, reader: str, limit: int) -> list[InboxRow]:
    """The newest ``limit`` received notices, with their state and ``reader``'s read mark."""
    return [
        InboxRow(
            seq=row[0],
            envelope_id=row[1],
            sender=row[2],
            kind=row[3],
            stored_ms=row[4],
            alert_json=row[5],
            status=row[6],
            priority=row[7],
            assignee_id=row[8],
            assignee_login=row[9],
            assignee_name=row[10],
            assignee_unit=row[11],
            read_ms=row[12],
        )
        for row in connection.execute(_ENTRIES, {"reader": reader, "limit": limit})
    ]


def unread_open(connection: Connection, reader: str) -> int:
    """How many received notices not done ``reader`` has not seen."""
    return int(connection.execute(_UNREAD_OPEN, {"reader": reader}).scalar_one())


def lock_holding(connection: Connection, seq: int, now_ms: int) -> tuple[str, str, str | None]:
    """The (status, priority, assignee id) of notice ``seq``, its row written and locked."""
    connection.execute(_FRESH.on(connection), {"seq": seq, "now_ms": now_ms})
    status, priority, assignee = connection.execute(_HOLDING, {"seq": seq}).one()
    return status, priority, assignee


def set_holding(
    connection: Connection,
    seq: int,
    *,
    status: str,
    priority: str,
    assignee_id: str | None,
    now_ms: int,
) -> None:
    """Store notice ``seq``'s new state (its row locked by ``lock_holding``)."""
    connection.execute(
        _SET_HOLDING,
        {
            "seq": seq,
            "status": status,
            "priority": priority,
            "assignee_id": assignee_id,
            "now_ms": now_ms,
        },
    )


def mark_read(connection: Connection, reader: str, seqs: Sequence[int], now_ms: int) -> None:
    """Note that ``reader`` has seen these notices (a mark already there is kept)."""
    if seqs:
        connection.execute(
            _MARK_READ.on(connection),
            [{"reader": reader, "seq": seq, "now_ms": now_ms} for seq in seqs],
        )


def read_mark(connection: Connection, reader: str, seq: int) -> int | None:
    """When ``reader`` saw notice ``seq``, or None."""
    found: int | None = connection.execute(
        _READ_MARK, {"reader": reader, "seq": seq}
    ).scalar_one_or_none()
    return found


def mark_unread(connection: Connection, reader: str, seq: int) -> None:
    """Take ``reader``'s read mark off notice ``seq``."""
    connection.execute(_MARK_UNREAD, {"reader": reader, "seq": seq})


_COLLEAGUES = (
    select(_users.c.id, _users.c.login, _users.c.name, _users.c.unit)
    .where(_users.c.disabled == false())
    .order_by(_users.c.unit, _users.c.name)
)


def colleagues(connection: Connection) -> list[tuple[str, str, str, str | None]]:
    """Every enabled account: (id, login, name, unit), by unit then name."""
    return [(r[0], r[1], r[2], r[3]) for r in connection.execute(_COLLEAGUES)]
