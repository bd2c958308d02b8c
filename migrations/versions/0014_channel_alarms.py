"""``channel_alarms``: channels whose sends are paused until an administrator decides.

A node offered a chain with another founding under a channel id it holds, or
a fork of the chain it holds, cannot tell which history is genuine; it stops
sealing to that channel until its administrator keeps the held chain or
replaces it (spec chapter 06, "Alarms").

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_alarms",
        sa.Column("channel", sa.String(63), nullable=False),
        sa.Column("opened_ms", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_channel_alarms")),
    )


def downgrade() -> None:
    op.drop_table("channel_alarms")
