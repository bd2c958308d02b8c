"""Detached signatures and thresholds."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from crypto_support import keys, public, sealed

from baliza.crypto import Suite, sign_detached, verify_detached, verify_threshold
from baliza.crypto import _primitives as prim
from baliza.crypto._domain import SIG_ENVELOPE, SIG_REQUEST, pae
from baliza.crypto.signing import sign_request, verify_request_signature
from baliza.protocol.errors import ReasonCode, TrustError, UsageError
from baliza.protocol.federation import REQUEST_SCHEME
from baliza.protocol.ids import AgencyId, KeyId

CONTEXT = "baliza-fed-request-v1"


@pytest.mark.parametrize("suite", list(Suite))
def test_detached_signatures_verify(suite: Suite) -> None:
    sigs = sign_detached(keys("alice", suite), CONTEXT, b"POST /fed/v1/inbox")
    verify_detached(public("alice", suite), CONTEXT, b"POST /fed/v1/inbox", sigs)


def test_ml_dsa_signatures_are_randomised_but_both_verify() -> None:
    one = sign_detached(keys("alice"), CONTEXT, b"m")
    two = sign_detached(keys("alice"), CONTEXT, b"m")
    assert one["ml-dsa-65"] != two["ml-dsa-65"]
    verify_detached(public("alice"), CONTEXT, b"m", one)
    verify_detached(public("alice"), CONTEXT, b"m", two)


@pytest.mark.parametrize(
    ("context", "message", "signer"),
    [
        ("baliza-directory-v1", b"m", "alice"),  # another purpose
        (CONTEXT, b"n", "alice"),  # another message
        (CONTEXT, b"m", "bob"),  # another signer
    ],
)
def test_detached_signatures_are_bound_to_context_message_and_key(
    context: str, message: bytes, signer: str
) -> None:
    sigs = sign_detached(keys(signer), context, message)
    with pytest.raises(TrustError) as info:
        verify_detached(public("alice"), CONTEXT, b"m", sigs)
    assert info.value.reason is ReasonCode.BAD_SIGNATURE


def test_an_envelope_signature_is_not_a_detached_signature() -> None:
    envelope = sealed()
    with pytest.raises(TrustError):
        verify_detached(public("alice"), "x", envelope.signed_bytes, envelope.signatures)
    # and the PAE of the two types differ even for the same bytes
    assert pae(SIG_ENVELOPE, b"") != pae("baliza-detached-v1 " + SIG_ENVELOPE, b"")


def test_a_missing_half_is_refused() -> None:
    sigs = sign_detached(keys("alice"), CONTEXT, b"m")
    del sigs["ml-dsa-65"]
    with pytest.raises(TrustError) as info:
        verify_detached(public("alice"), CONTEXT, b"m", sigs)
    assert info.value.reason is ReasonCode.MISSING_SIGNATURE


@pytest.mark.parametrize("context", ["", "Upper", "a b", "x" * 64, "a\x00b"])
def test_bad_contexts_are_refused(context: str) -> None:
    with pytest.raises(UsageError):
        sign_detached(keys("alice"), context, b"m")


def _sigs(names: list[str], message: bytes = b"directory v7") -> dict[KeyId, Mapping[str, bytes]]:
    return {
        public(n).signing_key_id: sign_detached(keys(n), "baliza-directory-v1", message)
        for n in names
    }


def test_a_threshold_counts_valid_signatures_of_listed_signers() -> None:
    admins = [public("alice"), public("bob"), public("carol")]
    sigs = _sigs(["alice", "bob", "mallory"])
    counted = verify_threshold(admins, "baliza-directory-v1", b"directory v7", sigs, 2)
    assert {p.agency for p in counted} == {"co.polfa.ctg", "es.aduanas.alg"}
    with pytest.raises(TrustError) as info:
        verify_threshold(admins, "baliza-directory-v1", b"directory v7", sigs, 3)
    assert info.value.reason is ReasonCode.DIRECTORY_THRESHOLD


def test_a_threshold_ignores_bad_signatures() -> None:
    admins = [public("alice"), public("bob")]
    sigs = {**_sigs(["alice"]), **_sigs(["bob"], b"another directory")}
    with pytest.raises(TrustError):
        verify_threshold(admins, "baliza-directory-v1", b"directory v7", sigs, 2)


def test_a_threshold_counts_one_key_once() -> None:
    # The same key listed twice (even for two agencies) is one signer, not two.
    import dataclasses

    alias = dataclasses.replace(public("alice"), agency=AgencyId("es.aduanas.alg"))
    admins = [public("alice"), alias]
    sigs = _sigs(["alice"])
    with pytest.raises(TrustError) as info:
        verify_threshold(admins, "baliza-directory-v1", b"directory v7", sigs, 2)
    assert info.value.reason is ReasonCode.DIRECTORY_THRESHOLD


# --------------------------------------------------------------------------- request signatures

REQUEST = b"signed map of a request"


@pytest.mark.parametrize("suite", list(Suite))
def test_request_signatures_are_one_deterministic_ed25519_signature(suite: Suite) -> None:
    one = sign_request(keys("alice", suite), REQUEST)
    assert len(one) == 64
    assert one == sign_request(keys("alice", suite), REQUEST)
    verify_request_signature(public("alice", suite), REQUEST, one)


@pytest.mark.parametrize("suite", list(Suite))
def test_request_signature_refuses_another_message_or_key(suite: Suite) -> None:
    sig = sign_request(keys("alice", suite), REQUEST)
    for key, message in ((public("alice", suite), REQUEST + b"."), (public("bob", suite), REQUEST)):
        with pytest.raises(TrustError) as info:
            verify_request_signature(key, message, sig)
        assert info.value.reason is ReasonCode.BAD_SIGNATURE


@pytest.mark.parametrize("suite", list(Suite))
def test_no_half_of_another_signature_type_verifies_as_a_request(suite: Suite) -> None:
    """The v1 request signature, a detached map under the v2 name, an envelope type:
    none of their Ed25519 halves is a request signature over the same bytes."""
    alice = keys("alice", suite)
    halves = [
        sign_detached(alice, "baliza-fed-request-v1", REQUEST)["ed25519"],
        sign_detached(alice, "baliza-fed-request-v2", REQUEST)["ed25519"],
        alice.sign_pae("baliza-envelope-v1", REQUEST)["ed25519"],
    ]
    for half in halves:
        with pytest.raises(TrustError) as info:
            verify_request_signature(public("alice", suite), REQUEST, half)
        assert info.value.reason is ReasonCode.BAD_SIGNATURE


def test_request_signature_is_over_its_own_pae_type() -> None:
    """By hand: Ed25519 over PAE("baliza-fed-request-v2", message), the spec's formula."""
    for suite in Suite:
        sig = sign_request(keys("alice", suite), REQUEST)
        ed25519 = prim.VerifyKey("ed25519", public("alice", suite).signing["ed25519"])
        ed25519.verify(sig, pae("baliza-fed-request-v2", REQUEST), b"")
    assert SIG_REQUEST == REQUEST_SCHEME
