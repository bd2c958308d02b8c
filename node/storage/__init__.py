"""Node storage: SQLAlchemy models, the Database, and one repository per aggregate.

``Database`` owns the engine and the transaction boundary (where SQLAlchemy
errors become ``StorageError``); the repositories read and write one aggregate
each inside such a transaction. Everything public is importable from here.
"""

from __future__ import annotations

from baliza.node.storage.database import Database, sqlite_url_for
from baliza.node.storage.repositories import (
    ApiToken,
    ApiTokens,
    BlockKind,
    Destination,
    Destinations,
    Direction,
    Hit,
    LocalBlock,
    LocalBlocks,
    NoticeFilter,
    NoticeRecord,
    Notices,
    Outbox,
    OutboxEntry,
    OutboxItem,
    OutboxState,
    PendingDelivery,
    PullCursors,
    Receipt,
    Receipts,
    ReceiptState,
    ReceivedEnvelope,
    ReceivedEnvelopes,
    SentEnvelope,
    SentEnvelopes,
    StoredNotice,
    TokenRole,
    TrustEvent,
    TrustEvents,
    Via,
)

__all__ = [
    "ApiToken",
    "ApiTokens",
    "BlockKind",
    "Database",
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
    "sqlite_url_for",
]
