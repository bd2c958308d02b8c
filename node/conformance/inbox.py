"""Pushing envelopes to the target's inbox and reading its answers (chapter 05 §2)."""

from __future__ import annotations

from baliza.node.conformance.checks import Run
from baliza.node.conformance.verdict import Failed
from baliza.protocol.federation import EnvelopeResult, Outcome, decode_results, encode_batch

INBOX = "/fed/v1/inbox"


async def push(run: Run, role: str, envelopes: list[bytes]) -> list[EnvelopeResult]:
    """Push a batch as ``role``; the target's answer per envelope, in batch order."""
    answer = await run.target.call(run.kit[role], "POST", INBOX, encode_batch(envelopes))
    body = answer.expect_msgpack(f"POST {INBOX}")
    return decode_results(body, len(envelopes))


def describe(result: EnvelopeResult) -> str:
    """An answer as a failure message shows it."""
    if result.outcome is Outcome.REFUSED:
        return f"refused {result.reason} ({result.detail or 'no detail'})"
    return result.outcome.value


async def expect_outcome(
    run: Run, role: str, raw: bytes, outcome: Outcome, reason: str | None = None
) -> EnvelopeResult:
    """Push one envelope; ``Failed`` unless the target answers ``outcome`` (and ``reason``)."""
    (result,) = await push(run, role, [raw])
    if result.outcome is not outcome or result.reason != reason:
        want = f"refused {reason}" if reason else outcome.value
        raise Failed(f"expected {want}, got {describe(result)}")
    return result
