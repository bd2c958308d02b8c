"""Agency keys: wire form, key ids, fingerprints, private keys at rest."""

from __future__ import annotations

import dataclasses

import pytest
from crypto_support import VALID_FROM_MS, VALID_UNTIL_MS, keys, public, seed_of

from baliza.crypto import AgencyKeys, PublicKeys, Suite, keystore
from baliza.protocol.canonical import decode, encode
from baliza.protocol.errors import InputError, ReasonCode, UsageError, VersionError
from baliza.protocol.ids import AgencyId


@pytest.mark.parametrize("suite", list(Suite))
def test_public_keys_round_trip(suite: Suite) -> None:
    pub = public("alice", suite)
    again = PublicKeys.from_bytes(pub.to_bytes())
    assert again == pub
    assert again.signing_key_id == pub.signing_key_id
    assert again.encryption_key_id == pub.encryption_key_id
    assert again.fingerprint() == pub.fingerprint()
    assert encode(decode(pub.to_bytes())) == pub.to_bytes()


def test_public_key_sizes_follow_the_suite() -> None:
    hybrid = public("alice", Suite.HYBRID)
    assert {k: len(v) for k, v in hybrid.signing.items()} == {"ed25519": 32, "ml-dsa-65": 1952}
    assert {k: len(v) for k, v in hybrid.encryption.items()} == {"ml-kem-768": 1184, "x25519": 32}
    classic = public("alice", Suite.CLASSIC)
    assert set(classic.signing) == {"ed25519"} and set(classic.encryption) == {"x25519"}


def test_key_ids_are_distinct_per_key_and_purpose() -> None:
    ids = set()
    for name in ("alice", "bob"):
        for suite in Suite:
            pub = public(name, suite)
            ids |= {pub.signing_key_id, pub.encryption_key_id}
            assert len(pub.signing_key_id) == 16
    assert len(ids) == 8


def test_key_ids_do_not_depend_on_validity() -> None:
    renewed = AgencyKeys.from_seed(
        "co.polfa.ctg",
        Suite.HYBRID,
        seed_of("alice/hybrid-v1"),
        valid_from_ms=VALID_UNTIL_MS,
        valid_until_ms=VALID_UNTIL_MS + 1,
    ).public()
    assert renewed.signing_key_id == public("alice").signing_key_id
    assert renewed.fingerprint() == public("alice").fingerprint()
    assert renewed != public("alice")


def test_fingerprint_is_readable_and_changes_with_any_key() -> None:
    fp = public("alice").fingerprint()
    groups = fp.split(" ")
    assert len(groups) == 8 and all(len(g) == 4 and g.isalnum() and g.isupper() for g in groups)
    assert fp != public("bob").fingerprint()
    moved = dataclasses.replace(public("alice"), agency=AgencyId("es.aduanas.alg"))
    assert moved.fingerprint() != fp


def test_from_seed_is_deterministic_and_generate_is_not() -> None:
    again = AgencyKeys.from_seed(
        "co.polfa.ctg",
        Suite.HYBRID,
        seed_of("alice/hybrid-v1"),
        valid_from_ms=VALID_FROM_MS,
        valid_until_ms=VALID_UNTIL_MS,
    )
    assert again.public() == public("alice")
    one = AgencyKeys.generate("co.polfa.ctg", valid_from_ms=0, valid_until_ms=1)
    two = AgencyKeys.generate("co.polfa.ctg", valid_from_ms=0, valid_until_ms=1)
    assert one.public() != two.public()
    assert one.suite is Suite.HYBRID


def test_repr_never_shows_secrets() -> None:
    text = repr(keys("alice")) + str(keys("alice"))
    assert seed_of("alice/hybrid-v1").hex() not in text
    assert "co.polfa.ctg" in text


def _wire(**changes: object) -> dict[str, object]:
    wire: dict[str, object] = dict(public("alice").to_wire())
    wire.update(changes)
    return wire


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        (_wire(suite="quantum-v9"), ReasonCode.UNKNOWN_SUITE),
        (_wire(v=2), ReasonCode.UNKNOWN_VERSION),
        (_wire(extra=1), ReasonCode.UNKNOWN_FIELD),
        (_wire(agency="Colombia"), ReasonCode.BAD_AGENCY_ID),
        (_wire(sign={"ed25519": b"\x00" * 32}), ReasonCode.SUITE_MISMATCH),
        (_wire(sign={"ed25519": b"\x00" * 31, "ml-dsa-65": b"\x00" * 1952}), ReasonCode.BAD_KEY),
        (_wire(enc={"x25519": b"\x00" * 32, "ml-kem-768": b"\x00" * 100}), ReasonCode.BAD_KEY),
        (_wire(valid_until_ms=0), ReasonCode.INCONSISTENT),
    ],
)
def test_bad_public_keys_are_refused(wire: dict[str, object], reason: ReasonCode) -> None:
    with pytest.raises(InputError) as info:
        PublicKeys.from_bytes(encode(wire))
    assert info.value.reason is reason


