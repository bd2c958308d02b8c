"""Sealing and opening: round trips, and every attack refused with its reason code."""

from __future__ import annotations

import dataclasses

import pytest
from crypto_support import (
    HANDLING,
    NOW_MS,
    PLAINTEXT,
    edit_header,
    eid,
    keys,
    public,
    rebuild,
    sealed,
    split_view,
)

from baliza.crypto import (
    AgencyKeys,
    Suite,
    open_bytes,
    seal_bytes,
    verify_envelope,
)
from baliza.protocol.envelope import Envelope, KeyEntry, MessageKind, parse_envelope
from baliza.protocol.errors import (
    BalizaError,
    InputError,
    ReasonCode,
    TrustError,
    UsageError,
)
from baliza.protocol.ids import ChannelId, KeyId

SUITES = [Suite.HYBRID, Suite.CLASSIC]


def refused(
    reason: ReasonCode,
    envelope: Envelope,
    recipient: str = "bob",
    sender: str = "alice",
    suite: Suite = Suite.HYBRID,
) -> BalizaError:
    """Open ``envelope`` as ``recipient`` and check it is refused for ``reason``."""
    with pytest.raises(BalizaError) as info:
        open_bytes(
            parse_envelope(envelope.raw),
            recipient=keys(recipient, suite),
            sender=public(sender, suite),
        )
    assert info.value.reason == reason, info.value
    return info.value


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("suite", SUITES)
def test_every_recipient_reads_the_same_plaintext(suite: Suite) -> None:
    envelope = sealed(suite, to=("bob", "carol", "alice"))
    received = parse_envelope(envelope.raw)
    for name in ("bob", "carol", "alice"):
        got = open_bytes(received, recipient=keys(name, suite), sender=public("alice", suite))
        assert got == PLAINTEXT
    header = received.header
    assert header.recipients == ("co.polfa.ctg", "es.aduanas.alg", "nl.douane.rtm")
    assert header.suite == suite.value
    assert header.sender_key == public("alice", suite).signing_key_id
    assert set(received.signatures) == (
        {"ed25519", "ml-dsa-65"} if suite is Suite.HYBRID else {"ed25519"}
    )
    kids = [k.kid for k in received.keys]
    assert kids == sorted(kids) and len(kids) == 3


def test_plaintext_does_not_appear_in_the_envelope() -> None:
    envelope = sealed(Suite.CLASSIC)
    assert b"cocaine" not in envelope.raw


def test_the_same_key_twice_is_wrapped_once() -> None:
    envelope = sealed(to=("bob", "bob"))
    assert len(envelope.keys) == 1


def test_channel_envelope_lists_no_agencies() -> None:
    envelope = seal_bytes(
        PLAINTEXT,
        kind=MessageKind.CASE,
        sender=keys("alice"),
        recipients=[public("bob"), public("carol")],
        handling=HANDLING,
        envelope_id=eid(),
        created_ms=NOW_MS,
        channel=ChannelId("jit.co-es-2026-01"),
        membership_version=3,
    )
    assert envelope.header.recipients == ()
    assert open_bytes(envelope, recipient=keys("carol"), sender=public("alice")) == PLAINTEXT
    refused(ReasonCode.NOT_A_RECIPIENT, envelope, recipient="mallory")


def test_content_keys_and_nonces_are_fresh() -> None:
    a, b = sealed(n=1), sealed(n=1)
    assert a.body != b.body
    assert a.header.key_commitment != b.header.key_commitment


def test_verify_envelope_accepts_without_a_private_key() -> None:
    verify_envelope(sealed(), public("alice"))


# --------------------------------------------------------------------------- sealing refusals


def test_seal_refuses_a_recipient_of_another_suite() -> None:
    with pytest.raises(UsageError) as info:
        seal_bytes(
            PLAINTEXT,
            kind=MessageKind.SEIZURE,
            sender=keys("alice"),
            recipients=[public("bob", Suite.CLASSIC)],
            handling=HANDLING,
            envelope_id=eid(),
            created_ms=NOW_MS,
        )
    assert info.value.reason is ReasonCode.SUITE_MISMATCH


def test_seal_refuses_no_recipients() -> None:
    with pytest.raises(UsageError):
        sealed(to=())


