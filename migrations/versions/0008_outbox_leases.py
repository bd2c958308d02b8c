"""Outbox leases: which worker process is pushing a row, and until when.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# SQLite rebuilds the table to drop a column; the copy must keep AUTOINCREMENT.
_AUTOINCREMENT = {"sqlite_autoincrement": True}


def upgrade() -> None:
    # Adding nullable columns is a plain ALTER TABLE on both engines.
    op.add_column("outbox", sa.Column("lease_owner", sa.String(length=64), nullable=True))
    op.add_column("outbox", sa.Column("leased_until_ms", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", table_kwargs=_AUTOINCREMENT) as batch:
        batch.drop_column("leased_until_ms")
        batch.drop_column("lease_owner")
