"""Initial schema of the node's storage.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-28

Hand-checked against baliza.node.storage.models; tests/node/test_migrations.py
fails if the two ever disagree. Types are written out literally (not imported
from the models) so this revision keeps meaning the same schema when the models
move on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 64-bit on PostgreSQL; on SQLite only INTEGER PRIMARY KEY takes AUTOINCREMENT.
SEQUENCE_NUMBER = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("revoked_ms", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "role IN ('publisher', 'analyst', 'admin')", name=op.f("ck_api_tokens_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
    )
    op.create_table(
        "destinations",
        sa.Column("agency", sa.String(length=100), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_ms", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("failing_since_ms", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_delivered_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("agency", name=op.f("pk_destinations")),
    )
    op.create_table(
        "directory_versions",
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("applied_ms", sa.BigInteger(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("signers", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_directory_versions")),
    )
    op.create_table(
        "local_blocks",
        sa.Column("agency", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.CheckConstraint("kind IN ('block', 'pause')", name=op.f("ck_local_blocks_kind")),
        sa.PrimaryKeyConstraint("agency", name=op.f("pk_local_blocks")),
    )
    op.create_table(
        "notices",
        sa.Column("seq", SEQUENCE_NUMBER, autoincrement=True, nullable=False),
        sa.Column("envelope_id", sa.String(length=36), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("sender", sa.String(length=100), nullable=False),
        sa.Column("recipients", sa.Text(), server_default="[]", nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("stored_ms", sa.BigInteger(), nullable=False),
        sa.Column("programme", sa.String(length=16), nullable=True),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("location", sa.String(length=8), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("notice_json", sa.Text(), nullable=False),
        sa.Column("supersedes", sa.String(length=36), nullable=True),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("ck_notices_direction")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_notices")),
        sa.UniqueConstraint("envelope_id", name=op.f("uq_notices_envelope_id")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_notices_created_ms"), "notices", ["created_ms"], unique=False)
    op.create_index(op.f("ix_notices_kind"), "notices", ["kind"], unique=False)
    op.create_index(op.f("ix_notices_location"), "notices", ["location"], unique=False)
    op.create_index(op.f("ix_notices_programme"), "notices", ["programme"], unique=False)
    op.create_index(op.f("ix_notices_sender"), "notices", ["sender"], unique=False)
    op.create_table(
        "pull_cursors",
        sa.Column("peer", sa.String(length=100), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("peer", name=op.f("pk_pull_cursors")),
    )
    op.create_table(
        "receipts",
        sa.Column("envelope_id", sa.String(length=36), nullable=False),
        sa.Column("from_agency", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "state IN ('delivered', 'read', 'actioned')", name=op.f("ck_receipts_state")
        ),
        sa.PrimaryKeyConstraint("envelope_id", "from_agency", "state", name=op.f("pk_receipts")),
    )
    op.create_table(
        "received_envelopes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("sender", sa.String(length=100), nullable=False),
        sa.Column("sender_key", sa.LargeBinary(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
        sa.Column("via", sa.String(length=8), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("signed_by_revoked", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.CheckConstraint("via IN ('push', 'pull')", name=op.f("ck_received_envelopes_via")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_received_envelopes")),
    )
    op.create_index(
        op.f("ix_received_envelopes_sender"), "received_envelopes", ["sender"], unique=False
    )
    op.create_table(
        "sent_envelopes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sent_envelopes")),
    )
    op.create_table(
        "trust_events",
        sa.Column("seq", SEQUENCE_NUMBER, autoincrement=True, nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_trust_events")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "notice_refs",
        sa.Column("id", SEQUENCE_NUMBER, autoincrement=True, nullable=False),
        sa.Column("envelope_id", sa.String(length=36), nullable=False),
        sa.Column("ref_type", sa.String(length=16), nullable=False),
        sa.Column("ref_value", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["envelope_id"],
            ["notices.envelope_id"],
            name=op.f("fk_notice_refs_envelope_id_notices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_refs")),
        sa.UniqueConstraint(
            "envelope_id",
            "ref_type",
            "ref_value",
            name=op.f("uq_notice_refs_envelope_id_ref_type_ref_value"),
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_notice_refs_envelope_id"), "notice_refs", ["envelope_id"], unique=False
    )
    op.create_index(
        op.f("ix_notice_refs_ref_type_ref_value"),
        "notice_refs",
        ["ref_type", "ref_value"],
        unique=False,
    )
    op.create_table(
        "outbox",
        sa.Column("seq", SEQUENCE_NUMBER, autoincrement=True, nullable=False),
        sa.Column("destination", sa.String(length=100), nullable=False),
        sa.Column("envelope_id", sa.String(length=36), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("delivered_ms", sa.BigInteger(), nullable=True),
        sa.Column("refused_reason", sa.String(length=64), nullable=True),
        sa.Column("refused_detail", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'delivered', 'refused')", name=op.f("ck_outbox_state")
        ),
        sa.ForeignKeyConstraint(
            ["envelope_id"],
            ["sent_envelopes.id"],
            name=op.f("fk_outbox_envelope_id_sent_envelopes"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox")),
        sa.UniqueConstraint(
            "destination", "envelope_id", name=op.f("uq_outbox_destination_envelope_id")
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_outbox_destination_state_seq"),
        "outbox",
        ["destination", "state", "seq"],
        unique=False,
    )
    op.create_index(op.f("ix_outbox_envelope_id"), "outbox", ["envelope_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_outbox_envelope_id"), table_name="outbox")
    op.drop_index(op.f("ix_outbox_destination_state_seq"), table_name="outbox")
    op.drop_table("outbox")
    op.drop_index(op.f("ix_notice_refs_ref_type_ref_value"), table_name="notice_refs")
    op.drop_index(op.f("ix_notice_refs_envelope_id"), table_name="notice_refs")
    op.drop_table("notice_refs")
    op.drop_table("trust_events")
    op.drop_table("sent_envelopes")
    op.drop_index(op.f("ix_received_envelopes_sender"), table_name="received_envelopes")
    op.drop_table("received_envelopes")
    op.drop_table("receipts")
    op.drop_table("pull_cursors")
    op.drop_index(op.f("ix_notices_sender"), table_name="notices")
    op.drop_index(op.f("ix_notices_programme"), table_name="notices")
    op.drop_index(op.f("ix_notices_location"), table_name="notices")
    op.drop_index(op.f("ix_notices_kind"), table_name="notices")
    op.drop_index(op.f("ix_notices_created_ms"), table_name="notices")
    op.drop_table("notices")
    op.drop_table("local_blocks")
    op.drop_table("directory_versions")
    op.drop_table("destinations")
    op.drop_table("api_tokens")
