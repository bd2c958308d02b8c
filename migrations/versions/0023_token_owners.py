"""API tokens get an owner: the person a token acts for, or none for a named service.

A token owned by a person stops working when that person is disabled, and
what it does is recorded as theirs. Existing tokens become service tokens
(no owner): nothing about them changes.

On SQLite the column is added in place (``ADD COLUMN … REFERENCES``), not by
rebuilding the table: with foreign keys enforced, dropping the old
``api_tokens`` would cascade to the console sessions its tokens hold. The
downgrade must rebuild it (SQLite cannot drop a column a foreign key
uses), so going back to 0022 ends the console sessions opened with a token.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column(
        "api_tokens",
        sa.Column(
            "owner_id",
            sa.String(length=16),
            sa.ForeignKey("users.id", name=op.f("fk_api_tokens_owner_id_users")),
            nullable=True,
        ),
        inline_references=sqlite,
    )
    op.create_index(op.f("ix_api_tokens_owner_id"), "api_tokens", ["owner_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_api_tokens_owner_id"), table_name="api_tokens")
    with op.batch_alter_table("api_tokens") as batch:
        if op.get_bind().dialect.name != "sqlite":
            batch.drop_constraint(batch.f("fk_api_tokens_owner_id_users"), type_="foreignkey")
        batch.drop_column("owner_id")
