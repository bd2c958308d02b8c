"""Durable delivery state: the outbox, per-destination backoff, and pull cursors.

The outbox holds one row per (destination, sent envelope). A row is
``pending`` until the destination answers ``accepted`` or ``duplicate``
(``delivered``) or refuses it for good (``refused``, with the reason code).
Transport failures leave it pending and are counted per ``Destination``
instead, with the next attempt time the delivery worker computed, so a person
can read "failing since …, last error …". The backoff policy itself lives
with the worker (time and jitter are its business); storage records it.

Several node processes may share one PostgreSQL database: their couriers
take rows through leases (``storage/leases.py``), not ``pending_batch``,
because a row lock ends with its transaction, before the push is answered.

This module holds the types; the statements are in ``sql/delivery.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

MAX_BATCH = 1000


class OutboxState(StrEnum):
    """Where one delivery obligation stands."""

    PENDING = "pending"
    DELIVERED = "delivered"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxEntry:
    """One (destination, envelope) row of the outbox, as a status page shows it."""

    seq: int
    destination: str
    envelope_id: str
    created_ms: int
    state: OutboxState
    delivered_ms: int | None
    refused_reason: str | None
    refused_detail: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingDelivery:
    """An envelope waiting for one destination, with the bytes to send."""

    seq: int
    envelope_id: str
    created_ms: int
    raw: bytes


class OutboxItem(NamedTuple):
    """One envelope a peer may pull: its outbox ``seq`` (the cursor) and its bytes."""

    seq: int
    raw: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Destination:
    """A peer node to deliver to, and how delivery to it has been going."""

    agency: str
    url: str
    attempts: int
    next_attempt_ms: int
    failing_since_ms: int | None
    last_error: str | None
    last_delivered_ms: int | None
