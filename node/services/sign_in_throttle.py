"""Console sign-in throttling: per token and per address, with lock-out (issue 17, item 13).

Sign-in checks a token typed into a form, so it is where someone guesses.
A token's secret is too long to guess, but nothing should let anyone try
thousands of times in seconds, and every failure should be seen. So:

- ``ACCOUNT_FAILURES`` failed sign-ins naming one token id within
  ``WINDOW_MS`` lock sign-in with that token for ``LOCKOUT_MS``;
- ``ADDRESS_FAILURES`` failed sign-ins from one client address (the address
  a trusted proxy names, see node/http/client_address.py) within
  ``WINDOW_MS`` lock sign-in from that address for ``LOCKOUT_MS``.

While locked, a sign-in is refused ``sign_in_throttled`` (HTTP 429) **before**
the token is checked: a right guess during the lock-out is refused like a
wrong one, so the lock-out is not an oracle. A successful sign-in forgets
its token's failures (not its address's: one valid token must not reset the
count of an address guessing others). Anyone who knows a token's id (not its
secret) can lock that token out of the console for a while; the API, with
the same token as a bearer header, is unaffected.

Sans-I/O: times are passed in, nothing is logged here (the use case in
``sessions`` logs). State is in memory, per node process: a restart, or
another worker, does not share it.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

from baliza.protocol.errors import ReasonCode, TrustError

ACCOUNT_FAILURES = 5
ADDRESS_FAILURES = 20
WINDOW_MS = 15 * 60 * 1000
LOCKOUT_MS = 15 * 60 * 1000
# Bounded memory whatever is typed: tidy beyond this many tracked names.
MAX_TRACKED = 10_000
# Token ids are 12 hex digits; anything else is logged as malformed, never echoed.
_TOKEN_ID = re.compile(r"[0-9a-f]{1,32}")


@dataclass(slots=True)
class _Record:
    failures: deque[int] = field(default_factory=deque)
    locked_until: int = 0


def account_of(typed: str) -> str | None:
    """The token id of what was typed (``bz_<id>_<secret>``), if it has a sane one."""
    parts = typed.strip().split("_", 2)
    if len(parts) == 3 and parts[0] == "bz" and _TOKEN_ID.fullmatch(parts[1]):
        return parts[1]
    return None


class SignInThrottle:
    """Failed console sign-ins per token id and per address, and who is locked out."""

    def __init__(self) -> None:
        self._records: dict[str, _Record] = {}

    def _keys(self, account: str | None, address: str) -> list[tuple[str, int]]:
        keys = [(f"address {address}", ADDRESS_FAILURES)]
        if account is not None:
            keys.append((f"token {account}", ACCOUNT_FAILURES))
        return keys

    def check(self, account: str | None, address: str, now: int) -> None:
        """Raise ``sign_in_throttled`` if the token or the address is locked out at ``now``."""
        for key, _ in self._keys(account, address):
            record = self._records.get(key)
            if record is not None and record.locked_until > now:
                left_s = (record.locked_until - now + 999) // 1000
                raise TrustError(
                    ReasonCode.SIGN_IN_THROTTLED,
                    f"too many failed sign-ins for this {key.split()[0]}; try again in {left_s} s",
                )

    def failed(self, account: str | None, address: str, now: int) -> list[str]:
        """Count a failed sign-in; return what it locked out (``token <id>``, ``address <a>``)."""
        if len(self._records) >= MAX_TRACKED:
            self._tidy(now)
        locked = []
        for key, limit in self._keys(account, address):
            record = self._records.setdefault(key, _Record())
            while record.failures and record.failures[0] <= now - WINDOW_MS:
                record.failures.popleft()
            record.failures.append(now)
            if len(record.failures) >= limit:
                record.failures.clear()
                record.locked_until = now + LOCKOUT_MS
                locked.append(key)
        return locked

    def succeeded(self, account: str | None) -> None:
        """Forget the failures of a token that has just signed in."""
        if account is not None:
            self._records.pop(f"token {account}", None)

    def _tidy(self, now: int) -> None:
        for key, record in list(self._records.items()):
            stale = not record.failures or record.failures[-1] <= now - WINDOW_MS
            if stale and record.locked_until <= now:
                del self._records[key]
        # Still full (a spray of distinct names): drop the unlocked ones, oldest first.
        excess = len(self._records) - MAX_TRACKED // 2
        if excess > 0:
            unlocked = [k for k, r in self._records.items() if r.locked_until <= now]
            for key in unlocked[:excess]:
                del self._records[key]
