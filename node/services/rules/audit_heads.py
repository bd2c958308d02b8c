"""What a peer's new signed tree head means against the one held from it, decided once.

A node keeps the newest head each peer gave it that checked (its
signature, and that it extends the head held before). The next head from
that peer is, by its size and signed time alone:

* ``FIRST``: nothing held yet; keep it (trust on first sight, as the
  directory vouches for the key that signed it);
* ``SAME``: the same size and root: nothing new;
* ``EQUIVOCATION``: the same size and another root: the peer signed two
  logs; both heads are evidence;
* ``EXTENDS``: larger: keep it only once the peer's consistency proof from
  the held head verifies (a failing or refused proof is equivocation);
* ``ROLLBACK``: smaller and signed later than the held head: the log lost
  entries it had signed (a restored backup, truncated leaves);
* ``STALE``: smaller and signed earlier: an old head served again (another
  worker's cache), news to nobody.
"""

from __future__ import annotations

from enum import StrEnum

from baliza.protocol import merkle
from baliza.protocol.audit import ConsistencyProof, TreeHead
from baliza.protocol.errors import BalizaError, ReasonCode, TrustError


class HeadVerdict(StrEnum):
    """What a peer's new head is, against the head held from it."""

    FIRST = "first"
    SAME = "same"
    EXTENDS = "extends"
    STALE = "stale"
    EQUIVOCATION = "equivocation"
    ROLLBACK = "rollback"


def judge_peer_head(held: TreeHead | None, offered: TreeHead) -> HeadVerdict:
    """The verdict on ``offered`` (signature already checked) given the ``held`` head."""
    if held is None:
        return HeadVerdict.FIRST
    if offered.size == held.size:
        return HeadVerdict.SAME if offered.root == held.root else HeadVerdict.EQUIVOCATION
    if offered.size > held.size:
        return HeadVerdict.EXTENDS
    return HeadVerdict.ROLLBACK if offered.at_ms > held.at_ms else HeadVerdict.STALE


def check_extends(held: TreeHead, offered: TreeHead, answer: ConsistencyProof) -> None:
    """``TrustError(AUDIT_EQUIVOCATION)`` unless ``answer`` proves ``offered`` extends ``held``.

    The answer must be a proof between exactly the two heads' sizes, and
    lead from the held root to the offered one (RFC 9162 §2.1.4.2).
    """
    try:
        if (answer.first, answer.second) != (held.size, offered.size):
            raise TrustError(ReasonCode.AUDIT_PROOF_FAILED, "a proof between other sizes")
        merkle.verify_consistency(held.size, offered.size, held.root, offered.root, answer.proof)
    except BalizaError as err:
        raise TrustError(
            ReasonCode.AUDIT_EQUIVOCATION,
            f"{offered.log}'s head of size {offered.size} does not extend the one of size "
            f"{held.size} held: {err.reason.value}: {err.detail}",
        ) from None


def refusal(held: TreeHead, offered: TreeHead, verdict: HeadVerdict) -> TrustError | None:
    """The refusal a verdict that contradicts the held head calls for (None for the others)."""
    if verdict is HeadVerdict.EQUIVOCATION:
        return TrustError(
            ReasonCode.AUDIT_EQUIVOCATION,
            f"{offered.log} signed two heads of size {offered.size} with different roots",
        )
    if verdict is HeadVerdict.ROLLBACK:
        return TrustError(
            ReasonCode.AUDIT_ROLLBACK,
            f"{offered.log} signed a head of size {offered.size} after one of size "
            f"{held.size}: its log was rolled back",
        )
    return None
