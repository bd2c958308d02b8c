"""A process whose wall clock is off, as libfaketime makes one (which this host lacks).

Put this folder on ``PYTHONPATH`` with ``BALIZA_TEST_CLOCK_OFFSET_MS`` set:
Python imports it at start, before any Baliza code, and every reading of the
wall clock in that process (``time.time``, ``time.time_ns``) is shifted.
The monotonic clock is left alone, as a skewed host's is.
"""

from __future__ import annotations

import os
import time

_OFFSET_MS = int(os.environ.get("BALIZA_TEST_CLOCK_OFFSET_MS", "0"))

if _OFFSET_MS:
    _time_ns = time.time_ns
    _time = time.time

    def _skewed_ns() -> int:
        return _time_ns() + _OFFSET_MS * 1_000_000

    def _skewed() -> float:
        return _time() + _OFFSET_MS / 1000

    time.time_ns = _skewed_ns
    time.time = _skewed
