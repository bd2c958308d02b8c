"""WebAuthn security keys, their challenges in flight, and more kinds of person actions.

A user may register security keys as a second factor beside TOTP; each
key's signature counter is kept to refuse a cloned key. Challenges are
stored server-side, single use and expiring. People's recorded actions
now include sharing, granting a share permission, admitting or refusing a
subscription, and assigning.

Revision ID: 0022
Revises: 0019
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIONS_BEFORE = "action IN ('read', 'published', 'assigned', 'released', 'status', 'priority')"
_ACTIONS_AFTER = (
    "action IN ('read', 'published', 'shared', 'granted', 'admitted', 'refused', 'assigned',"
    " 'released', 'status', 'priority')"
)


def upgrade() -> None:
    op.create_table(
        "security_keys",
        sa.Column("credential_id", sa.LargeBinary(length=1023), nullable=False),
        sa.Column("user_id", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=1023), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_used_ms", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_security_keys_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("credential_id", name=op.f("pk_security_keys")),
    )
    op.create_index(op.f("ix_security_keys_user_id"), "security_keys", ["user_id"], unique=False)
    op.create_table(
        "webauthn_challenges",
        sa.Column("id_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("challenge", sa.LargeBinary(length=64), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "purpose IN ('register', 'sign_in')", name=op.f("ck_webauthn_challenges_purpose")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_webauthn_challenges_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_webauthn_challenges")),
    )
    op.create_index(
        op.f("ix_webauthn_challenges_expires_ms"),
        "webauthn_challenges",
        ["expires_ms"],
        unique=False,
    )
    op.create_index(
        op.f("ix_webauthn_challenges_user_id"), "webauthn_challenges", ["user_id"], unique=False
    )
    with op.batch_alter_table("person_actions") as batch:
        batch.drop_constraint(batch.f("ck_person_actions_action"), type_="check")
        batch.create_check_constraint(batch.f("ck_person_actions_action"), _ACTIONS_AFTER)


def downgrade() -> None:
    # Actions of the new kinds cannot be kept under the old rule: they go.
    op.execute(
        sa.text(
            "DELETE FROM person_actions"
            " WHERE action IN ('shared', 'granted', 'admitted', 'refused')"
        )
    )
    with op.batch_alter_table("person_actions") as batch:
        batch.drop_constraint(batch.f("ck_person_actions_action"), type_="check")
        batch.create_check_constraint(batch.f("ck_person_actions_action"), _ACTIONS_BEFORE)
    op.drop_index(op.f("ix_webauthn_challenges_user_id"), table_name="webauthn_challenges")
    op.drop_index(op.f("ix_webauthn_challenges_expires_ms"), table_name="webauthn_challenges")
    op.drop_table("webauthn_challenges")
    op.drop_index(op.f("ix_security_keys_user_id"), table_name="security_keys")
    op.drop_table("security_keys")
