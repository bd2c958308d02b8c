"""The audit log keeps leaf hashes beside the leaves and only subtrees of 16 leaves or more.

Appending wrote a leaf row, its hash again as a level-0 node row, and about
one more node row per leaf. Now the leaf hash is a column of the leaf row
and only subtrees of 16 leaves or more are node rows (about one per eight
leaves); a proof folds the smaller subtrees from at most two blocks of 16
leaf hashes. The hashes already kept at level 0 fill the new column, then
the node rows below level 4 go. The downgrade folds them back.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from baliza.protocol import merkle

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
_leaves = sa.table("audit_leaves", sa.column("idx", sa.BigInteger()), sa.column("hash"))


def upgrade() -> None:
    op.add_column("audit_leaves", sa.Column("hash", sa.LargeBinary(length=32), nullable=True))
    level0 = (
        sa.select(_nodes.c.hash)
        .where(_nodes.c.level == 0, _nodes.c.idx == _leaves.c.idx)
        .scalar_subquery()
    )
    op.execute(sa.update(_leaves).values(hash=level0))
    with op.batch_alter_table("audit_leaves") as batch:
        batch.alter_column("hash", existing_type=sa.LargeBinary(length=32), nullable=False)
    op.execute(sa.delete(_nodes).where(_nodes.c.level < KEPT_FROM))


def downgrade() -> None:
    # The earlier version reads every level: fold the small subtrees back
    # from the leaf hashes, a block of 2**KEPT_FROM leaves at a time.
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_leaves.c.idx, _leaves.c.hash).order_by(_leaves.c.idx)
    ).all()
    block: list[bytes] = []
    start = 0
    for idx, leaf in rows:
        if not block:
            start = int(idx)
        block.append(bytes(leaf))
        if len(block) == 1 << KEPT_FROM:
            _insert_small(start, block)
            block = []
    if block:
        _insert_small(start, block)
    with op.batch_alter_table("audit_leaves") as batch:
        batch.drop_column("hash")


def _insert_small(start: int, leaves: list[bytes]) -> None:
    # A block appended to an empty tree gives its subtrees, shifted to ``start``.
    _, _, completed = merkle.append(0, [], leaves)
    op.bulk_insert(
        _nodes,
        [
            {"level": t.level, "idx": (start >> t.level) + t.index, "hash": h}
            for t, h in completed
            if t.level < KEPT_FROM
        ],
    )
