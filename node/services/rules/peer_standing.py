"""What an operator reads about a peer: refused by it, clock skew suspected, or failing.

Rules of this file: pure functions of the destination's stored facts (its
last error, attempts, first failure, last delivery) and the time passed in;
no I/O, no clock.

The last error is kept as text in one of three forms, each written by the
courier (``services/delivery.py``) with the helpers below:

* ``refused: <peer's reason>: <detail>``: the peer answered and refused
  envelopes for good (``sender_blocked`` while it blocks us, say);
* ``peer_refused: HTTP <status>: <peer's reason>: <detail>``: the peer
  refused the whole request, its reason code as its answer gave it;
* anything else: the peer could not be reached, or asked us to retry.

A peer that refuses our requests as ``stale`` sees a signed time further
from its clock than its tolerance: one of the two clocks is wrong, so the
operator is told "clock skew suspected" rather than a bare refusal, and both
nodes' ``doctor`` can say which.
"""

from __future__ import annotations

from baliza.protocol.errors import ReasonCode

# The peer's reasons that mean "our clocks disagree" (request time or
# envelope time outside its window).
SKEW_REASONS = frozenset({ReasonCode.STALE})
_REFUSED = "refused: "
_WHOLE = f"{ReasonCode.PEER_REFUSED.value}: HTTP "


def refusal_note(reason: str, detail: str) -> str:
    """The last error kept when the peer refused envelopes for good."""
    return f"{_REFUSED}{reason}: {detail}"


def peer_reason(last_error: str | None) -> ReasonCode | None:
    """The reason code the peer gave for refusing us, if the error is a refusal it explained.

    ``None`` for an unreachable peer, a refusal without a Baliza answer, or
    a code this node does not know.
    """
    if not last_error:
        return None
    if last_error.startswith(_REFUSED):
        rest = last_error[len(_REFUSED) :]
    elif last_error.startswith(_WHOLE):
        # "HTTP 400: stale: ..." -> skip the status.
        _, _, rest = last_error[len(_WHOLE) :].partition(": ")
    else:
        return None
    code, _, _ = rest.partition(":")
    try:
        return ReasonCode(code.strip())
    except ValueError:
        return None


def refusal_detail(last_error: str) -> str:
    """The peer's reason and detail without our own prefix (``stale: request time ...``)."""
    if last_error.startswith(_REFUSED):
        return last_error[len(_REFUSED) :]
    return last_error[len(_WHOLE) :].partition(": ")[2]


def clock_skew_suspected(last_error: str | None) -> bool:
    """Whether the peer's last refusal says our clocks disagree."""
    return peer_reason(last_error) in SKEW_REASONS


def describe_peer(
    *,
    agency: str,
    contacted: bool,
    attempts: int,
    failing_since_ms: int | None,
    last_error: str | None,
    last_delivered_ms: int | None,
    now_ms: int,
) -> str:
    """One line on how delivery to ``agency`` stands, what happened last first.

    ``clock skew suspected: refused by X: stale: ...``, ``refused by X:
    reason: detail``, ``failing since N min (K attempts): error``, ``ok, last
    delivery N s ago``, ``no delivery yet`` or ``not yet contacted``. A
    refusal while failing says how long and how many attempts too.
    """
    if not contacted:
        return "not yet contacted"
    failing = ""
    if failing_since_ms is not None:
        minutes = (now_ms - failing_since_ms) // 60_000
        failing = f" (failing since {minutes} min, {attempts} attempts)"
    reason = peer_reason(last_error)
    if last_error is not None and reason is not None:
        refused = f"refused by {agency}: {refusal_detail(last_error)}{failing}"
        if reason in SKEW_REASONS:
            return f"clock skew suspected: {refused}"
        return refused
    if failing_since_ms is not None:
        minutes = (now_ms - failing_since_ms) // 60_000
        return f"failing since {minutes} min ({attempts} attempts): {last_error}"
    if last_delivered_ms is not None:
        seconds = (now_ms - last_delivered_ms) // 1000
        return f"ok, last delivery {seconds} s ago"
    return "no delivery yet"
