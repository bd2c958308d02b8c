"""Envelope ids are unique per sender: received envelopes, notices and their refs.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

A sender chooses its envelope ids and they travel in clear headers, so one
member could otherwise store an envelope under another member's id first and
make the genuine one refused (id squatting), or learn from the answer which
ids a node holds (id probing). Received envelopes are keyed by (sender, id),
notices are unique by (sender, envelope_id) and their references point at
both columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite rebuilds a table to alter it; the copy must keep AUTOINCREMENT, or
# sequence numbers (cursors) could be reused after a delete.
_AUTOINCREMENT = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table("notice_refs", table_kwargs=_AUTOINCREMENT) as batch:
        batch.drop_constraint("fk_notice_refs_envelope_id_notices", type_="foreignkey")
        batch.add_column(sa.Column("sender", sa.String(length=100), nullable=True))
    op.execute(
        "UPDATE notice_refs SET sender = (SELECT notices.sender FROM notices"
        " WHERE notices.envelope_id = notice_refs.envelope_id)"
    )
    with op.batch_alter_table("notices", table_kwargs=_AUTOINCREMENT) as batch:
        batch.drop_constraint("uq_notices_envelope_id", type_="unique")
        batch.create_unique_constraint("uq_notices_sender_envelope_id", ["sender", "envelope_id"])
    op.create_index("ix_notices_envelope_id", "notices", ["envelope_id"], unique=False)
    op.drop_index("ix_notice_refs_envelope_id", table_name="notice_refs")
    with op.batch_alter_table("notice_refs", table_kwargs=_AUTOINCREMENT) as batch:
        batch.alter_column("sender", existing_type=sa.String(length=100), nullable=False)
        batch.drop_constraint("uq_notice_refs_envelope_id_ref_type_ref_value", type_="unique")
        batch.create_unique_constraint(
            "uq_notice_refs_sender_envelope_id_ref_type_ref_value",
            ["sender", "envelope_id", "ref_type", "ref_value"],
        )
        batch.create_foreign_key(
            "fk_notice_refs_sender_notices",
            "notices",
            ["sender", "envelope_id"],
            ["sender", "envelope_id"],
            ondelete="CASCADE",
        )
    op.create_index(
        "ix_notice_refs_sender_envelope_id", "notice_refs", ["sender", "envelope_id"], unique=False
    )
    op.drop_index("ix_received_envelopes_sender", table_name="received_envelopes")
    with op.batch_alter_table("received_envelopes") as batch:
        batch.drop_constraint("pk_received_envelopes", type_="primary")
        batch.create_primary_key("pk_received_envelopes", ["sender", "id"])
    op.create_index("ix_received_envelopes_id", "received_envelopes", ["id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_received_envelopes_id", table_name="received_envelopes")
    with op.batch_alter_table("received_envelopes") as batch:
        batch.drop_constraint("pk_received_envelopes", type_="primary")
        batch.create_primary_key("pk_received_envelopes", ["id"])
    op.create_index("ix_received_envelopes_sender", "received_envelopes", ["sender"], unique=False)
    op.drop_index("ix_notice_refs_sender_envelope_id", table_name="notice_refs")
    with op.batch_alter_table("notice_refs", table_kwargs=_AUTOINCREMENT) as batch:
        batch.drop_constraint("fk_notice_refs_sender_notices", type_="foreignkey")
        batch.drop_constraint(
            "uq_notice_refs_sender_envelope_id_ref_type_ref_value", type_="unique"
        )
        batch.create_unique_constraint(
            "uq_notice_refs_envelope_id_ref_type_ref_value",
            ["envelope_id", "ref_type", "ref_value"],
        )
        batch.drop_column("sender")
    op.create_index("ix_notice_refs_envelope_id", "notice_refs", ["envelope_id"], unique=False)
    op.drop_index("ix_notices_envelope_id", table_name="notices")
    with op.batch_alter_table("notices", table_kwargs=_AUTOINCREMENT) as batch:
        batch.drop_constraint("uq_notices_sender_envelope_id", type_="unique")
        batch.create_unique_constraint("uq_notices_envelope_id", ["envelope_id"])
    with op.batch_alter_table("notice_refs", table_kwargs=_AUTOINCREMENT) as batch:
        batch.create_foreign_key(
            "fk_notice_refs_envelope_id_notices",
            "notices",
            ["envelope_id"],
            ["envelope_id"],
            ondelete="CASCADE",
        )
