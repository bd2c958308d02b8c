"""``audit_peer_heads``: the signed tree heads each peer gave this node (spec chapter 11, §6).

A peer's new head must extend the newest one accepted from it; one that
does not (same size, another root; a failing consistency proof; a smaller
head signed later) is kept beside it as evidence of equivocation or
rollback.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_peer_heads",
        sa.Column("peer", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("seen_ms", sa.BigInteger(), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("signed", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("peer", "size", "root", name=op.f("pk_audit_peer_heads")),
    )


def downgrade() -> None:
    op.drop_table("audit_peer_heads")
