"""SQLite: the full-text row of a notice is written by a trigger, in the statement storing it.

Storing a notice used to be followed by a statement of its own that copied
its text into ``notices_fts``; the trigger does it inside the INSERT, so a
unit of work storing notices sends one statement fewer, and no path that
stores a notice can forget it. PostgreSQL indexes by itself (migration
0006) and is unchanged.

A later migration that rebuilds ``notices`` in SQLite's batch mode drops the
trigger with the old table and must create it again.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE TRIGGER notices_fts_insert AFTER INSERT ON notices BEGIN "
        "INSERT INTO notices_fts(rowid, search_text) VALUES (new.seq, new.search_text); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER notices_fts_insert")
