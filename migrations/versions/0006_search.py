"""Full-text search and route/commodity facets for notices.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Adds ``notices.lang`` (the notice's text language, for stemming) and the
engine's full-text structure: an FTS5 table on SQLite (filled here from the
stored notices, then by the node on each insert), a GIN expression index on
PostgreSQL. The expression is written out literally and must stay equal to
``baliza.node.storage.search.PG_VECTOR`` for the planner to use the index.
Stored ``search_text`` is re-folded (accents removed, case folded) by the
node only for new notices; older rows keep their lower-cased text, which
the folded query still finds unless it carried accents.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_VECTOR = (
    "CASE lang "
    "WHEN 'es' THEN to_tsvector('spanish'::regconfig, search_text) "
    "WHEN 'pt' THEN to_tsvector('portuguese'::regconfig, search_text) "
    "WHEN 'en' THEN to_tsvector('english'::regconfig, search_text) "
    "WHEN 'fr' THEN to_tsvector('french'::regconfig, search_text) "
    "ELSE to_tsvector('simple'::regconfig, search_text) END"
)


def upgrade() -> None:
    with op.batch_alter_table("notices", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.add_column(sa.Column("lang", sa.String(length=8), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX ix_notices_fulltext ON notices USING gin (({PG_VECTOR}))")
    else:
        op.execute(
            "CREATE VIRTUAL TABLE notices_fts USING fts5("
            "search_text, tokenize = 'unicode61 remove_diacritics 2')"
        )
        op.execute(
            "INSERT INTO notices_fts(rowid, search_text) SELECT seq, search_text FROM notices"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_notices_fulltext")
    else:
        op.execute("DROP TABLE notices_fts")
    with op.batch_alter_table("notices", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("lang")
