"""Channel membership trust rules: each attempt to widen or rewind a channel is refused."""

from __future__ import annotations

from typing import Any

import pytest
from channel_support import ALICE, BOB, CAROL, DAY, MALLORY, admit, membership, signed
from crypto_support import NOW_MS, reason_of

from baliza.crypto.channels import check_known, parse_membership
from baliza.protocol.channels import ChannelKind, Membership, SignedMembership, founding_digest
from baliza.protocol.errors import BalizaError, InputError, ReasonCode
from baliza.protocol.ids import AgencyId, ChannelId

V1 = signed(membership(), "alice", "bob")


def refused(current: bytes | None, candidate: bytes, now: int = NOW_MS) -> ReasonCode:
    with pytest.raises(BalizaError) as caught:
        admit(current, candidate, now)
    return reason_of(caught.value)


def test_a_version_signed_by_its_owners_is_admitted_and_the_next_one_too() -> None:
    assert admit(None, V1).membership.members == tuple(sorted((ALICE, BOB, CAROL)))
    v2 = signed(membership(2, members=tuple(sorted((ALICE, BOB)))), "alice", "bob")
    assert admit(V1, v2).membership.version == 2


def test_short_of_the_owners_threshold_is_refused() -> None:
    assert refused(None, signed(membership(), "alice")) == ReasonCode.MEMBERSHIP_THRESHOLD
    assert refused(V1, signed(membership(2), "bob")) == ReasonCode.MEMBERSHIP_THRESHOLD


def test_a_non_owner_can_neither_sign_nor_count() -> None:
    assert refused(V1, signed(membership(2), "carol")) == ReasonCode.NOT_AN_OWNER
    assert refused(V1, signed(membership(2), "carol", "alice")) == ReasonCode.MEMBERSHIP_THRESHOLD
    # Mallory makes herself owner of a new version: the current owners never signed it.
    grab = membership(2, owners=(MALLORY,), threshold=1, members=tuple(sorted((ALICE, MALLORY))))
    assert refused(V1, signed(grab, "mallory")) == ReasonCode.NOT_AN_OWNER


def test_a_new_owner_set_needs_the_new_owners_too() -> None:
    handover = membership(2, owners=tuple(sorted((ALICE, CAROL))))
    assert refused(V1, signed(handover, "alice", "bob")) == ReasonCode.MEMBERSHIP_THRESHOLD
    assert admit(V1, signed(handover, "alice", "bob", "carol")).membership.version == 2


def test_rollback_fork_expiry_and_strangers_are_refused() -> None:
    v2 = signed(membership(2), "alice", "bob")
    assert refused(v2, V1) == ReasonCode.MEMBERSHIP_ROLLBACK
    fork = signed(membership(name="Another JIT"), "alice", "bob")
    assert refused(V1, fork) == ReasonCode.CHANNEL_CONFLICT  # another founding
    v2_other = signed(membership(2, name="Another JIT"), "alice", "bob")
    assert refused(v2, v2_other) == ReasonCode.MEMBERSHIP_FORK
    assert refused(None, V1, now=NOW_MS + 31 * DAY) == ReasonCode.MEMBERSHIP_EXPIRED
    stranger = AgencyId("fr.douane.leh")
    outsider = membership(2, members=tuple(sorted((ALICE, BOB, stranger))))
    assert refused(V1, signed(outsider, "alice", "bob")) == ReasonCode.NOT_A_MEMBER
    other = membership(2, channel=ChannelId("jit.other"))
    assert refused(V1, signed(other, "alice", "bob")) == ReasonCode.MEMBERSHIP_MISMATCH


def mallorys_own(version: int, kind: ChannelKind = ChannelKind.JIT) -> bytes:
    """Mallory's own founding of the JIT's id (sole owner), and a version of it."""
    own = membership(
        owners=(MALLORY,),
        threshold=1,
        kind=kind,
        members=tuple(sorted((ALICE, BOB, CAROL, MALLORY))),
    )
    if version == 1:
        return signed(own, "mallory")
    later = membership(
        version,
        owners=(MALLORY,),
        threshold=1,
        kind=kind,
        members=own.members,
        founding=founding_digest(own.to_bytes()),
    )
    return signed(later, "mallory")


