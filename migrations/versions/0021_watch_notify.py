"""Watch-lists, notifications, people's e-mail settings and the outbound mail queue.

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "watch_entries",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("what", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watch_entries")),
    )
    op.create_index(op.f("ix_watch_entries_owner"), "watch_entries", ["owner"], unique=False)
    op.create_table(
        "notifications",
        sa.Column("seq", _SEQ, nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=36), nullable=False),
        sa.Column("watch_id", sa.String(length=16), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("location", sa.String(length=16), nullable=True),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("read_ms", sa.BigInteger(), nullable=True),
        sa.Column("mail", sa.String(length=8), nullable=False),
        sa.CheckConstraint(
            "cause IN ('watch', 'hit', 'overdue', 'permission')",
            name=op.f("ck_notifications_cause"),
        ),
        sa.CheckConstraint(
            "mail IN ('none', 'pending', 'queued')", name=op.f("ck_notifications_mail")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_notifications")),
        sa.UniqueConstraint(
            "owner", "cause", "subject", name=op.f("uq_notifications_owner_cause_subject")
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_notifications_owner_seq"), "notifications", ["owner", "seq"], unique=False
    )
    op.create_index(
        op.f("ix_notifications_mail_owner"), "notifications", ["mail", "owner"], unique=False
    )
    op.create_table(
        "notify_prefs",
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("digest_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_digest_ms", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "mode IN ('off', 'immediate', 'digest')", name=op.f("ck_notify_prefs_mode")
        ),
        sa.PrimaryKeyConstraint("owner", name=op.f("pk_notify_prefs")),
    )
    op.create_table(
        "mail_queue",
        sa.Column("seq", _SEQ, nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("to_addr", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("due_ms", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_ms", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_mail_queue")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_mail_queue_sent_ms_due_ms"), "mail_queue", ["sent_ms", "due_ms"], unique=False
    )
    op.create_table(
        "notify_cursor",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("alerts_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_cursor")),
    )


def downgrade() -> None:
    op.drop_table("notify_cursor")
    op.drop_index(op.f("ix_mail_queue_sent_ms_due_ms"), table_name="mail_queue")
    op.drop_table("mail_queue")
    op.drop_table("notify_prefs")
    op.drop_index(op.f("ix_notifications_mail_owner"), table_name="notifications")
    op.drop_index(op.f("ix_notifications_owner_seq"), table_name="notifications")
    op.drop_table("notifications")
    op.drop_index(op.f("ix_watch_entries_owner"), table_name="watch_entries")
    op.drop_table("watch_entries")
