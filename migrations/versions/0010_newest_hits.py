"""Indexes for lookups that read whole tables: live hits, and the copies of a share.

Notices.with_newest_hits reads the most recent entries of a reference and stops;
with the id in the index that is a short backward walk on both engines,
where before every notice naming the reference was read and sorted (a
vessel named in 16,000 notices: 82 ms per announcement on SQLite, growing
with the count). The new index serves every lookup the old one did.

Finding the received copy a share passes on (``notices.shares``) scanned
every notice; it gets an index of its own.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_notice_refs_ref_type_ref_value_id"),
        "notice_refs",
        ["ref_type", "ref_value", "id"],
        unique=False,
    )
    op.drop_index(op.f("ix_notice_refs_ref_type_ref_value"), table_name="notice_refs")
    op.create_index(op.f("ix_notices_shares"), "notices", ["shares"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_notices_shares"), table_name="notices")
    op.create_index(
        op.f("ix_notice_refs_ref_type_ref_value"),
        "notice_refs",
        ["ref_type", "ref_value"],
        unique=False,
    )
    op.drop_index(op.f("ix_notice_refs_ref_type_ref_value_id"), table_name="notice_refs")
