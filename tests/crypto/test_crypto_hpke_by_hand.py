"""The key wraps of the committed vectors open by the formulas of 02 §1, written out here.

A second implementation has only the spec; this test is that implementation
for the HPKE part. It reads the recipients' seeds from
protocol/vectors/envelopes.json and opens each key entry with RFC 9180
base mode built from hashlib, hmac and the raw primitives, never through
pyca's HPKE: X-Wing (draft-connolly-cfrg-xwing-kem, combiner with the label
last) for ``hybrid-v1``, DHKEM(X25519, HKDF-SHA256) for ``classic-v1``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import baliza.protocol
from baliza.crypto._domain import TAG_KEY_WRAP, pae
from baliza.protocol.envelope import parse_envelope

VECTORS: dict[str, Any] = json.loads(
    (Path(baliza.protocol.__file__).parent / "vectors" / "envelopes.json").read_text()
)
XWING_LABEL = b"\\.//^\\"  # 5c 2e 2f 2f 5e 5c
KEM_IDS = {"hybrid-v1": 0x647A, "classic-v1": 0x0020}
KDF_HKDF_SHA256 = 0x0001
AEAD_AES_256_GCM = 0x0002


def _i2osp(n: int, length: int) -> bytes:
    return n.to_bytes(length, "big")


def _extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()


def _expand(prk: bytes, info: bytes, length: int) -> bytes:
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def _labeled_extract(suite_id: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return _extract(salt, b"HPKE-v1" + suite_id + label + ikm)


def _labeled_expand(suite_id: bytes, prk: bytes, label: bytes, info: bytes, n: int) -> bytes:
    return _expand(prk, _i2osp(n, 2) + b"HPKE-v1" + suite_id + label + info, n)


def _xwing_decap(seeds: dict[str, str], enc: bytes) -> bytes:
    """X-Wing: ss = SHA3-256(ss_M || ss_X || ct_X || pk_X || label), enc = ct_M || ct_X."""
    ct_m, ct_x = enc[:1088], enc[1088:]
    sk_m = mlkem.MLKEM768PrivateKey.from_seed_bytes(bytes.fromhex(seeds["ml-kem-768"]))
    sk_x = x25519.X25519PrivateKey.from_private_bytes(bytes.fromhex(seeds["x25519"]))
    ss_m = sk_m.decapsulate(ct_m)
    ss_x = sk_x.exchange(x25519.X25519PublicKey.from_public_bytes(ct_x))
    pk_x = sk_x.public_key().public_bytes_raw()
    return hashlib.sha3_256(ss_m + ss_x + ct_x + pk_x + XWING_LABEL).digest()


def _dhkem_decap(seeds: dict[str, str], enc: bytes) -> bytes:
    """DHKEM(X25519, HKDF-SHA256), RFC 9180 §4.1."""
    suite_id = b"KEM" + _i2osp(KEM_IDS["classic-v1"], 2)
    sk = x25519.X25519PrivateKey.from_private_bytes(bytes.fromhex(seeds["x25519"]))
    dh = sk.exchange(x25519.X25519PublicKey.from_public_bytes(enc))
    kem_context = enc + sk.public_key().public_bytes_raw()
    eae_prk = _labeled_extract(suite_id, b"", b"eae_prk", dh)
    return _labeled_expand(suite_id, eae_prk, b"shared_secret", kem_context, 32)


def hpke_base_open(suite: str, seeds: dict[str, str], wrapped: bytes, info: bytes) -> bytes:
    """RFC 9180 §5.1 key schedule in base mode, then one AES-256-GCM open (sequence 0)."""
    enc_len = 1120 if suite == "hybrid-v1" else 32
    enc, ciphertext = wrapped[:enc_len], wrapped[enc_len:]
    shared = _xwing_decap(seeds, enc) if suite == "hybrid-v1" else _dhkem_decap(seeds, enc)
    suite_id = (
        b"HPKE"
        + _i2osp(KEM_IDS[suite], 2)
        + _i2osp(KDF_HKDF_SHA256, 2)
        + _i2osp(AEAD_AES_256_GCM, 2)
    )
    psk_id_hash = _labeled_extract(suite_id, b"", b"psk_id_hash", b"")
    info_hash = _labeled_extract(suite_id, b"", b"info_hash", info)
    context = b"\x00" + psk_id_hash + info_hash
    secret = _labeled_extract(suite_id, shared, b"secret", b"")
    key = _labeled_expand(suite_id, secret, b"key", context, 32)
    nonce = _labeled_expand(suite_id, secret, b"base_nonce", context, 12)
    return AESGCM(key).decrypt(nonce, ciphertext, b"")


CASES = [(v, name) for v in VECTORS["envelopes"] for name in v["recipients"]]


@pytest.mark.parametrize(("vector", "name"), CASES, ids=[f"{v['suite']}: {n}" for v, n in CASES])
def test_key_entries_open_by_the_spec_formulas(vector: dict[str, Any], name: str) -> None:
    suite = vector["suite"]
    key = VECTORS["keys"][f"{name}/{suite}"]
    envelope = parse_envelope(bytes.fromhex(vector["envelope"]))
    info = pae(TAG_KEY_WRAP, bytes.fromhex(vector["header_hash"]))
    kid = bytes.fromhex(key["encryption_key_id"])
    entry = next(e for e in envelope.keys if e.kid == kid)
    assert len(entry.wrapped) == (1120 if suite == "hybrid-v1" else 32) + 48
    assert hpke_base_open(suite, key["seeds"], entry.wrapped, info).hex() == vector["content_key"]
