"""Node storage: SQLAlchemy models, the Database, and one repository per aggregate.

``Database`` owns the engine and the transaction boundary (where SQLAlchemy
errors become ``StorageError``); the repositories read and write one aggregate
each inside such a transaction. Everything public is importable from here.
"""

from __future__ import annotations

from baliza.node.storage.database import Database, sqlite_url_for
from baliza.node.storage.delivery import (
    Destination,
    OutboxEntry,
    OutboxItem,
    OutboxState,
    PendingDelivery,
)
from baliza.node.storage.envelopes import (
    ReceivedEnvelope,
    SentEnvelope,
    Via,
)
from baliza.node.storage.notices import (
    Direction,
    Hit,
    NoticeFilter,
    NoticeRecord,
    StoredNotice,
)
from baliza.node.storage.receipts import Receipt, ReceiptState
from baliza.node.storage.tokens import ApiToken, TokenRole
from baliza.node.storage.trust import BlockKind, LocalBlock, TrustEvent

__all__ = [
    "ApiToken",
    "BlockKind",
    "Database",
    "Destination",
    "Direction",
    "Hit",
    "LocalBlock",
    "NoticeFilter",
    "NoticeRecord",
    "OutboxEntry",
    "OutboxItem",
    "OutboxState",
    "PendingDelivery",
    "Receipt",
    "ReceiptState",
    "ReceivedEnvelope",
    "SentEnvelope",
    "StoredNotice",
    "TokenRole",
    "TrustEvent",
    "Via",
    "sqlite_url_for",
]
