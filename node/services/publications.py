"""What one publication stores, and the unit of work that stores a group of them.

Kept apart from ``publish`` so that the node's state (``context``) can hold the
group commit of publications without importing the publishing use case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from baliza.node.core.notify import LIVE_CHANNEL, OUTBOX_CHANNEL, live_payload, signal_in
from baliza.node.services.written import Written, written_with_hits
from baliza.node.storage import audit
from baliza.node.storage.envelopes import SentEnvelope
from baliza.node.storage.notices import NoticeRecord
from baliza.node.storage.sql import audit as audit_rows
from baliza.node.storage.sql import envelopes as envelope_rows
from baliza.node.storage.sql import notices as notice_rows


@dataclass(frozen=True, slots=True, kw_only=True)
class Publication:
    """What one publish stores: the sealed envelope and its index row.

    ``with_hits``: read the notice's newest hits for the live feed in the same unit.
    """

    envelope: SentEnvelope
    notice: NoticeRecord
    with_hits: bool = False


def store_publications(connection: Connection, items: Sequence[Publication]) -> list[Written]:
    """Store sealed envelopes, their index rows and their outbox rows (one unit of work).

    Returns each notice as written, for the live announcement.
    """
    envelope_rows.insert_sent(connection, [item.envelope for item in items])
    audit_rows.append(connection, [audit.sent(item.envelope) for item in items])
    seqs = notice_rows.insert_notices(connection, [item.notice for item in items])
    envelope_rows.enqueue(
        connection,
        [
            (item.envelope.destinations(), item.envelope.id, item.envelope.created_ms)
            for item in items
        ],
    )
    # Other workers on the same PostgreSQL database: wake their couriers and
    # tell their live followers, once this commits (see core/notify.py).
    signal_in(connection, OUTBOX_CHANNEL, [d for i in items for d in i.envelope.destinations()])
    signal_in(connection, LIVE_CHANNEL, live_payload(list(seqs)))
    stored = [
        notice_rows.stored_from(
            item.notice,
            seqs[(item.notice.sender, item.notice.envelope_id)],
            [r.agency for r in item.envelope.recipients],
        )
        for item in items
    ]
    written = written_with_hits(connection, stored, with_hits=any(i.with_hits for i in items))
    return written
