"""Admission to the inbox: what a member node may cost this node, decided before any work.

A member's node is trusted to sign, not to be reasonable. Its signed flood of
envelopes that fail verification costs this node a signature check each,
and a stranger who knows only a member's public id can make it read large
bodies that then fail the request signature. So, before a body byte is read:

- each origin has a token bucket of ``peer_requests_per_s`` requests per
  second (bursts of twice that), charged only once its request signature
  verified (a stranger claiming its id cannot drain it), plus a few tokens
  per envelope refused after verification: a flood of bad envelopes runs dry
  fast while honest traffic does not notice;
- requests that cause more work than answering them pay for it before it
  is done (``spend``): a channel push one token per owner signature it may
  make this node check, a subscription or permission message a few for the
  writes and signed messages it causes. An origin that cannot afford the
  work is refused; a cost beyond half the burst needs half a bucket and
  leaves the origin in debt, so a flood of expensive requests gets one
  through per refill of what it cost, not one per token;
- at most ``peer_concurrent_bodies`` bodies are read at once per (claimed
  origin, client address), and all bodies being read stay within
  ``MAX_BODY_BYTES_IN_FLIGHT``.

Refusals are ``busy`` (HTTP 429): cheap, and a genuine peer's courier backs
off and retries. State is in memory, per node process: a restart forgets it.

Requests whose signature fails are counted per client address (the address
a trusted proxy names, see client_address.py), and an address that keeps
failing is logged, so that its operators can block it at the firewall. That
count never refuses anything: a stranger sharing a partner's address (one
proxy, one NAT) could otherwise get the partner's correctly signed requests
refused, which is what happened behind nginx before (issue 17, item 4). It
costs little: a request without a body is verified in about what a refusal
costs, and the bodies a stranger can make this node read are bounded by the
slots, the byte budget and the body deadline above, whoever pays.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from baliza.protocol.errors import ReasonCode, TrustError
from baliza.protocol.federation import MAX_BATCH_BYTES

MAX_BODY_BYTES_IN_FLIGHT = 4 * MAX_BATCH_BYTES
_FORGET_AFTER_S = 600.0
REPORT_EVERY_S = 60.0


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    reading: int = 0
    reported: float = float("-inf")


class Admission:
    """Per-origin rate, concurrency and byte budgets for federation requests."""

    def __init__(self, requests_per_s: int, concurrent_bodies: int) -> None:
        self._rate = float(requests_per_s)
        self._burst = 2.0 * requests_per_s
        self._concurrent = concurrent_bodies
        self._buckets: dict[str, _Bucket] = {}
        self._bytes_in_flight = 0
        self.refused = 0
        self.failures = 0

    def _bucket(self, origin: str, now: float) -> _Bucket:
        bucket = self._buckets.get(origin)
        if bucket is None:
            if len(self._buckets) > 10_000:  # claimed origins are checked first; keep it tidy
                self._forget(now)
            bucket = self._buckets[origin] = _Bucket(tokens=self._burst, updated=now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        return bucket

    def _forget(self, now: float) -> None:
        for origin, bucket in list(self._buckets.items()):
            if not bucket.reading and now - bucket.updated > _FORGET_AFTER_S:
                del self._buckets[origin]

    def _busy(self, why: str) -> TrustError:
        self.refused += 1
        return TrustError(ReasonCode.BUSY, why)

    def check(self, origin: str) -> None:
        """Refuse at once (``busy``) an origin that has run out of tokens.

        Only verified requests charge an origin, so nobody but the origin's
        own node can empty its bucket.
        """
        if self._bucket(f"origin {origin}", time.monotonic()).tokens < 1:
            raise self._busy(f"too many requests from {origin}; retry later")

    @asynccontextmanager
    async def reading(self, origin: str, remote: str, body_bytes: int) -> AsyncIterator[None]:
        """Hold a body slot while ``body_bytes`` are read, or raise ``busy``."""
        slot = self._bucket(f"reading {origin} {remote}", time.monotonic())
        if slot.reading >= self._concurrent:
            raise self._busy(f"{slot.reading} requests of {origin} are being read already")
        if self._bytes_in_flight + body_bytes > MAX_BODY_BYTES_IN_FLIGHT:
            raise self._busy("too many bodies being read; retry later")
        slot.reading += 1
        self._bytes_in_flight += body_bytes
        try:
            yield
        finally:
            slot.reading -= 1
            self._bytes_in_flight -= body_bytes

    def charge(self, origin: str, tokens: int = 1) -> None:
        """Charge ``origin`` for a verified request, or for envelopes it got refused."""
        if tokens:
            self._bucket(f"origin {origin}", time.monotonic()).tokens -= tokens

    def spend(self, origin: str, tokens: int) -> None:
        """Charge ``origin`` for work it asks for, before doing it; ``busy`` if it cannot pay.

        Paying means holding ``tokens``, or half a bucket when the work costs
        more (a legitimate large request must remain possible, also with
        another request of the origin in flight); the bucket may then go
        below zero, and the origin waits for the refill.
        """
        if tokens <= 0:
            return
        bucket = self._bucket(f"origin {origin}", time.monotonic())
        if bucket.tokens < min(tokens, self._burst / 2):
            raise self._busy(f"{origin} cannot afford this request's work now; retry later")
        bucket.tokens -= tokens

    def failed(self, remote: str) -> bool:
        """Count a request from ``remote`` whose signature did not verify.

        True when the address has run through its allowance (bursts of twice
        ``peer_requests_per_s`` failures) and was not reported in the last
        ``REPORT_EVERY_S``: the moment to log it, rather than once per
        failure. Never a refusal.
        """
        now = time.monotonic()
        bucket = self._bucket(f"address {remote}", now)
        bucket.tokens = max(bucket.tokens - 1, -self._burst)
        self.failures += 1
        if bucket.tokens >= 1 or now - bucket.reported < REPORT_EVERY_S:
            return False
        bucket.reported = now
        return True
