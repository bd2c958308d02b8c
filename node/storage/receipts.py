"""Receipts: which agency acknowledged which envelope, and how far.

A receipt arrives at least once, possibly many times; storing it is
idempotent, keyed by (envelope, agency, state), and the first time wins.
The statements are in ``sql/receipts.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ReceiptState(StrEnum):
    """How far a recipient got with an envelope."""

    DELIVERED = "delivered"
    READ = "read"
    ACTIONED = "actioned"


@dataclass(frozen=True, slots=True, kw_only=True)
class Receipt:
    """One acknowledgement of an envelope by an agency."""

    envelope_id: str
    from_agency: str
    state: ReceiptState
    at_ms: int


# Receipts of one agency sort delivered → read → actioned.
STATE_ORDER = {state: index for index, state in enumerate(ReceiptState)}
