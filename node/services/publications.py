"""What one publication stores, and the transaction that stores a group of them.

Kept apart from ``publish`` so that the node's state (``context``) can hold the
group commit of publications without importing the publishing use case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from baliza.node.core.notify import LIVE_CHANNEL, OUTBOX_CHANNEL, live_payload, signal
from baliza.node.storage.delivery import Outbox
from baliza.node.storage.envelopes import SentEnvelope, SentEnvelopes
from baliza.node.storage.notices import NoticeRecord, Notices


@dataclass(frozen=True, slots=True, kw_only=True)
class Publication:
    """What one publish stores: the sealed envelope and its index row."""

    envelope: SentEnvelope
    notice: NoticeRecord


async def store_publications(session: AsyncSession, items: Sequence[Publication]) -> None:
    """Store sealed envelopes, their index rows and their outbox rows (one transaction)."""
    await SentEnvelopes(session).add_many([item.envelope for item in items])
    await Notices(session).add_many([item.notice for item in items])
    await Outbox(session).enqueue_all(
        [
            (item.envelope.destinations(), item.envelope.id, item.envelope.created_ms)
            for item in items
        ]
    )
    # Other workers on the same PostgreSQL database: wake their couriers and
    # tell their live followers, once this commits (see core/notify.py).
    await signal(session, OUTBOX_CHANNEL, [d for i in items for d in i.envelope.destinations()])
    stored = [(item.notice.sender, item.envelope.id) for item in items]
    await signal(session, LIVE_CHANNEL, live_payload(stored))
