"""The directory's wire form: one canonical encoding, strict fields, errors with paths.

Key sets are opaque here, so these tests use small stand-in maps; the crypto
tests use real keys.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baliza.protocol.canonical import Value, encode
from baliza.protocol.directory import (
    Directory,
    DirectorySignature,
    KeyRecord,
    Member,
    PublicKeysWire,
    RevocationReason,
    SignedDirectory,
)
from baliza.protocol.errors import InputError, ReasonCode, VersionError
from baliza.protocol.ids import AgencyId, KeyId
from baliza.protocol.notices import Programme

T0 = 1_767_225_600_000


def keys(n: int) -> PublicKeysWire:
    return PublicKeysWire.from_wire({"stand-in": n}, "keys")


def record(n: int, **changes: object) -> KeyRecord:
    base = KeyRecord(keys=keys(n), valid_from_ms=T0, valid_until_ms=T0 + 1000)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def member(agency: str = "co.polfa.ctg", **changes: object) -> Member:
    base = Member(
        agency=AgencyId(agency),
        name="Policía Fiscal y Aduanera",
        country=agency[:2].upper(),
        node_url="https://baliza.polfa.example/",
        programmes=(Programme.AIRCOP, Programme.CCP),
        keys=(record(1 if agency.startswith("co") else 2),),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def directory(**changes: object) -> Directory:
    base = Directory(
        federation="baliza-test",
        version=1,
        issued_ms=T0,
        expires_ms=T0 + 86_400_000,
        threshold=2,
        administrators=(keys(10), keys(11), keys(12)),
        members=(member(), member("es.aduanas.alg")),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def reason_path(call: object, *args: object, **kwargs: object) -> tuple[ReasonCode, str]:
    assert callable(call)
    with pytest.raises(InputError) as info:
        call(*args, **kwargs)
    return info.value.reason, info.value.path


def test_round_trip_through_bytes() -> None:
    d = directory(
        members=(
            member(
                keys=(record(1, revoked_ms=T0 + 5, revocation_reason=RevocationReason.SUPERSEDED),)
            ),
            member("es.aduanas.alg"),
        )
    )
    signed = SignedDirectory(
        signed=d.to_bytes(),
        signatures=(DirectorySignature(key_id=KeyId(bytes(16)), sigs={"ed25519": b"s" * 64}),),
    )
    again = SignedDirectory.from_bytes(signed.to_bytes())
    assert again == signed
    assert again.directory == d
    assert Directory.from_bytes(d.to_bytes()) == d


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"members": (member("es.aduanas.alg"), member())}, (ReasonCode.NON_CANONICAL, "members")),
        ({"members": (member(), member())}, (ReasonCode.DUPLICATE_KEY, "members")),
        ({"administrators": (keys(11), keys(10))}, (ReasonCode.NON_CANONICAL, "administrators")),
        ({"administrators": (keys(10), keys(10))}, (ReasonCode.DUPLICATE_KEY, "administrators")),
        ({"threshold": 4}, (ReasonCode.INCONSISTENT, "threshold")),
        ({"threshold": 0}, (ReasonCode.INCONSISTENT, "threshold")),
        ({"version": 0}, (ReasonCode.OUT_OF_RANGE, "version")),
        ({"expires_ms": T0}, (ReasonCode.INCONSISTENT, "expires_ms")),
        ({"federation": "Baliza Test"}, (ReasonCode.BAD_FORMAT, "federation")),
        ({"members": ()}, (ReasonCode.BAD_LENGTH, "members")),
    ],
)
def test_directory_construction_refuses(
    changes: dict[str, object], expected: tuple[ReasonCode, str]
) -> None:
    assert reason_path(directory, **changes) == expected


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"country": "ES"}, (ReasonCode.INCONSISTENT, "country")),
        ({"country": "XX"}, (ReasonCode.BAD_COUNTRY, "country")),
        ({"node_url": "ftp://x"}, (ReasonCode.BAD_FORMAT, "node_url")),
        ({"node_url": "https://x/?q=1"}, (ReasonCode.BAD_FORMAT, "node_url")),
        ({"name": "a\nb"}, (ReasonCode.BAD_FORMAT, "name")),
        (
            {"programmes": (Programme.CCP, Programme.AIRCOP)},
            (ReasonCode.NON_CANONICAL, "programmes"),
        ),
        ({"keys": ()}, (ReasonCode.BAD_LENGTH, "keys")),
        ({"keys": (record(1), record(1))}, (ReasonCode.DUPLICATE_KEY, "keys")),
        (
            {"keys": (record(2, valid_from_ms=T0 + 1), record(1, valid_until_ms=T0 + 2000))},
            (ReasonCode.NON_CANONICAL, "keys"),
        ),
    ],
)
def test_member_construction_refuses(
    changes: dict[str, object], expected: tuple[ReasonCode, str]
) -> None:
    assert reason_path(member, **changes) == expected


def test_key_records_refuse_a_reason_without_a_time_and_an_empty_period() -> None:
    assert reason_path(record, 1, revocation_reason=RevocationReason.KEY_COMPROMISE) == (
        ReasonCode.INCONSISTENT,
        "revocation_reason",
    )
    assert reason_path(record, 1, valid_until_ms=T0) == (ReasonCode.INCONSISTENT, "valid_until_ms")


def test_decoding_names_the_field_at_fault() -> None:
    wire = directory().to_wire()
    members = wire["members"]
    assert isinstance(members, list)
    first = members[0]
    assert isinstance(first, dict)
    first["nickname"] = "x"
    assert reason_path(Directory.from_bytes, encode(wire)) == (
        ReasonCode.UNKNOWN_FIELD,
        "members[0].nickname",
    )
    del first["nickname"]
    first["country"] = "ES"
    assert reason_path(Directory.from_bytes, encode(wire)) == (
        ReasonCode.INCONSISTENT,
        "members[0].country",
    )


def test_signed_directory_refuses_duplicate_and_unsorted_signature_entries() -> None:
    signed = directory().to_bytes()
    one = {"key_id": bytes(16), "sigs": {"ed25519": b"s" * 64}}
    two = {"key_id": b"\x01" * 16, "sigs": {"ed25519": b"s" * 64}}
    for entries, reason in (
        ([one, one], ReasonCode.DUPLICATE_KEY),
        ([two, one], ReasonCode.NON_CANONICAL),
    ):
        data = encode({"v": 1, "signed": signed, "signatures": entries})
        assert reason_path(SignedDirectory.from_bytes, data) == (reason, "signatures")


def test_the_signed_part_must_itself_be_a_valid_directory() -> None:
    wire = directory().to_wire()
    wire["threshold"] = 9
    data = encode({"v": 1, "signed": encode(wire)})
    assert reason_path(SignedDirectory.from_bytes, data) == (
        ReasonCode.INCONSISTENT,
        "signed.threshold",
    )


def test_an_unknown_directory_version_is_a_version_error() -> None:
    wire: dict[str, Value] = {"v": 2, "signed": directory().to_bytes()}
    with pytest.raises(VersionError):
        SignedDirectory.from_bytes(encode(wire))


def test_with_signature_replaces_the_entry_of_the_same_key() -> None:
    base = SignedDirectory(signed=directory().to_bytes())
    kid = KeyId(b"\x05" * 16)
    once = base.with_signature(DirectorySignature(key_id=kid, sigs={"ed25519": b"a"}))
    twice = once.with_signature(DirectorySignature(key_id=kid, sigs={"ed25519": b"b"}))
    other = twice.with_signature(
        DirectorySignature(key_id=KeyId(bytes(16)), sigs={"ed25519": b"c"})
    )
    assert [dict(s.sigs) for s in twice.signatures] == [{"ed25519": b"b"}]
    assert [bytes(s.key_id) for s in other.signatures] == [bytes(16), b"\x05" * 16]


@given(st.binary(max_size=300))
def test_garbage_is_refused_with_an_input_error(data: bytes) -> None:
    with pytest.raises(InputError):
        SignedDirectory.from_bytes(data)
