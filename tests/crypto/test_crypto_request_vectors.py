"""protocol/vectors/requests.json: signed requests verify, refused ones fail with their reason.

The receiving side is the node's own (``fedauth.claimed_origin`` then
``fedauth.verify_request``), fed only what the file says, with keys rebuilt
from protocol/vectors/envelopes.json.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import make_request_vectors
import pytest

import baliza.protocol
from baliza.crypto import PublicKeys
from baliza.crypto import _primitives as prim
from baliza.crypto._domain import SIG_REQUEST, pae
from baliza.node.services.fedauth import check_not_blocked, claimed_origin, verify_request
from baliza.protocol.errors import BalizaError
from baliza.protocol.ids import AgencyId

_DIR = Path(baliza.protocol.__file__).parent / "vectors"
VECTORS: dict[str, Any] = json.loads((_DIR / "requests.json").read_text(encoding="utf-8"))
KEYS: dict[str, Any] = json.loads((_DIR / "envelopes.json").read_text(encoding="utf-8"))["keys"]


def _public(label: str) -> PublicKeys:
    return PublicKeys.from_bytes(bytes.fromhex(KEYS[label]["public_keys"]))


def _receive(v: dict[str, Any], *, now_ms: int, skew_ms: int, origin_keys: list[str]) -> None:
    me = AgencyId(v.get("receiver", v.get("destination", "")))
    origin = claimed_origin(v["headers"], me=me, now_ms=now_ms, skew_ms=skew_ms)
    verify_request(
        v["headers"],
        method=v["method"],
        path=v["path"],
        me=me,
        origin=origin,
        origin_keys=[_public(k) for k in origin_keys],
        body=bytes.fromhex(v["body"]),
    )
    check_not_blocked(origin, blocked=v.get("receiver_blocks_origin", False))


@pytest.mark.parametrize("v", VECTORS["requests"], ids=lambda v: v["name"])
def test_signed_request_vectors_verify_by_hand_and_by_the_node(v: dict[str, Any]) -> None:
    signed_map = bytes.fromhex(v["signed_map"])
    assert bytes.fromhex(v["message"]) == pae(VECTORS["scheme"], signed_map)
    assert VECTORS["scheme"] == SIG_REQUEST
    signature = bytes.fromhex(v["signature"])
    scheme, encoded = v["headers"]["Baliza-Signature"].split(" ")
    assert (scheme, base64.urlsafe_b64decode(encoded)) == (VECTORS["scheme"], signature)
    # Ed25519 by hand, with the origin's key from the key vectors.
    ed25519 = _public(v["key"]).signing["ed25519"]
    prim.VerifyKey("ed25519", ed25519).verify(signature, bytes.fromhex(v["message"]), b"")
    _receive(v, now_ms=v["time_ms"], skew_ms=0, origin_keys=[v["key"]])


@pytest.mark.parametrize("v", VECTORS["refused"], ids=lambda v: v["name"])
def test_refused_request_vectors_fail_with_their_reason(v: dict[str, Any]) -> None:
    with pytest.raises(BalizaError) as info:
        _receive(v, now_ms=v["now_ms"], skew_ms=v["skew_ms"], origin_keys=v["origin_keys"])
    assert info.value.reason == v["reason"]


def test_generator_reproduces_the_file() -> None:
    # Ed25519 is deterministic: every byte of the file is reproducible.
    assert make_request_vectors.build() == VECTORS
