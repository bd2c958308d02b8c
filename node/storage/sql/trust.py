"""Local trust records as units of work read and write them: the trust-event log and
local blocks.

Trust events are append-only; a local block narrows trust below the
directory and never widens it (see storage/trust.py for the types).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select

from baliza.node.storage import audit
from baliza.node.storage.models import LocalBlockRow, TrustEventRow, table_of
from baliza.node.storage.sql import audit as audit_rows
from baliza.node.storage.sql._dialect import Upsert
from baliza.node.storage.trust import MAX_PAGE, BlockKind, LocalBlock, TrustEvent

_events = table_of(TrustEventRow)
_blocks = table_of(LocalBlockRow)

_RECORD = insert(_events).returning(_events.c.seq)
_EVENTS_AFTER = (
    select(
        _events.c.seq,
        _events.c.at_ms,
        _events.c.actor,
        _events.c.action,
        _events.c.subject,
        _events.c.detail,
    )
    .where(_events.c.seq > bindparam("after_seq"))
    .order_by(_events.c.seq)
    .limit(bindparam("limit"))
)
# The newest events of one action (an alarm's history), newest first.
_EVENTS_OF = (
    select(
        _events.c.seq,
        _events.c.at_ms,
        _events.c.actor,
        _events.c.action,
        _events.c.subject,
        _events.c.detail,
    )
    .where(_events.c.action == bindparam("action"))
    .order_by(_events.c.seq.desc())
    .limit(bindparam("limit"))
)

_BLOCK_COLUMNS = (
    _blocks.c.agency,
    _blocks.c.kind,
    _blocks.c.reason,
    _blocks.c.at_ms,
    _blocks.c.actor,
)
_SET_BLOCK = Upsert(
    _blocks,
    lambda s: s.on_conflict_do_update(
        index_elements=["agency"],
        set_={name: s.excluded[name] for name in ("kind", "reason", "at_ms", "actor")},
    ),
)
_REMOVE_BLOCK = delete(_blocks).where(_blocks.c.agency == bindparam("agency"))
_BLOCK = select(*_BLOCK_COLUMNS).where(_blocks.c.agency == bindparam("agency"))
_ALL_BLOCKS = select(*_BLOCK_COLUMNS).order_by(_blocks.c.agency)
_BLOCK_OF = select(_blocks.c.kind).where(_blocks.c.agency == bindparam("agency"))


def record_event(
    connection: Connection,
    *,
    at_ms: int,
    actor: str,
    action: str,
    subject: str,
    detail: Mapping[str, Any] | None = None,
) -> int:
    """Append a trust event and return its ``seq``.

    ``detail`` must be JSON-serialisable; it is stored with sorted keys so
    equal details are equal bytes.
    """
    seq = connection.execute(
        _RECORD,
        {
            "at_ms": at_ms,
            "actor": actor,
            "action": action,
            "subject": subject,
            "detail": json.dumps(dict(detail or {}), sort_keys=True, separators=(",", ":")),
        },
    ).scalar_one()
    # Every trust change is an entry of the audit log, in the same unit.
    audit_rows.append(
        connection,
        [
            audit.trust(
                seq=int(seq),
                at_ms=at_ms,
                actor=actor,
                action=action,
                subject=subject,
                detail=dict(detail or {}),
            )
        ],
    )
    return int(seq)


def events_after(
    connection: Connection, *, after_seq: int = 0, limit: int = 100
) -> list[TrustEvent]:
    """Events with ``seq > after_seq``, oldest first, at most ``limit`` (capped at ``MAX_PAGE``)."""
    rows = connection.execute(
        _EVENTS_AFTER, {"after_seq": after_seq, "limit": max(1, min(limit, MAX_PAGE))}
    )
    return _event_list(rows)


def events_of(connection: Connection, *, action: str, limit: int = 100) -> list[TrustEvent]:
    """The newest events of ``action``, newest first, at most ``limit`` (capped at ``MAX_PAGE``)."""
    rows = connection.execute(_EVENTS_OF, {"action": action, "limit": max(1, min(limit, MAX_PAGE))})
    return _event_list(rows)


def _event_list(rows: Any) -> list[TrustEvent]:
    return [
        TrustEvent(
            seq=seq,
            at_ms=at_ms,
            actor=actor,
            action=action,
            subject=subject,
            detail=json.loads(detail),
        )
        for seq, at_ms, actor, action, subject, detail in rows
    ]


def set_block(connection: Connection, block: LocalBlock) -> None:
    """Block or pause an agency, replacing any earlier decision about it."""
    connection.execute(
        _SET_BLOCK.on(connection),
        {
            "agency": block.agency,
            "kind": BlockKind(block.kind).value,
            "reason": block.reason,
            "at_ms": block.at_ms,
            "actor": block.actor,
        },
    )


def remove_block(connection: Connection, agency: str) -> bool:
    """Lift the decision about ``agency``; False if there was none."""
    return bool(connection.execute(_REMOVE_BLOCK, {"agency": agency}).rowcount)


def block_of(connection: Connection, agency: str) -> LocalBlock | None:
    """The decision about ``agency``, or None when it is neither blocked nor paused."""
    row = connection.execute(_BLOCK, {"agency": agency}).one_or_none()
    return None if row is None else _block(row)


def all_blocks(connection: Connection) -> list[LocalBlock]:
    """Every local decision, sorted by agency."""
    return [_block(row) for row in connection.execute(_ALL_BLOCKS)]


def is_blocked(connection: Connection, agency: str) -> bool:
    """Whether envelopes from ``agency`` are refused here (a pause does not refuse)."""
    kind = connection.execute(_BLOCK_OF, {"agency": agency}).scalar()
    return kind == BlockKind.BLOCK.value


def _block(row: Sequence[Any]) -> LocalBlock:
    agency, kind, reason, at_ms, actor = row
    return LocalBlock(agency=agency, kind=BlockKind(kind), reason=reason, at_ms=at_ms, actor=actor)
