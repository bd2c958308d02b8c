"""Recipients become rows of their own table instead of JSON text in two tables.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Existing JSON lists are carried over: a sent envelope's list becomes its rows
(``via`` = ``named``: channels and subscriptions did not exist before), and a
received notice's list becomes its rows without the sender (before this
revision the sender sealed to itself and so appeared in the list).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AUTOINCREMENT = {"sqlite_autoincrement": True}

_recipients = sa.table(
    "recipients",
    sa.column("envelope_id", sa.String),
    sa.column("agency", sa.String),
    sa.column("via", sa.String),
)


def upgrade() -> None:
    op.create_table(
        "recipients",
        sa.Column("envelope_id", sa.String(length=36), nullable=False),
        sa.Column("agency", sa.String(length=100), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "via IN ('named', 'channel', 'subscription')", name=op.f("ck_recipients_via")
        ),
        sa.PrimaryKeyConstraint("envelope_id", "agency", name=op.f("pk_recipients")),
    )
    op.create_index(op.f("ix_recipients_agency"), "recipients", ["agency"], unique=False)
    bind = op.get_bind()
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for eid, listed in bind.execute(sa.text("SELECT id, recipients FROM sent_envelopes")):
        for agency in json.loads(listed):
            rows[(eid, agency)] = {"envelope_id": eid, "agency": agency, "via": "named"}
    notices = bind.execute(sa.text("SELECT envelope_id, sender, recipients FROM notices"))
    for eid, sender, listed in notices:
        for agency in json.loads(listed):
            if agency != sender:
                rows[(eid, agency)] = {"envelope_id": eid, "agency": agency, "via": "named"}
    if rows:
        op.bulk_insert(_recipients, list(rows.values()))
    with op.batch_alter_table("sent_envelopes") as batch:
        batch.drop_column("recipients")
    # SQLite rebuilds the table; its AUTOINCREMENT (sequence numbers never
    # reused, which pagination cursors rely on) is not reflected, so say it.
    with op.batch_alter_table("notices", table_kwargs=_AUTOINCREMENT) as batch:
        batch.drop_column("recipients")


def downgrade() -> None:
    with op.batch_alter_table("notices", table_kwargs=_AUTOINCREMENT) as batch:
        batch.add_column(sa.Column("recipients", sa.Text(), server_default="[]", nullable=False))
    with op.batch_alter_table("sent_envelopes") as batch:
        batch.add_column(sa.Column("recipients", sa.Text(), server_default="[]", nullable=False))
    bind = op.get_bind()
    listed: dict[str, list[str]] = {}
    for eid, agency in bind.execute(
        sa.text("SELECT envelope_id, agency FROM recipients ORDER BY envelope_id, agency")
    ):
        listed.setdefault(eid, []).append(agency)
    for table, key in (("sent_envelopes", "id"), ("notices", "envelope_id")):
        for eid, agencies in listed.items():
            bind.execute(
                sa.text(f"UPDATE {table} SET recipients = :r WHERE {key} = :e"),  # noqa: S608
                {"r": json.dumps(agencies), "e": eid},
            )
    op.drop_index(op.f("ix_recipients_agency"), table_name="recipients")
    op.drop_table("recipients")
