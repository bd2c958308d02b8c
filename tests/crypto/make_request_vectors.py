"""Write protocol/vectors/requests.json: signed node-to-node requests, and refused ones.

Run ``.venv/bin/python tests/crypto/make_request_vectors.py`` from the
repository root. Scheme ``baliza-fed-request-v2`` signs with Ed25519 alone,
which is deterministic, so every byte of the file is reproducible:
``test_crypto_request_vectors.py`` checks that the committed file equals this
script's output, that each accepted request verifies with the origin's public
keys, and that each refused one is refused with its reason code.

Keys are those of protocol/vectors/envelopes.json (``"<name>/<suite>"``).
Each request names its inputs (method, path, origin, destination, time, body),
the intermediate values (``signed_map``, the PAE ``message``), the headers
sent and the signature. A refused entry gives the headers and body a receiver
got, the receiver's agency and clock, the key sets it holds for the origin,
and the reason code it must answer.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from crypto_support import AGENCIES, NOW_MS, keys

from baliza.crypto import AgencyKeys, Suite, sign_detached
from baliza.crypto._domain import SIG_REQUEST, pae
from baliza.node.services.fedauth import signed_headers
from baliza.protocol.canonical import encode
from baliza.protocol.federation import (
    HEADER_SIGNATURE,
    OLD_REQUEST_SCHEME,
    REQUEST_SCHEME,
    SignedRequest,
)
from baliza.protocol.ids import AgencyId

OUT = Path(__file__).resolve().parents[2] / "protocol" / "vectors" / "requests.json"
ALICE = AgencyId(AGENCIES["alice"])
BOB = AgencyId(AGENCIES["bob"])
SKEW_MS = 300_000
BATCH = bytes.fromhex("81a9656e76656c6f70657391c40100")  # {"envelopes": [b"\x00"]}


def accepted(
    name: str, suite: Suite, *, method: str, path: str, body: bytes, time_ms: int = NOW_MS
) -> dict[str, Any]:
    """A request alice's node signs for bob's: inputs, intermediate values, headers."""
    alice = keys("alice", suite)
    request = SignedRequest.for_body(
        method=method, path=path, origin=ALICE, destination=BOB, time_ms=time_ms, body=body
    )
    headers = signed_headers(
        alice, method=method, path=path, destination=BOB, time_ms=time_ms, body=body
    )
    signature = base64.urlsafe_b64decode(headers[HEADER_SIGNATURE].split(" ")[1])
    return {
        "name": name,
        "key": f"alice/{suite.value}",
        "method": method,
        "path": path,
        "origin": ALICE,
        "destination": BOB,
        "time_ms": time_ms,
        "body": body.hex(),
        "body_sha256": request.body_sha256.hex(),
        "signed_map": request.signing_bytes().hex(),
        "message": pae(SIG_REQUEST, request.signing_bytes()).hex(),
        "signature": signature.hex(),
        "headers": headers,
    }


def refused(
    name: str,
    headers: dict[str, str],
    reason: str,
    *,
    body: bytes = BATCH,
    path: str = "/fed/v1/inbox",
    origin_keys: tuple[str, ...] = ("alice/hybrid-v1",),
    blocked: bool = False,
) -> dict[str, Any]:
    """A request bob's node must refuse with ``reason``."""
    return {
        "receiver_blocks_origin": blocked,
        "name": name,
        "method": "POST",
        "path": path,
        "body": body.hex(),
        "headers": headers,
        "receiver": BOB,
        "now_ms": NOW_MS,
        "skew_ms": SKEW_MS,
        "origin_keys": list(origin_keys),
        "reason": reason,
    }


def _signed(keys_: AgencyKeys, body: bytes = BATCH, **over: Any) -> dict[str, str]:
    args: dict[str, Any] = {
        "method": "POST",
        "path": "/fed/v1/inbox",
        "destination": BOB,
        "time_ms": NOW_MS,
        "body": body,
    }
    args.update(over)
    return signed_headers(keys_, **args)


def _v1_headers(keys_: AgencyKeys) -> dict[str, str]:
    """What a node still on scheme v1 sends: a detached signature map, base64url.

    Only a classic-v1 key gives the same bytes on every run (ML-DSA is
    randomised); a hybrid map is refused by the same first check.
    """
    request = SignedRequest.for_body(
        method="POST",
        path="/fed/v1/inbox",
        origin=ALICE,
        destination=BOB,
        time_ms=NOW_MS,
        body=BATCH,
    )
    sigs = sign_detached(keys_, OLD_REQUEST_SCHEME, request.signing_bytes())
    headers = _signed(keys_)
    headers[HEADER_SIGNATURE] = base64.urlsafe_b64encode(encode(dict(sigs))).decode()
    return headers