def test_classic_public_keys_cannot_claim_the_hybrid_suite() -> None:
    wire = dict(public("alice", Suite.CLASSIC).to_wire())
    wire["suite"] = "hybrid-v1"
    with pytest.raises(InputError) as info:
        PublicKeys.from_bytes(encode(wire))
    assert info.value.reason is ReasonCode.SUITE_MISMATCH


# --------------------------------------------------------------------------- private keys at rest


@pytest.fixture(scope="module")
def locked() -> bytes:
    return keys("alice").to_encrypted_bytes(b"correct horse battery staple")


def test_private_keys_round_trip_through_a_passphrase(locked: bytes) -> None:
    loaded = AgencyKeys.from_encrypted_bytes(locked, b"correct horse battery staple")
    assert loaded.public() == public("alice")
    assert seed_of("alice/hybrid-v1") not in locked
    fields = decode(locked)
    assert isinstance(fields, dict)
    assert fields["format"] == "baliza-private-keys" and fields["v"] == 1
    assert fields["kdf"] == "argon2id" and fields["m_kib"] == 65536


def test_a_wrong_passphrase_is_refused(locked: bytes) -> None:
    with pytest.raises(UsageError) as info:
        AgencyKeys.from_encrypted_bytes(locked, b"correct horse battery stapler")
    assert info.value.reason is ReasonCode.BAD_PASSPHRASE


def test_a_damaged_key_file_is_refused_like_a_wrong_passphrase(locked: bytes) -> None:
    fields = decode(locked)
    assert isinstance(fields, dict)
    ct = fields["ct"]
    assert isinstance(ct, bytes)
    fields["ct"] = ct[:-1] + bytes([ct[-1] ^ 1])
    with pytest.raises(UsageError) as info:
        AgencyKeys.from_encrypted_bytes(encode(fields), b"correct horse battery staple")
    assert info.value.reason is ReasonCode.BAD_PASSPHRASE


@pytest.mark.parametrize(
    ("changes", "error", "reason"),
    [
        ({"m_kib": 1024}, InputError, ReasonCode.OUT_OF_RANGE),  # weaker than the floor
        ({"t": 1}, InputError, ReasonCode.OUT_OF_RANGE),
        ({"m_kib": 4 * 1024 * 1024}, InputError, ReasonCode.OUT_OF_RANGE),  # a memory bomb
        ({"v": 2}, VersionError, ReasonCode.UNKNOWN_VERSION),
        ({"kdf": "scrypt"}, InputError, ReasonCode.BAD_FORMAT),
    ],
)
def test_key_file_parameters_are_checked_before_deriving(
    locked: bytes, changes: dict[str, object], error: type[Exception], reason: ReasonCode
) -> None:
    fields = decode(locked)
    assert isinstance(fields, dict)
    with pytest.raises(error) as info:
        keystore.unlock(encode({**fields, **changes}), b"correct horse battery staple")
    assert getattr(info.value, "reason", None) is reason


def test_raised_parameters_are_authenticated(locked: bytes) -> None:
    # Lowering t from 3 to 2 stays within bounds but changes the associated data.
    fields = decode(locked)
    assert isinstance(fields, dict)
    with pytest.raises(UsageError) as info:
        keystore.unlock(encode({**fields, "t": 2}), b"correct horse battery staple")
    assert info.value.reason is ReasonCode.BAD_PASSPHRASE


def test_an_empty_passphrase_is_refused() -> None:
    with pytest.raises(UsageError):
        keys("bob", Suite.CLASSIC).to_encrypted_bytes(b"")


def test_public_keys_are_hashable_and_immutable() -> None:
    assert len({public("alice"), public("alice"), public("bob")}) == 2
    signing = public("alice").signing
    with pytest.raises(TypeError):
        signing["ed25519"] = b"\x00" * 32  # type: ignore[index]