def test_a_node_holding_nothing_takes_a_channel_only_from_its_founding() -> None:
    # Mallory's "version 1000", herself sole owner: no version 1, no channel.
    assert refused(None, mallorys_own(1000)) == ReasonCode.CHANNEL_UNFOUNDED
    assert refused(None, signed(membership(2), "alice", "bob")) == ReasonCode.CHANNEL_UNFOUNDED


def test_another_founding_under_the_same_id_is_a_conflict_at_any_version() -> None:
    v2 = signed(membership(2), "alice", "bob")
    assert refused(V1, mallorys_own(1)) == ReasonCode.CHANNEL_CONFLICT
    assert refused(V1, mallorys_own(1000)) == ReasonCode.CHANNEL_CONFLICT
    assert refused(v2, mallorys_own(1000)) == ReasonCode.CHANNEL_CONFLICT
    # Copying the genuine founding does not help: the owners did not sign it.
    everyone = tuple(sorted((ALICE, BOB, MALLORY)))
    copied = membership(1000, owners=(MALLORY,), threshold=1, members=everyone)
    assert refused(V1, signed(copied, "mallory")) == ReasonCode.NOT_AN_OWNER
    # A programme channel under the JIT's id: another kind.
    assert refused(V1, mallorys_own(1, ChannelKind.PROGRAMME)) == ReasonCode.MEMBERSHIP_MISMATCH


def test_an_older_version_that_contradicts_the_chain_held_is_refused_not_skipped() -> None:
    v2 = parse_membership(signed(membership(2), "alice", "bob"))
    genuine = parse_membership(V1)
    check_known(v2, genuine, genuine.signed)  # the one held: nothing to do
    check_known(v2, genuine, None)  # older, same founding, not held: nothing to do
    with pytest.raises(BalizaError) as caught:
        check_known(v2, parse_membership(mallorys_own(1)), genuine.signed)
    assert caught.value.reason == ReasonCode.CHANNEL_CONFLICT
    v3 = parse_membership(signed(membership(3), "alice", "bob"))
    other_v2 = parse_membership(signed(membership(2, name="Another JIT"), "alice", "bob"))
    with pytest.raises(BalizaError) as caught:
        check_known(v3, other_v2, v2.signed)
    assert caught.value.reason == ReasonCode.MEMBERSHIP_FORK


def test_a_signature_moved_onto_other_bytes_does_not_count() -> None:
    genuine = parse_membership(V1)
    wider = membership(members=tuple(sorted((ALICE, BOB, CAROL, MALLORY))))
    transplanted = SignedMembership(signed=wider.to_bytes(), signatures=genuine.signatures)
    assert refused(None, transplanted.to_bytes()) == ReasonCode.MEMBERSHIP_THRESHOLD


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"members": (ALICE,)}, "members"),  # owner Bob is not a member
        ({"threshold": 3}, "threshold"),
        ({"members": (BOB, ALICE)}, "members"),  # not sorted
        ({"expires_ms": NOW_MS}, "expires_ms"),
        ({"founding": bytes(32)}, "founding"),  # version 1 is the founding itself
        ({"version": 2, "founding": None}, "founding"),  # a later version names its founding
        ({"version": 2, "founding": bytes(31)}, "founding"),
    ],
)
def test_malformed_memberships_name_the_field(changes: dict[str, Any], path: str) -> None:
    with pytest.raises(InputError) as caught:
        membership(**changes)
    assert caught.value.path == path


def test_canonical_round_trip() -> None:
    document = parse_membership(V1)
    assert document.to_bytes() == V1
    assert Membership.from_bytes(document.signed) == membership()
