"""The audit log keeps only subtrees of 16 leaves or more (spec chapter 11).

Smaller subtrees, and the leaf hashes at level 0, are recomputed from
``audit_leaves`` when a proof needs them: appending writes one node row
per eight leaves instead of two per leaf. The rows an earlier version kept
below level 4 are removed; nothing else changes.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from baliza.protocol import merkle
from baliza.protocol.audit import AuditEntry, EntryKind
from baliza.protocol.ids import AgencyId

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEPT_FROM = 4  # as node/storage/sql/audit.py, fixed here as it was when written

_nodes = sa.table(
    "audit_nodes",
    sa.column("level", sa.Integer()),
    sa.column("idx", sa.BigInteger()),
    sa.column("hash", sa.LargeBinary()),
)
_leaves = sa.table(
    "audit_leaves",
    sa.column("idx", sa.BigInteger()),
    sa.column("kind", sa.String()),
    sa.column("at_ms", sa.BigInteger()),
    sa.column("subject", sa.String()),
    sa.column("peer", sa.String()),
    sa.column("digest", sa.LargeBinary()),
)


def upgrade() -> None:
    op.execute(sa.delete(_nodes).where(_nodes.c.level < KEPT_FROM))


def downgrade() -> None:
    # The earlier version reads every level: recompute the small subtrees
    # from the leaves, a block of 2**KEPT_FROM leaves at a time.
    connection = op.get_bind()
    block: list[bytes] = []
    start = 0
    rows = connection.execute(
        sa.select(
            _leaves.c.idx,
            _leaves.c.kind,
            _leaves.c.at_ms,
            _leaves.c.subject,
            _leaves.c.peer,
            _leaves.c.digest,
        ).order_by(_leaves.c.idx)
    )
    for idx, kind, at_ms, subject, peer, digest in rows:
        entry = AuditEntry(
            kind=EntryKind(kind),
            at_ms=int(at_ms),
            subject=subject,
            peer=None if peer is None else AgencyId(peer),
            digest=bytes(digest),
        )
        if not block:
            start = int(idx)
        block.append(merkle.leaf_hash(entry.to_bytes()))
        if len(block) == 1 << KEPT_FROM:
            _insert_small(connection, start, block)
            block = []
    if block:
        _insert_small(connection, start, block)


def _insert_small(connection: sa.Connection, start: int, leaves: list[bytes]) -> None:
    # Appending the block to an empty tree gives its subtrees, offset to ``start``.
    _, _, completed = merkle.append(0, [], leaves)
    op.bulk_insert(
        _nodes,
        [
            {"level": t.level, "idx": (start >> t.level) + t.index, "hash": h}
            for t, h in completed
            if t.level < KEPT_FROM
        ],
    )
