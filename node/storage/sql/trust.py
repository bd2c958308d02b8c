"""Local trust decisions as units of work read them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select

from baliza.node.storage.models import LocalBlockRow, TrustEventRow, table_of
from baliza.node.storage.trust import BlockKind

_blocks = table_of(LocalBlockRow)
_events = table_of(TrustEventRow)
_RECORD = insert(_events).returning(_events.c.seq)
_BLOCK_OF = select(_blocks.c.kind).where(_blocks.c.agency == bindparam("agency"))


def is_blocked(connection: Connection, agency: str) -> bool:
    """Whether envelopes from ``agency`` are refused here (a pause does not refuse)."""
    kind = connection.execute(_BLOCK_OF, {"agency": agency}).scalar()
    return kind == BlockKind.BLOCK.value


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
    return int(seq)
