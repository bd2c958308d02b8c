"""The directory's trust rules: every attack refused with its reason code, rotation, revocation.

Each test builds real signed documents with real keys and feeds their bytes
to ``TrustedDirectory``, as a node receiving them from a peer would.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from crypto_support import NOW_MS, seed_of
from directory_support import (
    AGENCIES,
    DAY,
    EXPIRES_MS,
    FOUNDERS,
    KEY_FROM_MS,
    KEY_UNTIL_MS,
    admin,
    founded,
    founders,
    make_directory,
    member,
    member_keys,
    record,
    signed,
    with_signatures,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from baliza.crypto import AgencyKeys, Suite, TrustedDirectory, sign_detached
from baliza.crypto.directory import (
    diff,
    directory_fingerprint,
    propose,
    sign_proposal,
    signers,
)
from baliza.crypto.directory_review import utc
from baliza.protocol.canonical import Value, encode
from baliza.protocol.directory import (
    DIRECTORY_CONTEXT,
    DirectorySignature,
    RevocationReason,
    SignedDirectory,
)
from baliza.protocol.errors import BalizaError, InputError, ReasonCode, TrustError
from baliza.protocol.ids import KeyId

SLOW_OK = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def refused(call: object, *args: object, **kwargs: object) -> ReasonCode:
    """Run ``call`` and return the reason code of the ``BalizaError`` it must raise."""
    assert callable(call)
    with pytest.raises(BalizaError) as info:
        call(*args, **kwargs)
    return info.value.reason


# --- Bootstrap: the root of trust is pinned by fingerprint --------------------------------


def test_bootstrap_trusts_a_self_signed_directory_with_the_pinned_fingerprint() -> None:
    first = signed(make_directory(), *founders("alice", "bob"))
    pin = directory_fingerprint(first)
    trusted = TrustedDirectory.bootstrap(first, NOW_MS, fingerprint=pin.lower().replace(" ", ""))
    assert trusted.directory.version == 1
    assert trusted.signed_bytes == first
    assert len(pin.replace(" ", "")) == 32


def test_bootstrap_refuses_another_fingerprint() -> None:
    first = signed(make_directory(), *founders("alice", "bob"))
    other = signed(make_directory(expires_ms=EXPIRES_MS + 1), *founders("alice", "bob"))
    pin = directory_fingerprint(other)
    assert refused(TrustedDirectory.bootstrap, first, NOW_MS, fingerprint=pin) == (
        ReasonCode.DIRECTORY_MISMATCH
    )


@pytest.mark.parametrize(
    ("signer_names", "now_ms", "reason"),
    [
        (("alice",), NOW_MS, ReasonCode.DIRECTORY_THRESHOLD),
        (("mallory",), NOW_MS, ReasonCode.NOT_AN_ADMINISTRATOR),
        ((), NOW_MS, ReasonCode.DIRECTORY_THRESHOLD),
        (("alice", "bob"), EXPIRES_MS, ReasonCode.DIRECTORY_EXPIRED),
    ],
)
def test_bootstrap_refuses_a_directory_its_own_administrators_do_not_carry(
    signer_names: tuple[str, ...], now_ms: int, reason: ReasonCode
) -> None:
    first = signed(make_directory(), *founders(*signer_names))
    pin = directory_fingerprint(first)
    assert refused(TrustedDirectory.bootstrap, first, now_ms, fingerprint=pin) == reason


def test_fingerprint_does_not_change_while_signatures_are_collected() -> None:
    proposal = propose(make_directory())
    once = sign_proposal(proposal, admin("alice"))
    twice = sign_proposal(once, admin("bob"))
    assert directory_fingerprint(proposal) == directory_fingerprint(twice)


# --- Updates: the happy path, and the node's state after a refusal ------------------------


def test_an_update_signed_by_the_threshold_is_accepted() -> None:
    trusted = founded()
    newer = make_directory(2, members=[member(n) for n in (*FOUNDERS, "dave")])
    applied = trusted.update(signed(newer, *founders("alice", "carol")), NOW_MS)
    assert applied == newer
    assert trusted.member(AGENCIES["dave"], now_ms=NOW_MS).name == "Dave agency"


def test_a_refused_update_leaves_the_trusted_version_untouched() -> None:
    trusted = founded()
    before = trusted.signed_bytes
    with pytest.raises(TrustError):
        trusted.update(signed(make_directory(2), admin("alice")), NOW_MS)
    assert trusted.signed_bytes == before


# --- Rollback, replay and forks ----------------------------------------------------------


def test_rollback_to_an_older_version_is_refused() -> None:
    trusted = founded()
    v2 = signed(make_directory(2), *founders("alice", "bob"))
    v3 = signed(make_directory(3), *founders("alice", "bob"))
    trusted.update(v2, NOW_MS)
    trusted.update(v3, NOW_MS)
    assert refused(trusted.update, v2, NOW_MS) == ReasonCode.DIRECTORY_ROLLBACK
    assert trusted.directory.version == 3


def test_replaying_the_trusted_version_is_refused_even_with_other_signatures() -> None:
    trusted = founded()
    v2 = make_directory(2)
    trusted.update(signed(v2, *founders("alice", "bob")), NOW_MS)
    assert refused(trusted.update, trusted.signed_bytes, NOW_MS) == ReasonCode.DIRECTORY_ROLLBACK
    resigned = signed(v2, *founders("bob", "carol"))
    assert refused(trusted.update, resigned, NOW_MS) == ReasonCode.DIRECTORY_ROLLBACK


def test_another_document_with_the_trusted_version_is_a_fork() -> None:
    trusted = founded()
    trusted.update(signed(make_directory(2), *founders("alice", "bob")), NOW_MS)
    fork = signed(make_directory(2, expires_ms=EXPIRES_MS + DAY), *founders("alice", "bob"))
    assert refused(trusted.update, fork, NOW_MS) == ReasonCode.DIRECTORY_MISMATCH


def test_a_directory_of_another_federation_is_refused() -> None:
    trusted = founded()
    other = signed(make_directory(2, federation="baliza-staging"), *founders("alice", "bob"))
    assert refused(trusted.update, other, NOW_MS) == ReasonCode.DIRECTORY_MISMATCH


# --- Freeze: expired directories ---------------------------------------------------------


def test_an_expired_update_is_refused() -> None:
    trusted = founded()
    stale = signed(make_directory(2, expires_ms=NOW_MS), *founders("alice", "bob"))
    assert refused(trusted.update, stale, NOW_MS) == ReasonCode.DIRECTORY_EXPIRED


def test_an_expired_trusted_directory_answers_no_key_question() -> None:
    trusted = founded()
    alice = member_keys("alice").public()
    later = EXPIRES_MS
    assert refused(trusted.check_key, alice.agency, alice.signing_key_id, NOW_MS, now_ms=later) == (
        ReasonCode.DIRECTORY_EXPIRED
    )
    assert refused(trusted.keys_for, alice.agency, NOW_MS, now_ms=later) == (
        ReasonCode.DIRECTORY_EXPIRED
    )
    assert refused(trusted.member, alice.agency, now_ms=later) == ReasonCode.DIRECTORY_EXPIRED
    # The way out of a freeze: a fresh version signed by the administrators.
    fresh = signed(make_directory(2, expires_ms=later + 30 * DAY), *founders("alice", "bob"))
    trusted.update(fresh, later)
    assert trusted.check_key(alice.agency, alice.signing_key_id, NOW_MS, now_ms=later).keys == (
        alice
    )


def test_restore_loads_an_expired_directory_but_refuses_a_damaged_one() -> None:
    stored = founded().signed_bytes
    restored = TrustedDirectory.restore(stored)
    assert refused(restored.check_fresh, EXPIRES_MS) == ReasonCode.DIRECTORY_EXPIRED
    unsigned = propose(make_directory())
    assert refused(TrustedDirectory.restore, unsigned) == ReasonCode.DIRECTORY_THRESHOLD


# --- Thresholds: who counts, and how often -----------------------------------------------


def test_below_the_threshold_is_refused() -> None:
    trusted = founded()
    assert refused(trusted.update, signed(make_directory(2), admin("alice")), NOW_MS) == (
        ReasonCode.DIRECTORY_THRESHOLD
    )


def test_signatures_by_non_administrators_do_not_count() -> None:
    trusted = founded()
    only_mallory = signed(make_directory(2), admin("mallory"))
    assert refused(trusted.update, only_mallory, NOW_MS) == ReasonCode.NOT_AN_ADMINISTRATOR
    with_one_admin = signed(make_directory(2), admin("alice"), admin("mallory"))
    assert refused(trusted.update, with_one_admin, NOW_MS) == ReasonCode.DIRECTORY_THRESHOLD
    # A member's node key is not an administrator key either.
    by_members = signed(make_directory(2), member_keys("alice"), member_keys("bob"))
    assert refused(trusted.update, by_members, NOW_MS) == ReasonCode.NOT_AN_ADMINISTRATOR


def test_the_same_key_signing_twice_counts_once() -> None:
    trusted = founded()
    document = propose(make_directory(2))
    signed_bytes = SignedDirectory.from_bytes(document).signed
    alice, bob = admin("alice"), admin("bob")
    sig = sign_detached(alice, DIRECTORY_CONTEXT, signed_bytes)
    # Signing again replaces the signer's entry: still one vote.
    twice = sign_proposal(sign_proposal(document, alice), alice)
    assert len(SignedDirectory.from_bytes(twice).signatures) == 1
    assert refused(trusted.update, twice, NOW_MS) == ReasonCode.DIRECTORY_THRESHOLD
    # Alice's signature copied under Bob's key id verifies for nobody but Alice.
    entries = sorted(
        [
            DirectorySignature(key_id=alice.public().signing_key_id, sigs=sig),
            DirectorySignature(key_id=bob.public().signing_key_id, sigs=sig),
        ],
        key=lambda e: bytes(e.key_id),
    )
    copied = SignedDirectory(signed=signed_bytes, signatures=tuple(entries)).to_bytes()
    assert refused(trusted.update, copied, NOW_MS) == ReasonCode.DIRECTORY_THRESHOLD
    # Two entries under one key id have no canonical form: refused while parsing.
    wire = SignedDirectory(signed=signed_bytes).to_wire()
    entry: dict[str, Value] = {
        "key_id": bytes(alice.public().signing_key_id),
        "sigs": dict[str, Value](sig),
    }
    wire["signatures"] = [entry, dict(entry)]
    assert refused(trusted.update, encode(wire), NOW_MS) == ReasonCode.DUPLICATE_KEY


def test_two_key_ids_for_one_public_key_count_once() -> None:
    classic, hybrid = admin("alice"), admin("alice", Suite.HYBRID)
    # Same seed, same Ed25519 key, different suites: two key ids, one key holder.
    assert classic.public().signing["ed25519"] == hybrid.public().signing["ed25519"]
    assert classic.public().signing_key_id != hybrid.public().signing_key_id
    # Listing both as administrators would make one holder look like two: refused.
    twice_listed = make_directory(admins=[classic, hybrid, admin("bob")])
    assert refused(propose, twice_listed) == ReasonCode.DUPLICATE_KEY
    # A signature entry under the second key id is not a second vote.
    trusted = founded()
    v2 = propose(make_directory(2))
    both = sign_proposal(sign_proposal(v2, classic), hybrid)
    assert len(SignedDirectory.from_bytes(both).signatures) == 2
    assert refused(trusted.update, both, NOW_MS) == ReasonCode.DIRECTORY_THRESHOLD


@SLOW_OK
@given(
    threshold=st.integers(min_value=1, max_value=3),
    entries=st.dictionaries(
        keys=st.sampled_from(["alice", "bob", "carol", "mallory"]),
        values=st.sampled_from(["alice", "bob", "carol", "mallory"]),
        max_size=4,
    ),
)
def test_an_update_is_accepted_exactly_when_enough_distinct_administrators_signed(
    threshold: int, entries: dict[str, str]
) -> None:
    """Entries map a key id (by owner) to the signature of possibly someone else."""
    trusted = founded(make_directory(threshold=threshold))
    document = SignedDirectory.from_bytes(propose(make_directory(2, threshold=threshold)))
    made = [
        DirectorySignature(
            key_id=admin(owner).public().signing_key_id,
            sigs=sign_detached(admin(signer), DIRECTORY_CONTEXT, document.signed),
        )
        for owner, signer in entries.items()
    ]
    data = SignedDirectory(
        signed=document.signed, signatures=tuple(sorted(made, key=lambda e: bytes(e.key_id)))
    ).to_bytes()
    votes = {o for o, s in entries.items() if o == s and o in FOUNDERS}
    if len(votes) >= threshold:
        assert trusted.update(data, NOW_MS).version == 2
    else:
        with pytest.raises(TrustError) as info:
            trusted.update(data, NOW_MS)
        assert info.value.reason in {
            ReasonCode.DIRECTORY_THRESHOLD,
            ReasonCode.NOT_AN_ADMINISTRATOR,
        }
        assert trusted.directory.version == 1


# --- Administrator changes --------------------------------------------------------------


def test_new_administrators_must_reach_their_own_threshold() -> None:
    trusted = founded()
    takeover = make_directory(2, admins=founders("alice", "dave", "erin"))
    # The current threshold is met (alice, bob), but of the new set only alice signed.
    data = signed(takeover, *founders("alice", "bob"))
    assert refused(trusted.update, data, NOW_MS) == ReasonCode.DIRECTORY_THRESHOLD
    accepted = signed(takeover, *founders("alice", "bob", "dave"))
    assert trusted.update(accepted, NOW_MS).version == 2


def test_raising_the_threshold_needs_the_new_threshold() -> None:
    trusted = founded()
    stricter = make_directory(2, threshold=3)
    assert refused(trusted.update, signed(stricter, *founders("alice", "bob")), NOW_MS) == (
        ReasonCode.DIRECTORY_THRESHOLD
    )
    trusted.update(signed(stricter, *founders("alice", "bob", "carol")), NOW_MS)
    assert trusted.directory.threshold == 3


def test_lowering_the_threshold_still_needs_the_current_one() -> None:
    trusted = founded()
    laxer = make_directory(2, threshold=1)
    assert refused(trusted.update, signed(laxer, admin("alice")), NOW_MS) == (
        ReasonCode.DIRECTORY_THRESHOLD
    )


def test_an_outsider_cannot_make_itself_administrator() -> None:
    trusted = founded()
    grab = make_directory(2, admins=founders("alice", "bob", "mallory"))
    data = signed(grab, admin("alice"), admin("mallory"))
    assert refused(trusted.update, data, NOW_MS) == ReasonCode.DIRECTORY_THRESHOLD


def test_recovery_from_a_lost_administrator_key() -> None:
    trusted = founded()
    # Carol's key is lost: alice and bob replace it with dave's.
    recovered = make_directory(2, admins=founders("alice", "bob", "dave"))
    trusted.update(signed(recovered, *founders("alice", "bob")), NOW_MS)
    # From now on dave counts and carol does not.
    v3 = make_directory(3, admins=founders("alice", "bob", "dave"))
    assert refused(trusted.update, signed(v3, *founders("carol", "alice")), NOW_MS) == (
        ReasonCode.DIRECTORY_THRESHOLD
    )
    assert trusted.update(signed(v3, *founders("bob", "dave")), NOW_MS).version == 3


def test_a_node_far_behind_catches_up_through_the_chain_of_versions() -> None:
    trusted = founded()
    v2 = make_directory(2, admins=founders("bob", "dave", "erin"), expires_ms=NOW_MS + DAY)
    v3 = make_directory(3, admins=founders("bob", "dave", "erin"), expires_ms=NOW_MS + 60 * DAY)
    chain = [signed(v2, *founders("alice", "bob", "dave")), signed(v3, *founders("dave", "erin"))]
    later = NOW_MS + 10 * DAY  # v2 has expired meanwhile
    # v3 alone is not signed by the administrators this node trusts.
    assert refused(trusted.update, chain[1], later) == ReasonCode.NOT_AN_ADMINISTRATOR
    assert refused(trusted.update, chain[0], later) == ReasonCode.DIRECTORY_EXPIRED
    with pytest.raises(TrustError) as info:
        trusted.update_chain([chain[0], chain[0]], later)
    assert (info.value.reason, info.value.path[:3]) == (ReasonCode.DIRECTORY_ROLLBACK, "[1]")
    assert trusted.directory.version == 1
    assert trusted.update_chain(chain, later).version == 3


# --- Mixed and tampered documents -------------------------------------------------------


def test_signatures_of_one_version_do_not_carry_another() -> None:
    trusted = founded()
    v2 = signed(make_directory(2), *founders("alice", "bob"))
    v3 = signed(make_directory(3), *founders("alice", "bob"))
    assert refused(trusted.update, with_signatures(v3, v2), NOW_MS) == (
        ReasonCode.DIRECTORY_THRESHOLD
    )


def test_a_document_spliced_from_two_versions_is_refused() -> None:
    trusted = founded()
    v2 = make_directory(2)
    v3 = make_directory(3, members=[member(n) for n in (*FOUNDERS, "mallory")])
    v2_signed = signed(v2, *founders("alice", "bob"))
    # Version 2's header with version 3's members, carrying version 2's signatures.
    splice = dataclasses.replace(v2, members=v3.members)
    assert refused(trusted.update, with_signatures(propose(splice), v2_signed), NOW_MS) == (
        ReasonCode.DIRECTORY_THRESHOLD
    )
    # One administrator's signature from each version.
    v3_by_bob = signed(v3, admin("bob"))
    alice_v2 = SignedDirectory.from_bytes(signed(v2, admin("alice"))).signatures
    bob_v3 = SignedDirectory.from_bytes(v3_by_bob).signatures
    mixed = SignedDirectory(
        signed=SignedDirectory.from_bytes(v3_by_bob).signed,
        signatures=tuple(sorted((*alice_v2, *bob_v3), key=lambda e: bytes(e.key_id))),
    )
    assert refused(trusted.update, mixed.to_bytes(), NOW_MS) == ReasonCode.DIRECTORY_THRESHOLD


def test_signatures_made_for_another_purpose_do_not_count() -> None:
    trusted = founded()
    document = SignedDirectory.from_bytes(propose(make_directory(2)))
    entries = tuple(
        sorted(
            (
                DirectorySignature(
                    key_id=k.public().signing_key_id,
                    sigs=sign_detached(k, "baliza-fed-request-v1", document.signed),
                )
                for k in founders("alice", "bob")
            ),
            key=lambda e: bytes(e.key_id),
        )
    )
    data = SignedDirectory(signed=document.signed, signatures=entries).to_bytes()
    assert refused(trusted.update, data, NOW_MS) == ReasonCode.DIRECTORY_THRESHOLD


@SLOW_OK
@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_any_tampered_byte_of_the_signed_part_is_refused(position: int, flip: int) -> None:
    trusted = founded()
    document = SignedDirectory.from_bytes(signed(make_directory(2), *founders("alice", "bob")))
    raw = bytearray(document.signed)
    raw[position % len(raw)] ^= flip
    wire = document.to_wire()
    wire["signed"] = bytes(raw)
    with pytest.raises((InputError, TrustError)):
        trusted.update(encode(wire), NOW_MS)
    assert trusted.directory.version == 1


@SLOW_OK
@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_any_tampered_byte_of_the_whole_document_is_refused(position: int, flip: int) -> None:
    trusted = founded()
    data = bytearray(signed(make_directory(2), *founders("alice", "bob")))
    data[position % len(data)] ^= flip
    with pytest.raises(BalizaError):
        trusted.update(bytes(data), NOW_MS)
    assert trusted.directory.version == 1


# --- Consistency rules that need key material -------------------------------------------


def test_a_member_cannot_list_another_agencys_key() -> None:
    stolen = member("mallory", record(member_keys("alice")))
    directory = make_directory(members=[member("alice"), stolen])
    with pytest.raises(InputError) as info:
        propose(directory)
    assert info.value.reason == ReasonCode.INCONSISTENT
    assert info.value.path == "signed.members[1].keys[0].keys.agency"


def test_the_directory_may_shorten_a_key_s_validity_but_never_extend_it() -> None:
    extended = member("alice", record(member_keys("alice"), valid_until_ms=NOW_MS + 900 * DAY))
    assert refused(propose, make_directory(members=[extended])) == ReasonCode.INCONSISTENT


def test_one_key_cannot_be_listed_twice() -> None:
    keys = member_keys("alice")
    # Identical key bytes are refused by the wire rules already.
    with pytest.raises(InputError) as info:
        member("alice", record(keys, valid_until_ms=NOW_MS), record(keys, valid_from_ms=NOW_MS))
    assert info.value.reason == ReasonCode.DUPLICATE_KEY
    # The same key material with another declared period has other bytes: caught by crypto.
    renewed = AgencyKeys.from_seed(
        AGENCIES["alice"],
        Suite.CLASSIC,
        seed_of("directory member alice 1"),
        valid_from_ms=KEY_FROM_MS,
        valid_until_ms=KEY_UNTIL_MS + DAY,
    )
    assert renewed.public().signing == keys.public().signing
    twice = member(
        "alice", record(keys, valid_until_ms=NOW_MS), record(renewed, valid_from_ms=NOW_MS)
    )
    assert refused(propose, make_directory(members=[twice])) == ReasonCode.DUPLICATE_KEY


# --- Key rotation and revocation --------------------------------------------------------

OLD_END = NOW_MS + 5 * DAY
NEW_START = NOW_MS + 2 * DAY


def rotated(revoked_ms: int | None = None) -> TrustedDirectory:
    """Alice rotates: the old key ends at OLD_END, the new one starts at NEW_START."""
    alice = member(
        "alice",
        record(
            member_keys("alice", 1),
            valid_until_ms=OLD_END,
            revoked_ms=revoked_ms,
            reason=None if revoked_ms is None else RevocationReason.KEY_COMPROMISE,
        ),
        record(member_keys("alice", 2), valid_from_ms=NEW_START),
    )
    return founded(make_directory(members=[alice, member("bob"), member("carol")]))


def test_rotation_keeps_the_old_key_verifiable_for_what_it_signed_before_its_end() -> None:
    trusted = rotated()
    agency = AGENCIES["alice"]
    old = member_keys("alice", 1).public()
    new = member_keys("alice", 2).public()
    during = NOW_MS + 3 * DAY
    assert not trusted.check_key(
        agency, old.signing_key_id, OLD_END - 1, now_ms=during
    ).since_revoked
    assert trusted.check_key(agency, new.signing_key_id, during, now_ms=during).keys.valid_until_ms
    assert refused(trusted.check_key, agency, old.signing_key_id, OLD_END, now_ms=during) == (
        ReasonCode.KEY_EXPIRED
    )
    assert refused(trusted.check_key, agency, new.signing_key_id, NOW_MS, now_ms=during) == (
        ReasonCode.KEY_NOT_YET_VALID
    )
    # Senders move to the new key as soon as it starts.
    assert trusted.keys_for(agency, NOW_MS, now_ms=during).signing_key_id == old.signing_key_id
    assert trusted.keys_for(agency, during, now_ms=during).signing_key_id == new.signing_key_id
    # The key returned carries the directory's period, not the one its holder declared.
    checked = trusted.check_key(agency, old.signing_key_id, NOW_MS, now_ms=during).keys
    assert (checked.valid_from_ms, checked.valid_until_ms) == (KEY_FROM_MS, OLD_END)
    assert checked.fingerprint() == old.fingerprint()


def test_revocation_refuses_what_was_signed_from_its_time_and_marks_what_came_before() -> None:
    revoked_at = NOW_MS + DAY
    trusted = rotated(revoked_ms=revoked_at)
    agency = AGENCIES["alice"]
    old = member_keys("alice", 1).public().signing_key_id
    before = trusted.check_key(agency, old, revoked_at - 1, now_ms=NOW_MS + 3 * DAY)
    assert before.since_revoked
    assert before.revocation_reason == RevocationReason.KEY_COMPROMISE
    for created in (revoked_at, revoked_at + 1, OLD_END - 1):
        assert refused(trusted.check_key, agency, old, created, now_ms=NOW_MS + 3 * DAY) == (
            ReasonCode.KEY_REVOKED
        )
    # Between the revocation and the new key's start nobody may seal to Alice's old key.
    gap = revoked_at + 1
    assert refused(trusted.keys_for, agency, gap, now_ms=gap) == ReasonCode.KEY_REVOKED


@SLOW_OK
@given(
    created=st.integers(min_value=KEY_FROM_MS - DAY, max_value=OLD_END + DAY),
    revoked=st.none() | st.integers(min_value=KEY_FROM_MS - DAY, max_value=OLD_END + DAY),
)
def test_check_key_accepts_exactly_inside_the_period_and_before_the_revocation(
    created: int, revoked: int | None
) -> None:
    trusted = rotated(revoked_ms=revoked)
    old = member_keys("alice", 1).public().signing_key_id
    ok = KEY_FROM_MS <= created < OLD_END and (revoked is None or created < revoked)
    if ok:
        key = trusted.check_key(AGENCIES["alice"], old, created, now_ms=NOW_MS)
        assert key.since_revoked == (revoked is not None)
    else:
        with pytest.raises(TrustError) as info:
            trusted.check_key(AGENCIES["alice"], old, created, now_ms=NOW_MS)
        assert info.value.reason in {
            ReasonCode.KEY_REVOKED,
            ReasonCode.KEY_EXPIRED,
            ReasonCode.KEY_NOT_YET_VALID,
        }
        if revoked is not None and created >= revoked:
            assert info.value.reason == ReasonCode.KEY_REVOKED


def test_unknown_agencies_and_keys_are_refused() -> None:
    trusted = founded()
    bob = member_keys("bob").public().signing_key_id
    assert refused(trusted.check_key, AGENCIES["mallory"], bob, NOW_MS, now_ms=NOW_MS) == (
        ReasonCode.UNKNOWN_SENDER
    )
    assert refused(trusted.check_key, AGENCIES["alice"], bob, NOW_MS, now_ms=NOW_MS) == (
        ReasonCode.UNKNOWN_KEY
    )
    assert refused(trusted.keys_for, AGENCIES["mallory"], NOW_MS, now_ms=NOW_MS) == (
        ReasonCode.NOT_A_MEMBER
    )
    assert refused(trusted.check_key, "co.polfa.ctg", KeyId(bytes(16)), NOW_MS, now_ms=NOW_MS) == (
        ReasonCode.UNKNOWN_KEY
    )


def test_a_revocation_is_never_withdrawn_nor_postponed() -> None:
    revoked_at = NOW_MS + DAY
    trusted = rotated(revoked_ms=revoked_at)
    current = trusted.directory
    alice = current.members[0]
    assert alice.agency == AGENCIES["alice"]

    def with_old_key(**changes: object) -> bytes:
        old = dataclasses.replace(alice.keys[0], **changes)  # type: ignore[arg-type]
        edited = dataclasses.replace(alice, keys=(old, alice.keys[1]))
        members = (edited, *current.members[1:])
        return signed(
            dataclasses.replace(current, version=current.version + 1, members=members),
            *founders("alice", "bob"),
        )

    withdrawn = with_old_key(revoked_ms=None, revocation_reason=None)
    assert refused(trusted.update, withdrawn, NOW_MS) == ReasonCode.REVOCATION_WITHDRAWN
    postponed = with_old_key(revoked_ms=revoked_at + 1)
    assert refused(trusted.update, postponed, NOW_MS) == ReasonCode.REVOCATION_WITHDRAWN
    earlier = with_old_key(revoked_ms=revoked_at - DAY)
    assert trusted.update(earlier, NOW_MS).version == 2


# --- Administrators' tools --------------------------------------------------------------


def test_proposals_are_signed_offline_in_turn_as_files() -> None:
    proposal = propose(make_directory())
    assert SignedDirectory.from_bytes(proposal).signatures == ()
    by_alice = sign_proposal(proposal, admin("alice"))
    by_both = sign_proposal(by_alice, admin("bob"))
    administrators = founded().administrators()
    assert {k.agency for k in signers(by_both, administrators)} == {
        AGENCIES["alice"],
        AGENCIES["bob"],
    }
    assert signers(proposal, administrators) == ()


def test_a_malformed_proposal_is_not_signed() -> None:
    assert refused(sign_proposal, b"\x81\xa1v\x01", admin("alice")) in {
        ReasonCode.MISSING_FIELD,
        ReasonCode.NON_CANONICAL,
    }


def test_diff_names_every_change_an_administrator_must_see() -> None:
    old = make_directory()
    alice_rotated = member(
        "alice",
        record(member_keys("alice", 1), valid_until_ms=OLD_END),
        record(member_keys("alice", 2), valid_from_ms=NEW_START),
    )
    bob_revoked = member(
        "bob",
        record(member_keys("bob"), revoked_ms=NOW_MS + DAY, reason=RevocationReason.KEY_COMPROMISE),
    )
    new = make_directory(
        2,
        admins=founders("alice", "bob", "dave"),
        threshold=3,
        members=[alice_rotated, bob_revoked, member("dave")],
    )
    lines = diff(old, new)
    text = "\n".join(lines)
    dave_admin = admin("dave").public().fingerprint()
    carol_admin = admin("carol").public().fingerprint()
    assert "version 1 → 2" in lines
    assert "threshold 2 → 3 administrator signatures" in lines
    assert f"ADMINISTRATOR ADDED: {AGENCIES['dave']} {dave_admin}" in lines
    assert f"administrator removed: {AGENCIES['carol']} {carol_admin}" in lines
    assert f"member removed: {AGENCIES['carol']} (Carol agency)" in lines
    assert f"member added: {AGENCIES['dave']} (Dave agency, DE)" in text
    assert (
        f"key rotated: {AGENCIES['alice']} new {member_keys('alice', 2).public().fingerprint()}"
        in text
    )
    assert f"key validity changed: {AGENCIES['alice']}" in text
    assert f"KEY REVOKED: {AGENCIES['bob']} {member_keys('bob').public().fingerprint()}" in text
    assert "(key_compromise)" in text
    assert diff(old, old) == []


@given(st.integers(min_value=0, max_value=2**53 - 1))
def test_utc_matches_the_calendar(time_ms: int) -> None:
    if time_ms // 1000 < 253_402_300_800:  # datetime stops at year 9999
        moment = datetime.fromtimestamp(time_ms // 1000, tz=UTC)
        assert utc(time_ms) == moment.strftime("%Y-%m-%dT%H:%M:%SZ")