@pytest.mark.parametrize(
    ("created_ms", "reason"),
    [(0, ReasonCode.KEY_NOT_YET_VALID), (2**52, ReasonCode.KEY_EXPIRED)],
)
def test_seal_refuses_keys_outside_their_validity(created_ms: int, reason: ReasonCode) -> None:
    with pytest.raises(TrustError) as info:
        seal_bytes(
            PLAINTEXT,
            kind=MessageKind.SEIZURE,
            sender=keys("alice"),
            recipients=[public("bob")],
            handling=HANDLING,
            envelope_id=eid(),
            created_ms=created_ms,
        )
    assert info.value.reason is reason


# --------------------------------------------------------------------------- attacks


@pytest.mark.parametrize("suite", SUITES)
def test_a_non_recipient_cannot_open(suite: Suite) -> None:
    refused(ReasonCode.NOT_A_RECIPIENT, sealed(suite), recipient="carol", suite=suite)


def test_a_listed_agency_without_a_key_entry_cannot_open() -> None:
    # Carol's agency is listed, but the entry is for her old key: her new one finds nothing.
    envelope = sealed(to=("bob", "carol"))
    newer = AgencyKeys.from_seed(
        "nl.douane.rtm", Suite.HYBRID, b"\x07" * 32, valid_from_ms=0, valid_until_ms=2**50
    )
    with pytest.raises(TrustError) as info:
        open_bytes(envelope, recipient=newer, sender=public("alice"))
    assert info.value.reason is ReasonCode.NOT_A_RECIPIENT


def test_a_key_entry_without_the_agency_in_the_header_is_refused() -> None:
    # Alice adds an entry for Carol's key but does not name Carol: the header is what
    # every recipient sees, so an unlisted reader is refused even with a valid entry.
    envelope = sealed(to=("bob", "carol"))
    header = edit_header(envelope, recipients=("es.aduanas.alg",))
    forged = rebuild(envelope, header=header, signer=keys("alice"))
    refused(ReasonCode.NOT_A_RECIPIENT, forged, recipient="carol")


def test_the_wrong_sender_keys_are_refused() -> None:
    refused(ReasonCode.UNKNOWN_SENDER, sealed(), sender="mallory")


def test_resigned_by_another_agency_breaks_decryption() -> None:
    # Mallory strips Alice's signature, names himself as sender and signs: the header
    # hash changes, so the HPKE info and the body's AAD no longer match.
    envelope = sealed()
    header = edit_header(
        envelope, sender="pa.mallory.unit", sender_key=public("mallory").signing_key_id
    )
    forged = rebuild(envelope, header=header, signer=keys("mallory"))
    refused(ReasonCode.DECRYPT_FAILED, forged, sender="mallory")


def test_resigned_without_changing_the_header_is_refused() -> None:
    envelope = sealed()
    forged = rebuild(envelope, signer=keys("mallory"))
    refused(ReasonCode.BAD_SIGNATURE, forged)  # checked with Alice's keys
    refused(ReasonCode.UNKNOWN_SENDER, forged, sender="mallory")


@pytest.mark.parametrize(
    "changes",
    [
        {"handling": dataclasses.replace(HANDLING, codes=())},
        {"created_ms": NOW_MS + 1},
        {"recipients": ("es.aduanas.alg", "nl.douane.rtm")},
        {"kind": MessageKind.ALERT},
    ],
)
def test_a_header_edited_after_signing_is_refused(changes: dict[str, object]) -> None:
    envelope = sealed()
    refused(ReasonCode.BAD_SIGNATURE, rebuild(envelope, header=edit_header(envelope, **changes)))


def test_a_truncated_body_is_refused() -> None:
    envelope = sealed()
    refused(ReasonCode.BAD_SIGNATURE, rebuild(envelope, body=envelope.body[:-1]))
    # Even signed by the real sender, a truncated ciphertext does not decrypt.
    resigned = rebuild(envelope, body=envelope.body[:-1], signer=keys("alice"))
    refused(ReasonCode.DECRYPT_FAILED, resigned)


