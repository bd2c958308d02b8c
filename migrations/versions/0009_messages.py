"""Federation messages (subscriptions, permissions) queued until their peer has them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQUENCE_NUMBER = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "fed_messages",
        sa.Column("seq", SEQUENCE_NUMBER, autoincrement=True, nullable=False),
        sa.Column("destination", sa.String(length=100), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_ms", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("done_ms", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'sent', 'refused')", name=op.f("ck_fed_messages_state")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_fed_messages")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_fed_messages_destination_state_seq"),
        "fed_messages",
        ["destination", "state", "seq"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_fed_messages_destination_state_seq"), table_name="fed_messages")
    op.drop_table("fed_messages")
