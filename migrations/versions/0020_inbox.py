"""The inbox: who holds each received notice, how far it is, how urgent; who has seen it.

``inbox_items`` keeps the agency's shared state of a received notice (a
notice without a row is new, unassigned, normal); ``inbox_reads`` keeps each
person's own read mark. People's inbox changes are recorded in
``person_actions``, which gains the actions and a ``detail`` (the value set).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ACTIONS = "action IN ('read', 'published', 'assigned', 'released', 'status', 'priority')"
_ACTIONS_BEFORE = "action IN ('read', 'published')"


def upgrade() -> None:
    op.create_table(
        "inbox_items",
        sa.Column("notice_seq", _SEQ, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("assignee_id", sa.String(length=16), nullable=True),
        sa.Column("changed_ms", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "status IN ('new', 'in_progress', 'done')", name=op.f("ck_inbox_items_status")
        ),
        sa.CheckConstraint(
            "priority IN ('low', 'normal', 'high', 'urgent')",
            name=op.f("ck_inbox_items_priority"),
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["users.id"], name=op.f("fk_inbox_items_assignee_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["notice_seq"],
            ["notices.seq"],
            name=op.f("fk_inbox_items_notice_seq_notices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("notice_seq", name=op.f("pk_inbox_items")),
    )
    op.create_index(
        op.f("ix_inbox_items_assignee_id"), "inbox_items", ["assignee_id"], unique=False
    )
    op.create_table(
        "inbox_reads",
        sa.Column("user_id", sa.String(length=16), nullable=False),
        sa.Column("notice_seq", _SEQ, nullable=False),
        sa.Column("read_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_seq"],
            ["notices.seq"],
            name=op.f("fk_inbox_reads_notice_seq_notices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_inbox_reads_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "notice_seq", name=op.f("pk_inbox_reads")),
    )
    with op.batch_alter_table("person_actions") as batch:
        batch.add_column(sa.Column("detail", sa.String(length=100), nullable=True))
        batch.drop_constraint(batch.f("ck_person_actions_action"), type_="check")
        batch.create_check_constraint(batch.f("ck_person_actions_action"), _ACTIONS)


def downgrade() -> None:
    # Inbox changes cannot be kept in the older table: they go with it.
    op.execute(sa.text("DELETE FROM person_actions WHERE action NOT IN ('read', 'published')"))
    with op.batch_alter_table("person_actions") as batch:
        batch.drop_constraint(batch.f("ck_person_actions_action"), type_="check")
        batch.create_check_constraint(batch.f("ck_person_actions_action"), _ACTIONS_BEFORE)
        batch.drop_column("detail")
    op.drop_table("inbox_reads")
    op.drop_index(op.f("ix_inbox_items_assignee_id"), table_name="inbox_items")
    op.drop_table("inbox_items")
