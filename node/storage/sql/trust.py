"""Local trust decisions as units of work read them."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, select

from baliza.node.storage.models import LocalBlockRow, table_of
from baliza.node.storage.trust import BlockKind

_blocks = table_of(LocalBlockRow)
_BLOCK_OF = select(_blocks.c.kind).where(_blocks.c.agency == bindparam("agency"))


def is_blocked(connection: Connection, agency: str) -> bool:
    """Whether envelopes from ``agency`` are refused here (a pause does not refuse)."""
    kind = connection.execute(_BLOCK_OF, {"agency": agency}).scalar()
    return kind == BlockKind.BLOCK.value
