"""Write protocol/vectors/audit.json: entries, roots, proofs, signed tree heads, bundles.

Run ``.venv/bin/python tests/crypto/make_audit_vectors.py`` from the
repository root. Heads are signed by the classic key sets of
``envelopes.json`` (Ed25519 is deterministic), so the whole file reproduces
byte for byte except ``hybrid_head``, whose ML-DSA signature is randomised
and which is checked by verifying it. ``test_crypto_vectors_audit.py``
checks both.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crypto_support import AGENCIES, NOW_MS, eid, keys, public

from baliza.crypto import Suite
from baliza.crypto.audit import sign_tree_head, verify_bundle
from baliza.protocol.audit import (
    AuditEntry,
    EntryKind,
    InclusionBundle,
    SignedTreeHead,
    TreeHead,
    content_digest,
)
from baliza.protocol.errors import BalizaError
from baliza.protocol.ids import AgencyId
from baliza.protocol.merkle import (
    EMPTY_ROOT,
    consistency_ranges,
    inclusion_ranges,
    leaf_hash,
    root_of,
)

OUT = Path(__file__).resolve().parents[2] / "protocol" / "vectors" / "audit.json"
ALICE = AgencyId(AGENCIES["alice"])
BOB = AgencyId(AGENCIES["bob"])
# What the bundles' entry 2 is about: the bytes of an envelope Bob received.
CONTENT = b"the exact bytes of an envelope, as received"


def entries() -> list[AuditEntry]:
    """Seven entries of Bob's log, one or more of every kind."""
    at = NOW_MS
    return [
        AuditEntry(kind=EntryKind.TRUST, at_ms=at, subject="directory.applied", digest=bytes(32)),
        AuditEntry(kind=EntryKind.ENVELOPE_SENT, at_ms=at + 1, subject=eid(1), digest=b"\x11" * 32),
        AuditEntry(
            kind=EntryKind.ENVELOPE_RECEIVED,
            at_ms=at + 2,
            subject=eid(2),
            peer=ALICE,
            digest=content_digest(CONTENT),
        ),
        AuditEntry(
            kind=EntryKind.READ, at_ms=at + 3, subject=eid(2), peer=ALICE, digest=b"\x33" * 32
        ),
        AuditEntry(
            kind=EntryKind.RECEIPT_RECEIVED,
            at_ms=at + 4,
            subject=eid(1),
            peer=ALICE,
            digest=b"\x44" * 32,
        ),
        AuditEntry(kind=EntryKind.TRUST, at_ms=at + 5, subject="block.set", digest=b"\x55" * 32),
        AuditEntry(
            kind=EntryKind.TRUST, at_ms=at + 6, subject="token.created", digest=b"\x66" * 32
        ),
    ]


def _proof(ranges: list[tuple[int, int]], hashes: list[bytes]) -> list[str]:
    return [root_of(hashes[s:e]).hex() for s, e in ranges]


def _head(size: int, hashes: list[bytes], signer: str = "bob", log: AgencyId = BOB) -> bytes:
    head = TreeHead(log=log, size=size, root=root_of(hashes[:size]), at_ms=NOW_MS + 10)
    return sign_tree_head(keys(signer, Suite.CLASSIC), head).to_bytes()


def _outcome(bundle: InclusionBundle) -> str:
    try:
        verify_bundle(bundle)
    except BalizaError as err:
        return err.reason.value
    return "ok"


def bundles(raw: list[bytes], hashes: list[bytes]) -> list[dict[str, Any]]:
    """One bundle that verifies and the tamperings it must refuse."""
    bob = public("bob", Suite.CLASSIC).to_bytes()
    good = InclusionBundle(
        head=_head(7, hashes),
        entry=raw[2],
        index=2,
        proof=tuple(bytes.fromhex(h) for h in _proof(inclusion_ranges(2, 7), hashes)),
        keys=bob,
        content=CONTENT,
    )
    forged_head = SignedTreeHead.from_bytes(good.head)
    flipped = dict(forged_head.sigs)
    flipped["ed25519"] = bytes([flipped["ed25519"][0] ^ 1]) + flipped["ed25519"][1:]
    cases = {
        "ok": good,
        "entry-altered": InclusionBundle(
            head=good.head, entry=raw[3], index=2, proof=good.proof, keys=bob, content=CONTENT
        ),
        "wrong-index": InclusionBundle(
            head=good.head, entry=raw[2], index=3, proof=good.proof, keys=bob, content=CONTENT
        ),
        "content-altered": InclusionBundle(
            head=good.head, entry=raw[2], index=2, proof=good.proof, keys=bob, content=b"x"
        ),
        "head-signature-altered": InclusionBundle(
            head=SignedTreeHead(
                signed=forged_head.signed, key_id=forged_head.key_id, sigs=flipped
            ).to_bytes(),
            entry=raw[2],
            index=2,
            proof=good.proof,
            keys=bob,
        ),
        "head-by-another-agency": InclusionBundle(
            head=_head(7, hashes, signer="alice", log=ALICE),
            entry=raw[2],
            index=2,
            proof=good.proof,
            keys=bob,
        ),
        "head-of-another-size": InclusionBundle(
            head=_head(6, hashes), entry=raw[2], index=2, proof=good.proof, keys=bob
        ),
    }
    return [
        {"name": name, "bundle": bundle.to_bytes().hex(), "expect": _outcome(bundle)}
        for name, bundle in cases.items()
    ]


def deterministic() -> dict[str, Any]:
    """The part of the file that must reproduce byte for byte."""
    raw = [e.to_bytes() for e in entries()]
    hashes = [leaf_hash(r) for r in raw]
    n = len(raw)
    return {
        "comment": "Audit log vectors (docs/spec/11-audit-log.md). `entries`: canonical entry "
        "bytes and their RFC 9162 leaf hashes. `roots`: the tree head root of the first `size` "
        "entries. `inclusion`: PATH(index, D[size]); `consistency`: PROOF(old, D[new]). Heads "
        "and bundles are signed by the classic key sets of envelopes.json; `expect` is `ok` or "
        "the reason code `baliza audit verify` gives.",
        "entries": [
            {"entry": r.hex(), "leaf_hash": h.hex()} for r, h in zip(raw, hashes, strict=True)
        ],
        "roots": [
            {"size": size, "root": (root_of(hashes[:size]) if size else EMPTY_ROOT).hex()}
            for size in range(n + 1)
        ],
        "inclusion": [
            {"index": i, "size": size, "proof": _proof(inclusion_ranges(i, size), hashes)}
            for size in range(1, n + 1)
            for i in range(size)
        ],
        "consistency": [
            {"old": old, "new": new, "proof": _proof(consistency_ranges(old, new), hashes)}
            for new in range(1, n + 1)
            for old in range(1, new + 1)
        ],
        "keys": {"bob": public("bob", Suite.CLASSIC).to_bytes().hex()},
        "head": _head(n, hashes).hex(),
        "bundles": bundles(raw, hashes),
    }


def generate() -> dict[str, Any]:
    """The whole file: the deterministic part and a hybrid-signed head."""
    out = deterministic()
    raw = [e.to_bytes() for e in entries()]
    hashes = [leaf_hash(r) for r in raw]
    head = TreeHead(log=BOB, size=len(raw), root=root_of(hashes), at_ms=NOW_MS + 10)
    out["hybrid_keys"] = public("bob").to_bytes().hex()
    out["hybrid_head"] = sign_tree_head(keys("bob"), head).to_bytes().hex()
    return out


if __name__ == "__main__":
    OUT.write_text(json.dumps(generate(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")
