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

from baliza.crypto import PublicKeys, Suite
from baliza.crypto.audit import sign_tree_head, verify_bundle, verify_tree_head
from baliza.node.services.rules.audit_heads import check_extends, judge_peer_head, refusal
from baliza.protocol.audit import (
    AuditEntry,
    ConsistencyProof,
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
    """Eight entries of Bob's log, one or more of every kind."""
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
        AuditEntry(kind=EntryKind.EXPORT, at_ms=at + 7, subject=eid(2), digest=b"\x77" * 32),
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


def exchange_outcome(
    held: bytes | None, offered: bytes, consistency: bytes | None, bob: bytes
) -> tuple[str, str]:
    """(verdict, outcome) of a peer head exchange (spec chapter 11 §6), pure."""
    public = PublicKeys.from_bytes(bob)
    try:
        head = verify_tree_head(public, SignedTreeHead.from_bytes(offered))
    except BalizaError as err:
        return "", err.reason.value
    before = None if held is None else SignedTreeHead.from_bytes(held).head
    verdict = judge_peer_head(before, head)
    if before is None:
        return verdict.value, "ok"
    refused = refusal(before, head, verdict)
    if refused is not None:
        return verdict.value, refused.reason.value
    if head.size > before.size:
        try:
            check_extends(before, head, ConsistencyProof.from_bytes(consistency or b""))
        except BalizaError as err:
            return verdict.value, err.reason.value
    return verdict.value, "ok"


def head_exchange(hashes: list[bytes]) -> list[dict[str, Any]]:
    """A peer holding Bob's head meets Bob's next one: every verdict, each outcome."""
    bob = keys("bob", Suite.CLASSIC)

    def signed(size: int, at: int, root: bytes | None = None) -> bytes:
        head = TreeHead(log=BOB, size=size, root=root or root_of(hashes[:size]), at_ms=at)
        return sign_tree_head(bob, head).to_bytes()

    def proof(first: int, second: int, skew: int = 0) -> bytes:
        ranges = consistency_ranges(first, second)
        hashes_ = tuple(bytes.fromhex(h) for h in _proof(ranges, hashes))
        if skew:
            hashes_ = (bytes([hashes_[0][0] ^ 1]) + hashes_[0][1:], *hashes_[1:])
        return ConsistencyProof(first=first, second=second, proof=hashes_).to_bytes()

    at = NOW_MS + 10
    held4, held7 = signed(4, at), signed(7, at)
    forged = SignedTreeHead.from_bytes(signed(7, at + 5))
    flipped = dict(forged.sigs)
    flipped["ed25519"] = bytes([flipped["ed25519"][0] ^ 1]) + flipped["ed25519"][1:]
    cases: list[tuple[str, bytes | None, bytes, bytes | None]] = [
        ("first", None, held4, None),
        ("same", held4, signed(4, at + 5), None),
        ("extends", held4, signed(7, at + 5), proof(4, 7)),
        ("extends-proof-altered", held4, signed(7, at + 5), proof(4, 7, skew=1)),
        ("extends-proof-of-other-sizes", held4, signed(7, at + 5), proof(3, 7)),
        ("equivocation", held4, signed(4, at + 5, root_of(hashes[1:5])), None),
        ("rollback", held7, signed(4, at + 5), None),
        ("stale", held7, signed(4, at - 5), None),
        (
            "signature-altered",
            held4,
            SignedTreeHead(signed=forged.signed, key_id=forged.key_id, sigs=flipped).to_bytes(),
            proof(4, 7),
        ),
    ]
    out = []
    bob_public = public("bob", Suite.CLASSIC).to_bytes()
    for name, held, offered, consistency in cases:
        verdict, expect = exchange_outcome(held, offered, consistency, bob_public)
        out.append(
            {
                "name": name,
                "held": None if held is None else held.hex(),
                "offered": offered.hex(),
                "consistency": None if consistency is None else consistency.hex(),
                "verdict": verdict,
                "expect": expect,
            }
        )
    return out


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
        "the reason code `baliza audit verify` gives. `head_exchange`: a peer holding Bob's "
        "signed head `held` meets `offered` (and, for a larger one, Bob's consistency answer): "
        "the verdict of spec 11 §6 and `ok` or the reason code of the refusal.",
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
        "head_exchange": head_exchange(hashes),
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
