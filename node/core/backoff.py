"""When to try a failing peer again: exponential backoff, capped, with jitter.

Pure: the caller passes the random draw, so the schedule is testable without
sleeping. "Equal jitter" keeps at least half the delay (a dead peer is not
hammered) while spreading retries so many senders do not return in step.
"""

from __future__ import annotations


def retry_delay_ms(attempts: int, *, base_ms: int, cap_ms: int, draw: float) -> int:
    """Delay before attempt ``attempts + 1``; ``draw`` is uniform in [0, 1)."""
    if attempts <= 0:
        return 0
    ceiling = min(cap_ms, base_ms * (2 ** min(attempts - 1, 30)))
    return int(ceiling / 2 + draw * ceiling / 2)
