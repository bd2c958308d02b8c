"""One-input fuzz targets for the decoders behind the trust rules, and their seeds.

Like ``tests/protocol/fuzz_targets.py`` one level up: each target takes any
bytes and returns or raises a ``BalizaError`` with a reason code. These go
past the shape of a message into what a node does with it: verify and open
an envelope with real keys, parse a public key set, verify a request
signature map, apply a directory update to a trusted directory.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

from crypto_support import NOW_MS, keys, public, sealed
from directory_support import FOUNDERS, founders, make_directory, signed

from baliza.crypto import PublicKeys, Suite, TrustedDirectory, open_envelope
from baliza.crypto.signing import sign_detached, verify_detached
from baliza.protocol.canonical import Limits, decode, encode
from baliza.protocol.envelope import parse_envelope
from baliza.protocol.federation import REQUEST_CONTEXT, SignedRequest
from baliza.protocol.fields import check_bytes
from baliza.protocol.ids import AgencyId

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "protocol"))

from fuzz_targets import Target, seeds

VECTORS = Path(__file__).resolve().parents[2] / "protocol" / "vectors"
_SIG_LIMITS = Limits(max_size=16 * 1024, max_depth=2, max_items=4, max_bin=8192)
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
    """A request signature map (the decoded ``Baliza-Signature`` header) checked with keys."""
    value = decode(data, _SIG_LIMITS)
    if not isinstance(value, dict):
        return
    signatures = {k: check_bytes(v, k, max_len=8192) for k, v in value.items()}
    suite = Suite.HYBRID if "ml-dsa-65" in signatures else Suite.CLASSIC
    verify_detached(public("alice", suite), REQUEST_CONTEXT, REQUEST, signatures)


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
            encode(sign_detached(keys("alice", suite), REQUEST_CONTEXT, REQUEST)) for suite in Suite
        )
    if name == "directory_update":
        return (signed(make_directory(2), *founders(*FOUNDERS)),)
    raise KeyError(name)
