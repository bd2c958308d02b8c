"""Recompute ``notices.content_hash`` as the notice's identity (what the notice *is*).

The re-publication rule used to compare the hash of a notice's exact bytes,
so changing one character of another agency's notice made it look new. It
now compares the notice's identity (kind, place, UTC day and subject; spec
chapter 03, "When two notices are the same notice"), which new rows store in
the same column. This migration rewrites the column of the rows stored
before, so a notice received last year is recognised too. Rows whose JSON no
longer reads as a notice keep their old value.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from baliza.node.services.rules.identity import notice_identity
from baliza.protocol.errors import BalizaError
from baliza.protocol.notices import notice_from_json

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 500
_notices = sa.table(
    "notices", sa.column("seq"), sa.column("notice_json"), sa.column("content_hash")
)


def upgrade() -> None:
    connection = op.get_bind()
    after = 0
    while True:
        rows = connection.execute(
            sa.select(_notices.c.seq, _notices.c.notice_json)
            .where(_notices.c.seq > after)
            .order_by(_notices.c.seq)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        updates = []
        for seq, notice_json in rows:
            try:
                identity = notice_identity(notice_from_json(json.loads(notice_json)))
            except (BalizaError, ValueError):
                continue
            updates.append({"row_seq": seq, "identity": identity})
        if updates:
            connection.execute(
                _notices.update()
                .where(_notices.c.seq == sa.bindparam("row_seq"))
                .values(content_hash=sa.bindparam("identity")),
                updates,
            )
        after = rows[-1][0]


def downgrade() -> None:
    # The byte hashes cannot be rebuilt from the JSON form; identities stay.
    pass
