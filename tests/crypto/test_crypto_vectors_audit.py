"""protocol/vectors/audit.json: reproduced by its generator, and every vector holds."""

from __future__ import annotations

import json
from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest
from make_audit_vectors import OUT, deterministic, exchange_outcome

from baliza.crypto import PublicKeys
from baliza.crypto.audit import verify_bundle, verify_tree_head
from baliza.protocol.audit import AuditEntry, InclusionBundle, SignedTreeHead
from baliza.protocol.errors import BalizaError
from baliza.protocol.merkle import verify_consistency, verify_inclusion

VECTORS: dict[str, Any] = json.loads(Path(OUT).read_text(encoding="utf-8"))
ROOTS = {r["size"]: bytes.fromhex(r["root"]) for r in VECTORS["roots"]}
LEAVES = [bytes.fromhex(e["leaf_hash"]) for e in VECTORS["entries"]]


def test_the_generator_reproduces_the_file() -> None:
    assert {k: v for k, v in VECTORS.items() if not k.startswith("hybrid_")} == deterministic()


@pytest.mark.parametrize("vector", VECTORS["entries"], ids=lambda v: v["leaf_hash"][:12])
def test_entries_are_canonical_and_hashed_with_the_leaf_prefix(vector: dict[str, Any]) -> None:
    raw = bytes.fromhex(vector["entry"])
    assert AuditEntry.from_bytes(raw).to_bytes() == raw
    assert sha256(b"\x00" + raw).hexdigest() == vector["leaf_hash"]


def test_roots_are_the_rfc_9162_tree_hash() -> None:
    assert ROOTS[0] == sha256(b"").digest()
    assert ROOTS[1] == LEAVES[0]
    assert ROOTS[2] == sha256(b"\x01" + LEAVES[0] + LEAVES[1]).digest()


@pytest.mark.parametrize(
    "vector", VECTORS["inclusion"], ids=lambda v: f"{v['index']}-in-{v['size']}"
)
def test_each_inclusion_proof_verifies(vector: dict[str, Any]) -> None:
    proof = [bytes.fromhex(h) for h in vector["proof"]]
    size = vector["size"]
    verify_inclusion(LEAVES[vector["index"]], vector["index"], size, proof, ROOTS[size])


@pytest.mark.parametrize(
    "vector", VECTORS["consistency"], ids=lambda v: f"{v['old']}-to-{v['new']}"
)
def test_each_consistency_proof_verifies(vector: dict[str, Any]) -> None:
    proof = [bytes.fromhex(h) for h in vector["proof"]]
    old, new = vector["old"], vector["new"]
    verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)


def test_the_heads_verify_classic_and_hybrid() -> None:
    for keys, head in (("keys", "head"), ("hybrid_keys", "hybrid_head")):
        public = PublicKeys.from_bytes(
            bytes.fromhex(VECTORS[keys]["bob"] if keys == "keys" else VECTORS[keys])
        )
        verified = verify_tree_head(public, SignedTreeHead.from_bytes(bytes.fromhex(VECTORS[head])))
        assert verified.root == ROOTS[verified.size]


@pytest.mark.parametrize("vector", VECTORS["bundles"], ids=lambda v: v["name"])
def test_each_bundle_verifies_or_is_refused_as_listed(vector: dict[str, Any]) -> None:
    bundle = InclusionBundle.from_bytes(bytes.fromhex(vector["bundle"]))
    try:
        verify_bundle(bundle)
        outcome = "ok"
    except BalizaError as err:
        outcome = err.reason.value
    assert outcome == vector["expect"]


@pytest.mark.parametrize("vector", VECTORS["head_exchange"], ids=lambda v: v["name"])
def test_each_head_exchange_gets_its_verdict_and_outcome(vector: dict[str, Any]) -> None:
    held = None if vector["held"] is None else bytes.fromhex(vector["held"])
    proof = None if vector["consistency"] is None else bytes.fromhex(vector["consistency"])
    bob = bytes.fromhex(VECTORS["keys"]["bob"])
    got = exchange_outcome(held, bytes.fromhex(vector["offered"]), proof, bob)
    assert got == (vector["verdict"], vector["expect"])


def test_the_head_exchange_vectors_cover_every_verdict_and_refusal() -> None:
    seen = {(v["verdict"], v["expect"]) for v in VECTORS["head_exchange"]}
    assert {"first", "same", "extends", "stale"} <= {v for v, e in seen if e == "ok"}
    assert {"audit_equivocation", "audit_rollback", "bad_signature"} <= {e for _, e in seen}