def build() -> dict[str, Any]:
    """The whole file, as a JSON-ready value."""
    alice = keys("alice", Suite.HYBRID)
    good = _signed(alice)
    sig_bytes = bytearray(base64.urlsafe_b64decode(good[HEADER_SIGNATURE].split(" ")[1]))
    sig_bytes[0] ^= 1
    flipped = {
        **good,
        HEADER_SIGNATURE: f"{REQUEST_SCHEME} {base64.urlsafe_b64encode(bytes(sig_bytes)).decode()}",
    }
    unpadded = {**good, HEADER_SIGNATURE: good[HEADER_SIGNATURE].rstrip("=")}
    impersonation = _signed(keys("mallory", Suite.HYBRID))
    impersonation["Baliza-Origin"] = ALICE
    return {
        "description": (
            "Node-to-node request signatures, scheme baliza-fed-request-v2 "
            "(docs/spec/05-federation.md §1): Ed25519 over "
            "PAE('baliza-fed-request-v2', signed_map), header "
            "'Baliza-Signature: baliza-fed-request-v2 <base64url(signature)>'. "
            "Keys: protocol/vectors/envelopes.json. Made by tests/crypto/make_request_vectors.py. "
            "A refused request is checked in the order of 05 §1: headers present, scheme, "
            "encoding, destination, time, signature; `receiver_blocks_origin`: the receiver "
            "blocks the origin by a local decision, refused once the signature verified."
        ),
        "scheme": REQUEST_SCHEME,
        "requests": [
            accepted(
                "outbox pull, classic-v1 key (the example of chapter 05 §1)",
                Suite.CLASSIC,
                method="GET",
                path="/fed/v1/outbox?after=42&limit=100",
                body=b"",
            ),
            accepted(
                "outbox pull, hybrid-v1 key (its Ed25519 half signs)",
                Suite.HYBRID,
                method="GET",
                path="/fed/v1/outbox?after=42&limit=100",
                body=b"",
            ),
            accepted(
                "inbox push, hybrid-v1 key",
                Suite.HYBRID,
                method="POST",
                path="/fed/v1/inbox",
                body=BATCH,
            ),
        ],
        "refused": [
            refused(
                "scheme v1: classic signature map",
                _v1_headers(keys("alice", Suite.CLASSIC)),
                "request_scheme_unsupported",
                origin_keys=("alice/classic-v1",),
            ),
            refused(
                "unknown scheme",
                {**good, HEADER_SIGNATURE: good[HEADER_SIGNATURE].replace("-v2 ", "-v3 ")},
                "request_scheme_unsupported",
            ),
            refused("signature with one bit flipped", flipped, "bad_signature"),
            refused("signature base64url without its padding", unpadded, "bad_signature"),
            refused(
                "another body than the one signed", good, "bad_signature", body=BATCH + b"\x00"
            ),
            refused(
                "another path than the one signed", good, "bad_signature", path="/fed/v1/directory"
            ),
            refused(
                "signed by another member's key (mallory claims alice)",
                impersonation,
                "bad_signature",
            ),
            refused(
                "signed by alice's classic key, directory lists her hybrid one",
                _signed(keys("alice", Suite.CLASSIC)),
                "bad_signature",
            ),
            refused(
                "addressed to another node",
                _signed(alice, destination=AgencyId(AGENCIES["carol"])),
                "wrong_destination",
            ),
            refused("time outside the skew", _signed(alice, time_ms=NOW_MS - SKEW_MS - 1), "stale"),
            refused(
                "no signature header",
                {k: v for k, v in good.items() if k != HEADER_SIGNATURE},
                "unauthenticated",
            ),
            refused(
                "no origin header",
                {k: v for k, v in good.items() if k != "Baliza-Origin"},
                "unauthenticated",
            ),
            refused("a compressed body", {**good, "Content-Encoding": "gzip"}, "unsupported_media"),
            refused("a time that is not an integer", {**good, "Baliza-Time": "soon"}, "bad_format"),
            refused(
                "a well-signed request from a member bob blocks",
                good,
                "sender_blocked",
                blocked=True,
            ),
        ],
    }


def main() -> None:
    OUT.write_text(json.dumps(build(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
