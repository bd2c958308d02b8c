"""People's accounts: users with a password and a second factor, recovery codes, who did what.

A console session is now held either by a user (a person signed in with a
password and a code) or, as before, by an API token: ``token_id`` becomes
optional and exactly one of the two is set.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("unit", sa.String(length=100), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password", sa.String(length=200), nullable=False),
        sa.Column("totp_secret", sa.String(length=64), nullable=False),
        sa.Column("totp_step", sa.BigInteger(), nullable=False),
        sa.Column("disabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until_ms", sa.BigInteger(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_sign_in_ms", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("role IN ('publisher', 'analyst', 'admin')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("login", name=op.f("uq_users_login")),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("user_id", sa.String(length=16), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("used_ms", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_recovery_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "code_hash", name=op.f("pk_recovery_codes")),
    )
    op.create_table(
        "person_actions",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "action IN ('read', 'published')", name=op.f("ck_person_actions_action")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_person_actions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_person_actions")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_person_actions_subject_action"),
        "person_actions",
        ["subject", "action"],
        unique=False,
    )
    op.create_index(op.f("ix_person_actions_user_id"), "person_actions", ["user_id"], unique=False)
    with op.batch_alter_table("console_sessions") as batch:
        batch.add_column(sa.Column("user_id", sa.String(length=16), nullable=True))
        batch.alter_column("token_id", existing_type=sa.String(length=16), nullable=True)
        batch.create_index(batch.f("ix_console_sessions_user_id"), ["user_id"], unique=False)
        batch.create_foreign_key(
            batch.f("fk_console_sessions_user_id_users"),
            "users",
            ["user_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_check_constraint(
            batch.f("ck_console_sessions_one_holder"), "(token_id IS NULL) <> (user_id IS NULL)"
        )


def downgrade() -> None:
    # Sessions of people cannot be held by a token: they end.
    op.execute(sa.text("DELETE FROM console_sessions WHERE user_id IS NOT NULL"))
    with op.batch_alter_table("console_sessions") as batch:
        batch.drop_constraint(batch.f("ck_console_sessions_one_holder"), type_="check")
        batch.drop_constraint(batch.f("fk_console_sessions_user_id_users"), type_="foreignkey")
        batch.drop_index(batch.f("ix_console_sessions_user_id"))
        batch.alter_column("token_id", existing_type=sa.String(length=16), nullable=False)
        batch.drop_column("user_id")
    op.drop_index(op.f("ix_person_actions_user_id"), table_name="person_actions")
    op.drop_index(op.f("ix_person_actions_subject_action"), table_name="person_actions")
    op.drop_table("person_actions")
    op.drop_table("recovery_codes")
    op.drop_table("users")
