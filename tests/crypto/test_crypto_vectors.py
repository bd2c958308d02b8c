"""protocol/vectors/envelopes.json: keys derive, envelopes open, mutations fail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import make_envelope_vectors
import pytest

import baliza.protocol
from baliza.crypto import AgencyKeys, PublicKeys, Suite, open_bytes, open_envelope
from baliza.crypto import _primitives as prim
from baliza.crypto._domain import TAG_BODY_KEY, TAG_KEY_WRAP, pae
from baliza.crypto.seal import header_hash, key_commitment
from baliza.protocol.data_versions import DATA_VERSIONS
from baliza.protocol.envelope import parse_envelope
from baliza.protocol.errors import BalizaError
from baliza.protocol.ids import EnvelopeId
from baliza.protocol.notices import encode_notice

VECTORS: dict[str, Any] = json.loads(
    (Path(baliza.protocol.__file__).parent / "vectors" / "envelopes.json").read_text()
)


def _keys(name: str, suite: str) -> AgencyKeys:
    v = VECTORS["keys"][f"{name}/{suite}"]
    return AgencyKeys(
        v["agency"],
        Suite(v["suite"]),
        {alg: bytes.fromhex(seed) for alg, seed in v["seeds"].items()},
        valid_from_ms=v["valid_from_ms"],
        valid_until_ms=v["valid_until_ms"],
    )


def _public(name: str, suite: str) -> PublicKeys:
    return PublicKeys.from_bytes(bytes.fromhex(VECTORS["keys"][f"{name}/{suite}"]["public_keys"]))


@pytest.mark.parametrize("label", sorted(VECTORS["keys"]))
def test_key_vectors_derive_from_their_seeds(label: str) -> None:
    v = VECTORS["keys"][label]
    name, suite = label.split("/")
    derived = _keys(name, suite).public()
    from_master = AgencyKeys.from_seed(
        v["agency"],
        Suite(suite),
        bytes.fromhex(v["master_seed"]),
        valid_from_ms=v["valid_from_ms"],
        valid_until_ms=v["valid_until_ms"],
    ).public()
    assert derived == from_master == _public(name, suite)
    assert derived.to_bytes().hex() == v["public_keys"]
    assert derived.signing_key_id.hex() == v["signing_key_id"]
    assert derived.encryption_key_id.hex() == v["encryption_key_id"]
    assert derived.fingerprint() == v["fingerprint"]


@pytest.mark.parametrize("vector", VECTORS["envelopes"], ids=lambda v: v["name"])
def test_envelope_vectors_open_with_their_intermediate_values(vector: dict[str, Any]) -> None:
    suite = vector["suite"]
    envelope = parse_envelope(bytes.fromhex(vector["envelope"]))
    assert envelope.header_bytes.hex() == vector["header"]
    digest = header_hash(envelope.header_bytes)
    assert digest.hex() == vector["header_hash"]
    ck = bytes.fromhex(vector["content_key"])
    assert key_commitment(ck, EnvelopeId(envelope.header.id)).hex() == vector["key_commitment"]
    assert prim.hmac_sha256(ck, pae(TAG_BODY_KEY, envelope.id.encode())).hex() == vector["body_key"]
    sender = _public(vector["sender"], suite)
    for name in vector["recipients"]:
        recipient = _keys(name, suite)
        entry = next(e for e in envelope.keys if e.kid == recipient.public().encryption_key_id)
        assert recipient.unwrap(entry.wrapped, pae(TAG_KEY_WRAP, digest)) == ck
        plaintext = open_bytes(envelope, recipient=recipient, sender=sender)
        assert plaintext.hex() == vector["plaintext"]
        # Steps 16 and 17 of 02 §7: the plaintext is a notice of the header's kind.
        notice = open_envelope(envelope, recipient=recipient, sender=sender)
        assert notice.kind == envelope.header.kind
        assert encode_notice(notice) == plaintext


CASES = [(v, m) for v in VECTORS["envelopes"] for m in v["refused"]]


@pytest.mark.parametrize(
    ("vector", "mutation"), CASES, ids=[f"{v['suite']}: {m['name']}" for v, m in CASES]
)
def test_refused_vectors_fail_with_their_reason(
    vector: dict[str, Any], mutation: dict[str, Any]
) -> None:
    suite = vector["suite"]
    with pytest.raises(BalizaError) as info:
        envelope = parse_envelope(bytes.fromhex(mutation["envelope"]))
        open_envelope(
            envelope,
            recipient=_keys(mutation["recipient"], suite),
            sender=_public(mutation["sender"], suite),
        )
    assert info.value.reason == mutation["reason"]


def test_generator_reproduces_every_deterministic_part_of_the_file() -> None:
    # Envelopes are randomised (HPKE, nonce, ML-DSA), so only they may differ
    # between runs: keys, plaintexts, names, reasons and data versions may not.
    built = make_envelope_vectors.build()
    assert built["keys"] == VECTORS["keys"]
    assert built["data_versions"] == VECTORS["data_versions"] == DATA_VERSIONS
    assert built["description"] == VECTORS["description"]
    fresh: Any = built["envelopes"]
    for new, old in zip(fresh, VECTORS["envelopes"], strict=True):
        assert new["plaintext"] == old["plaintext"]
        assert [(m["name"], m["reason"]) for m in new["refused"]] == [
            (m["name"], m["reason"]) for m in old["refused"]
        ]
