"""The channel each stored notice went through, as a ``channel`` facet.

Notices stored from now on carry it (``services/index.py``); this fills it
in for those stored before, from their envelopes' signed headers, so that a
feed narrowed by channel and a channel's TAXII collection hold the whole
history. Read in batches: a node holds hundreds of thousands of notices.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from baliza.protocol.envelope import parse_envelope

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000
_notices = sa.table(
    "notices",
    sa.column("seq", sa.BigInteger),
    sa.column("sender", sa.String),
    sa.column("envelope_id", sa.String),
    sa.column("direction", sa.String),
)
_received = sa.table(
    "received_envelopes",
    sa.column("sender", sa.String),
    sa.column("id", sa.String),
    sa.column("raw", sa.LargeBinary),
)
_sent = sa.table("sent_envelopes", sa.column("id", sa.String), sa.column("raw", sa.LargeBinary))
_refs = sa.table(
    "notice_refs",
    sa.column("sender", sa.String),
    sa.column("envelope_id", sa.String),
    sa.column("ref_type", sa.String),
    sa.column("ref_value", sa.String),
)


def _page(after: int) -> sa.Select[tuple[int, str, str, bytes | None, bytes | None]]:
    return (
        sa.select(
            _notices.c.seq, _notices.c.sender, _notices.c.envelope_id, _received.c.raw, _sent.c.raw
        )
        .select_from(
            _notices.outerjoin(
                _received,
                sa.and_(
                    _notices.c.direction == "in",
                    _received.c.sender == _notices.c.sender,
                    _received.c.id == _notices.c.envelope_id,
                ),
            ).outerjoin(
                _sent, sa.and_(_notices.c.direction == "out", _sent.c.id == _notices.c.envelope_id)
            )
        )
        .where(_notices.c.seq > after)
        .order_by(_notices.c.seq)
        .limit(_BATCH)
    )


def upgrade() -> None:
    connection = op.get_bind()
    after = 0
    while True:
        rows = connection.execute(_page(after)).all()
        if not rows:
            return
        facets = []
        for _seq, sender, eid, received_raw, sent_raw in rows:
            raw = received_raw if received_raw is not None else sent_raw
            if raw is None:
                continue
            channel = parse_envelope(raw).header.channel
            if channel is not None:
                facets.append(
                    {
                        "sender": sender,
                        "envelope_id": eid,
                        "ref_type": "channel",
                        "ref_value": str(channel),
                    }
                )
        if facets:
            connection.execute(sa.insert(_refs), facets)
        after = rows[-1][0]


def downgrade() -> None:
    op.execute(_refs.delete().where(_refs.c.ref_type == "channel"))
