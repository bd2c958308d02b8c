"""Queued federation messages: the outbox of subscription and permission news.

Envelopes have their own outbox (storage/delivery.py); these are the small
signed messages that change a subscription's or a share permission's state
on the other side. They are queued in the transaction of the change, sent
oldest first per destination, and kept (``sent`` or ``refused`` with the
peer's reason) as the record of what was said. The statements are in
``sql/messages.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

PENDING, SENT, REFUSED = "pending", "sent", "refused"


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """One message to POST, signed at sending time, to ``destination``'s ``path``."""

    seq: int
    destination: str
    path: str
    body: bytes
    attempts: int
    next_attempt_ms: int
