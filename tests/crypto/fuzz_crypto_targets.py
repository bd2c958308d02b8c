"""One-input fuzz targets for the decoders behind the trust rules, and their seeds.

Like ``tests/protocol/fuzz_targets.py`` one level up: each target takes any
bytes and returns or raises a ``BalizaError`` with a reason code. These go
past the shape of a message into what a node does with it: verify and open
an envelope with real keys, parse a public key set, verify a request
signature header, apply a directory update to a trusted directory.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

from crypto_support import NOW_MS, keys, public, sealed
from directory_support import FOUNDERS, founders, make_directory, signed

from baliza.crypto import PublicKeys, Suite, TrustedDirectory, open_envelope
from baliza.crypto.signing import sign_request, verify_request_signature
from baliza.protocol.envelope import parse_envelope
from baliza.protocol.errors import BalizaError
from baliza.protocol.federation import SignedRequest, parse_signature_header, signature_header
from baliza.protocol.ids import AgencyId

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "protocol"))

from fuzz_targets import Target, seeds

VECTORS = Path(__file__).resolve().parents[2] / "protocol" / "vectors"
REQUEST = SignedRequest.for_body(
    method="POST",
    path="/fed/v1/inbox",
    origin=AgencyId("co.polfa.ctg"),
    destination=AgencyId("es.aduanas.alg"),
    time_ms=NOW_MS,
    body=b"\x81\xa9envelopes\x91\xc4\x01\x00",
).signing_bytes()


def opened(data: bytes) -> None:
    """Parse, verify and open an envelope as Bob, from Alice, in both suites."""
    envelope = parse_envelope(data)
    suite = Suite.CLASSIC if envelope.header.suite == Suite.CLASSIC.value else Suite.HYBRID
    open_envelope(envelope, recipient=keys("bob", suite), sender=public("alice", suite))


def public_keys(data: bytes) -> None:
    """A public key set (chapter 02 §3), back to the same bytes."""
    assert PublicKeys.from_bytes(data).to_bytes() == data


def request_signature(data: bytes) -> None:
    """A ``Baliza-Signature`` header value (latin-1, as HTTP carries it) checked with keys."""
    signature = parse_signature_header(data.decode("latin-1"))
    try:
        verify_request_signature(public("alice", Suite.CLASSIC), REQUEST, signature)
    except BalizaError:
        verify_request_signature(public("alice", Suite.HYBRID), REQUEST, signature)


def directory_update(data: bytes) -> None:
    """A candidate directory version applied to a node that trusts version 1."""
    TrustedDirectory.restore(_first_version()).update(data, NOW_MS)


@functools.cache
def _first_version() -> bytes:
    return signed(make_directory(), *founders(*FOUNDERS))


CRYPTO_TARGETS: dict[str, Target] = {
    "open": opened,
    "public_keys": public_keys,
    "request_signature": request_signature,
    "directory_update": directory_update,
}


@functools.cache
def crypto_seeds(name: str) -> tuple[bytes, ...]:
    """Valid inputs of target ``name`` (and the refused envelope vectors)."""
    if name == "open":
        fresh = [sealed(suite, to=("bob",)).raw for suite in Suite]
        return (*fresh, *seeds("envelope"))
    if name == "public_keys":
        data = json.loads((VECTORS / "envelopes.json").read_text(encoding="utf-8"))
        return tuple(bytes.fromhex(v["public_keys"]) for v in data["keys"].values())
    if name == "request_signature":
        return tuple(
            signature_header(sign_request(keys("alice", suite), REQUEST)).encode("latin-1")
            for suite in Suite
        )
    if name == "directory_update":
        return (signed(make_directory(2), *founders(*FOUNDERS)),)
    raise KeyError(name)
