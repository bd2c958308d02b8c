"""Channel memberships for the crypto tests and the vector generator: fixed keys, fixed times.

The test directory holds the four test agencies with their classic key sets;
Ed25519 signatures are deterministic, so every membership here is the same
bytes on every run.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from crypto_support import AGENCIES, NOW_MS, keys, public

from baliza.crypto import PublicKeys, Suite
from baliza.crypto.channels import (
    admit_membership,
    parse_membership,
    propose_membership,
    sign_membership,
)
from baliza.protocol.channels import ChannelKind, Membership, SignedMembership, founding_digest
from baliza.protocol.errors import ReasonCode, TrustError
from baliza.protocol.ids import AgencyId, ChannelId, KeyId

ALICE, BOB, CAROL, MALLORY = (AgencyId(AGENCIES[n]) for n in ("alice", "bob", "carol", "mallory"))
NAMES = {ALICE: "alice", BOB: "bob", CAROL: "carol", MALLORY: "mallory"}
DAY = 86_400_000
FEDERATION = {ALICE, BOB, CAROL, MALLORY}


def owner_keys(agency: AgencyId, key: KeyId, at_ms: int) -> PublicKeys:
    """The directory of these tests: every test agency, one classic key set each."""
    found = public(NAMES[agency], Suite.CLASSIC)
    if found.signing_key_id != key:
        raise TrustError(ReasonCode.UNKNOWN_KEY, "not this agency's key")
    return found


def is_member(agency: AgencyId) -> bool:
    """Whether the test federation lists ``agency``."""
    return agency in FEDERATION


def membership(version: int = 1, **changes: Any) -> Membership:
    """A JIT owned by Alice and Bob (both must sign) with Carol as a member.

    From version 2 on it carries the founding of the version 1 built here,
    unless ``changes`` name another ``founding``.
    """
    first = Membership(
        channel=ChannelId("jit.co-es-2026-07"),
        kind=ChannelKind.JIT,
        name="JIT Colombia-Spain",
        owners=tuple(sorted((ALICE, BOB))),
        threshold=2,
        members=tuple(sorted((ALICE, BOB, CAROL))),
        version=1,
        issued_ms=NOW_MS,
        expires_ms=NOW_MS + 30 * DAY,
    )
    if version == 1:
        return replace(first, **changes)
    founding = founding_digest(first.to_bytes())
    return replace(first, **{"version": version, "founding": founding, **changes})


def signed(m: Membership, *signers: str) -> bytes:
    """``m`` signed by the named test agencies, in turn."""
    document = propose_membership(m)
    for name in signers:
        document = sign_membership(document, keys(name, Suite.CLASSIC))
    return document


def admit(current: bytes | None, candidate: bytes, now: int = NOW_MS) -> SignedMembership:
    """Admit ``candidate`` over ``current`` with the test directory."""
    return admit_membership(
        None if current is None else parse_membership(current),
        candidate,
        owner_keys=owner_keys,
        is_member=is_member,
        now_ms=now,
    )