def test_truncated_envelope_bytes_are_refused() -> None:
    raw = sealed(Suite.CLASSIC).raw
    for cut in (1, 2, len(raw) // 2, len(raw) - 1):
        with pytest.raises(InputError):
            parse_envelope(raw[:cut])


def test_a_missing_half_of_the_hybrid_signature_is_refused() -> None:
    envelope = sealed()
    for half in ("ed25519", "ml-dsa-65"):
        only = {k: v for k, v in envelope.signatures.items() if k != half}
        refused(ReasonCode.MISSING_SIGNATURE, rebuild(envelope, signatures=only))


def test_an_extra_signature_is_refused() -> None:
    hybrid, classic = sealed(), sealed(Suite.CLASSIC)
    extra = {**classic.signatures, "ml-dsa-65": hybrid.signatures["ml-dsa-65"]}
    refused(
        ReasonCode.UNEXPECTED_SIGNATURE, rebuild(classic, signatures=extra), suite=Suite.CLASSIC
    )


def test_each_half_of_the_hybrid_signature_must_verify() -> None:
    envelope, other = sealed(n=1), sealed(n=2)
    for half in ("ed25519", "ml-dsa-65"):
        mixed = {**envelope.signatures, half: other.signatures[half]}
        refused(ReasonCode.BAD_SIGNATURE, rebuild(envelope, signatures=mixed))


def test_an_unknown_suite_is_refused() -> None:
    envelope = sealed()
    forged = rebuild(
        envelope, header=edit_header(envelope, suite="quantum-v9"), signer=keys("alice")
    )
    refused(ReasonCode.UNKNOWN_SUITE, forged)


def test_a_suite_downgrade_is_refused() -> None:
    # A hybrid envelope relabelled classic: the hybrid sender keys do not match.
    envelope = sealed()
    forged = rebuild(envelope, header=edit_header(envelope, suite="classic-v1"))
    refused(ReasonCode.SUITE_MISMATCH, forged)


def test_a_key_id_not_matching_the_key_is_refused() -> None:
    envelope = sealed()
    forged = rebuild(
        envelope, header=edit_header(envelope, sender_key=KeyId(b"\x01" * 16)), signer=keys("alice")
    )
    refused(ReasonCode.KEY_ID_MISMATCH, forged)


@pytest.mark.parametrize(
    ("window", "reason"),
    [
        ((NOW_MS + 1, NOW_MS + 10), ReasonCode.KEY_NOT_YET_VALID),
        ((0, NOW_MS), ReasonCode.KEY_EXPIRED),
    ],
)
def test_sender_key_validity_must_cover_created_ms(
    window: tuple[int, int], reason: ReasonCode
) -> None:
    from crypto_support import seed_of

    # The same key material with another validity period: same key id, other verdict.
    narrow = AgencyKeys.from_seed(
        "co.polfa.ctg",
        Suite.HYBRID,
        seed_of("alice/hybrid-v1"),
        valid_from_ms=window[0],
        valid_until_ms=window[1],
    ).public()
    assert narrow.signing_key_id == public("alice").signing_key_id
    with pytest.raises(TrustError) as info:
        open_bytes(sealed(), recipient=keys("bob"), sender=narrow)
    assert info.value.reason is reason


def test_unsorted_key_entries_are_refused() -> None:
    envelope = sealed(to=("bob", "carol"))
    forged = rebuild(envelope, keys_=envelope.keys[::-1], signer=keys("alice"))
    refused(ReasonCode.NON_CANONICAL, forged)


def test_swapped_wrapped_keys_do_not_decrypt() -> None:
    envelope = sealed(to=("bob", "carol"))
    a, b = envelope.keys
    swapped = (KeyEntry(kid=a.kid, wrapped=b.wrapped), KeyEntry(kid=b.kid, wrapped=a.wrapped))
    forged = rebuild(envelope, keys_=swapped, signer=keys("alice"))
    refused(ReasonCode.DECRYPT_FAILED, forged)
    refused(ReasonCode.DECRYPT_FAILED, forged, recipient="carol")


def test_a_content_key_that_does_not_match_the_commitment_is_refused() -> None:
    envelope = split_view()
    assert open_bytes(envelope, recipient=keys("bob"), sender=public("alice")) == PLAINTEXT
    refused(ReasonCode.KEY_COMMITMENT_MISMATCH, envelope, recipient="carol")
