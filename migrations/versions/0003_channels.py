"""Channels: membership versions as signed, their members, and join requests.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_versions",
        sa.Column("channel", sa.String(length=63), nullable=False),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("applied_ms", sa.BigInteger(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("kind IN ('programme', 'jit')", name=op.f("ck_channel_versions_kind")),
        sa.PrimaryKeyConstraint("channel", "version", name=op.f("pk_channel_versions")),
    )
    op.create_table(
        "channel_members",
        sa.Column("channel", sa.String(length=63), nullable=False),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("agency", sa.String(length=100), nullable=False),
        sa.Column("owner", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "version", "agency", name=op.f("pk_channel_members")),
    )
    op.create_index(op.f("ix_channel_members_agency"), "channel_members", ["agency"], unique=False)
    op.create_table(
        "channel_joins",
        sa.Column("channel", sa.String(length=63), nullable=False),
        sa.Column("agency", sa.String(length=100), nullable=False),
        sa.Column("requested_ms", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("decided_ms", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'approved', 'refused')", name=op.f("ck_channel_joins_state")
        ),
        sa.PrimaryKeyConstraint("channel", "agency", name=op.f("pk_channel_joins")),
    )


def downgrade() -> None:
    op.drop_table("channel_joins")
    op.drop_index(op.f("ix_channel_members_agency"), table_name="channel_members")
    op.drop_table("channel_members")
    op.drop_table("channel_versions")
