"""The node's clock and randomness, in one place so tests can see where time enters."""

from __future__ import annotations

import os
import time

from baliza.protocol.ids import EnvelopeId, make_envelope_id


def now_ms() -> int:
    """Unix time in milliseconds (UTC)."""
    return time.time_ns() // 1_000_000


def new_envelope_id() -> EnvelopeId:
    """A fresh UUIDv7 for an envelope created now."""
    return make_envelope_id(now_ms(), os.urandom(10))
