"""The bounds a fuzzed decoder must stay within: memory and time per input.

Not a speed measurement: the limits are orders of magnitude above what a
decoder needs (a few hundred kilobytes, a few milliseconds for these small
inputs), so they only trip when a declared length is allocated before it is
checked or a loop does not end.
"""

from __future__ import annotations

import signal
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

PEAK_BYTES = 64 << 20
HANG_SECONDS = 20


class HangError(Exception):
    """A decoder ran for longer than any input of this size can justify."""


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise HangError(f"no answer within {HANG_SECONDS} s")


@contextmanager
def bounded() -> Iterator[None]:
    """Fail if the block allocates more than ``PEAK_BYTES`` at once or runs away."""
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
    tracemalloc.start()
    try:
        yield
        _, peak = tracemalloc.get_traced_memory()
        assert peak < PEAK_BYTES, f"peak allocation {peak} bytes"
    finally:
        tracemalloc.stop()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
