"""Detached signatures: signed documents and node-to-node request signatures.

A detached signature is a signature map (one entry per algorithm of the
signer's suite, all required) over ``PAE("baliza-detached-v1 " + context,
message)``. The context names what is signed (``baliza-directory-v1``, ...),
so a signature made for one purpose never verifies for another, nor as an
envelope signature, whose type differs.

A request signature is the one exception to "every algorithm of the suite":
one Ed25519 signature (``REQUEST_SIGNATURE``) over
``PAE("baliza-fed-request-v2", message)``, because it protects only the
present (docs/threat-model.md, "Request authentication"). Its type is neither
a detached type nor the envelope type, so the Ed25519 half of a detached or
envelope signature never verifies as a request signature, nor the reverse.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from baliza.crypto._domain import SIG_REQUEST, detached_type
from baliza.crypto.keys import AgencyKeys, PublicKeys
from baliza.protocol.errors import BalizaError, ReasonCode, TrustError, UsageError
from baliza.protocol.ids import KeyId


def sign_detached(keys: AgencyKeys, context: str, message: bytes) -> dict[str, bytes]:
    """Sign ``message`` for ``context``; returns ``{algorithm: signature}``.

    ML-DSA signatures are randomised: signing twice gives different bytes, so
    never use a signature as an identifier.
    """
    return keys.sign_pae(detached_type(context), message)


def verify_detached(
    public: PublicKeys, context: str, message: bytes, signatures: Mapping[str, bytes]
) -> None:
    """Return if ``signatures`` are valid over ``message`` for ``context``; raise otherwise.

    Raises ``TrustError`` with ``MISSING_SIGNATURE`` (an algorithm of the
    suite is absent), ``UNEXPECTED_SIGNATURE`` (an algorithm the suite does not
    have is present) or ``BAD_SIGNATURE``. Key validity is the caller's to
    check with ``PublicKeys.check_valid_at``, because only it knows which time
    the signature claims.
    """
    public.verify_pae(detached_type(context), message, signatures)


def sign_request(keys: AgencyKeys, message: bytes) -> bytes:
    """Sign a node-to-node request's ``signing_bytes`` (64 bytes, deterministic)."""
    return keys.sign_request_pae(SIG_REQUEST, message)


def verify_request_signature(public: PublicKeys, message: bytes, signature: bytes) -> None:
    """Return if ``signature`` is ``public``'s request signature over ``message``; raise otherwise.

    Raises ``TrustError(BAD_SIGNATURE)``. Key validity is the caller's to check.
    """
    public.verify_request_pae(SIG_REQUEST, message, signature)


def verify_threshold(
    signers: Sequence[PublicKeys],
    context: str,
    message: bytes,
    signatures: Mapping[KeyId, Mapping[str, bytes]],
    threshold: int,
) -> tuple[PublicKeys, ...]:
    """The distinct signers whose signature over ``message`` verifies; at least ``threshold``.

    ``signatures`` maps a signing key id to its signature map. Signatures that
    do not verify, or whose key is not among ``signers``, are not counted (an
    administrator who left may still sign). Signers are counted by public key
    material, not by key id or agency: a key listed twice, or two key sets
    that share any public key, count once, so one key holder can never meet a
    threshold of two. Raises ``TrustError(DIRECTORY_THRESHOLD)`` when fewer
    than ``threshold`` distinct signers verify.
    """
    if threshold < 1:
        raise UsageError(ReasonCode.OUT_OF_RANGE, "a threshold is at least 1", path="threshold")
    type_ = detached_type(context)
    seen: set[bytes] = set()
    counted: list[PublicKeys] = []
    for public in signers:
        sigs = signatures.get(public.signing_key_id)
        material = set(public.signing.values())
        if sigs is None or material & seen:
            continue
        try:
            public.verify_pae(type_, message, sigs)
        except BalizaError:
            continue
        seen |= material
        counted.append(public)
    if len(counted) < threshold:
        raise TrustError(
            ReasonCode.DIRECTORY_THRESHOLD,
            f"{len(counted)} distinct valid signatures, {threshold} required",
        )
    return tuple(counted)
