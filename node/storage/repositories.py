"""One repository per aggregate, each working inside a caller's transaction.

Build them over the session of ``Database.transaction()``; they never commit,
so a use case that touches several aggregates (store a received envelope, its
notice and its receipt) stays atomic::

    async with db.transaction() as session:
        new_ids = await ReceivedEnvelopes(session).add_new(batch)
        await Notices(session).add_many([n for n in notices if n.envelope_id in new_ids])

The classes live in modules by concern; this module gathers them.
"""

from __future__ import annotations

from baliza.node.storage.delivery import (
    Destination,
    Destinations,
    Outbox,
    OutboxEntry,
    OutboxItem,
    OutboxState,
    PendingDelivery,
    PullCursors,
)
from baliza.node.storage.envelopes import (
    ReceivedEnvelope,
    ReceivedEnvelopes,
    SentEnvelope,
    SentEnvelopes,
    Via,
)
from baliza.node.storage.notices import (
    Direction,
    Hit,
    NoticeFilter,
    NoticeRecord,
    Notices,
    StoredNotice,
)
from baliza.node.storage.receipts import Receipt, Receipts, ReceiptState
from baliza.node.storage.tokens import ApiToken, ApiTokens, TokenRole
from baliza.node.storage.trust import BlockKind, LocalBlock, LocalBlocks, TrustEvent, TrustEvents

__all__ = [
    "ApiToken",
    "ApiTokens",
    "BlockKind",
    "Destination",
    "Destinations",
    "Direction",
    "Hit",
    "LocalBlock",
    "LocalBlocks",
    "NoticeFilter",
    "NoticeRecord",
    "Notices",
    "Outbox",
    "OutboxEntry",
    "OutboxItem",
    "OutboxState",
    "PendingDelivery",
    "PullCursors",
    "Receipt",
    "ReceiptState",
    "Receipts",
    "ReceivedEnvelope",
    "ReceivedEnvelopes",
    "SentEnvelope",
    "SentEnvelopes",
    "StoredNotice",
    "TokenRole",
    "TrustEvent",
    "TrustEvents",
    "Via",
]
