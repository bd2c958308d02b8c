"""Attachment content counts per notice: what was fetched, for which envelope, from whom.

Attachment files stay stored once per content; this table records, per
received notice, the content fetched from that notice's sender and checked
against it (docs/spec/10-attachments.md §4). Holding the file for another
notice no longer counts.

Nothing is filled in for notices received before: whether their files came
from their own sender cannot be told any more, so each is fetched again from
its sender the first time someone opens it (or shares the notice).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attachment_fetches",
        sa.Column("sender", sa.String(length=100), nullable=False),
        sa.Column("envelope_id", sa.String(length=36), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("fetched_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "sender", "envelope_id", "sha256", name=op.f("pk_attachment_fetches")
        ),
    )


def downgrade() -> None:
    op.drop_table("attachment_fetches")
