"""Partner subscriptions, share permissions, and the full handling block of notices.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

Existing notices get a handling block holding their TLP only (the codes and
restrictions were not kept before this revision; the envelopes still carry
them, and re-indexing from the envelopes would restore them).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AUTOINCREMENT = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table("notices", table_kwargs=_AUTOINCREMENT) as batch:
        batch.add_column(
            sa.Column("handling_json", sa.Text(), server_default='{"tlp": "amber"}', nullable=False)
        )
        batch.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("shares", sa.String(length=36), nullable=True))
        batch.create_index(batch.f("ix_notices_content_hash"), ["content_hash"], unique=False)
    op.execute(sa.text("UPDATE notices SET handling_json = '{\"tlp\": \"' || tlp || '\"}'"))
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("publisher", sa.String(length=100), nullable=False),
        sa.Column("subscriber", sa.String(length=100), nullable=False),
        sa.Column("filter_json", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("paused_by", sa.String(length=100), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "state IN ('requested', 'pending', 'admitted', 'refused', 'paused', 'cancelled')",
            name=op.f("ck_subscriptions_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
    )
    op.create_index(
        op.f("ix_subscriptions_publisher_state"),
        "subscriptions",
        ["publisher", "state"],
        unique=False,
    )
    op.create_index(
        op.f("ix_subscriptions_subscriber"), "subscriptions", ["subscriber"], unique=False
    )
    op.create_table(
        "permission_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("envelope_id", sa.String(length=36), nullable=False),
        sa.Column("requester", sa.String(length=100), nullable=False),
        sa.Column("originator", sa.String(length=100), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("decided_ms", sa.BigInteger(), nullable=True),
        sa.Column("share_id", sa.String(length=36), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'granted', 'refused')",
            name=op.f("ck_permission_requests_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permission_requests")),
    )
    op.create_index(
        op.f("ix_permission_requests_envelope_id"),
        "permission_requests",
        ["envelope_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_permission_requests_envelope_id"), table_name="permission_requests")
    op.drop_table("permission_requests")
    op.drop_index(op.f("ix_subscriptions_subscriber"), table_name="subscriptions")
    op.drop_index(op.f("ix_subscriptions_publisher_state"), table_name="subscriptions")
    op.drop_table("subscriptions")
    with op.batch_alter_table("notices", table_kwargs=_AUTOINCREMENT) as batch:
        batch.drop_index(batch.f("ix_notices_content_hash"))
        batch.drop_column("shares")
        batch.drop_column("content_hash")
        batch.drop_column("handling_json")
