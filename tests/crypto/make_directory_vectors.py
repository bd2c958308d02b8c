"""Write protocol/vectors/directory.json: signed directories, update decisions, key look-ups.

Run ``.venv/bin/python tests/crypto/make_directory_vectors.py`` from the
repository root. Keys come from fixed seeds (``directory_support``) and
Ed25519 signatures are deterministic, so the file is the same bytes on every
run; ``test_crypto_vectors_directory.py`` checks that it reproduces and that
every decision holds. Each refusal is one rule of chapter 04 (§3 update
rules, §5 key look-ups) and its reason code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crypto_support import NOW_MS
from directory_support import (
    DAY,
    EXPIRES_MS,
    FOUNDERS,
    KEY_FROM_MS,
    KEY_UNTIL_MS,
    admin,
    founders,
    make_directory,
    member,
    member_keys,
    record,
    signed,
)

from baliza.crypto import TrustedDirectory
from baliza.crypto.directory import directory_fingerprint
from baliza.crypto.keys import PublicKeys
from baliza.protocol.canonical import decode, encode
from baliza.protocol.directory import RevocationReason
from baliza.protocol.errors import BalizaError
from baliza.protocol.ids import KeyId

OUT = Path(__file__).resolve().parents[2] / "protocol" / "vectors" / "directory.json"
REVOKED_MS = NOW_MS - 2 * DAY


def documents() -> dict[str, bytes]:
    """Named signed directories: version 1, its successors and the attempts the rules refuse."""
    all_three = founders(*FOUNDERS)
    bob_revoked = record(
        member_keys("bob"), revoked_ms=REVOKED_MS, reason=RevocationReason.KEY_COMPROMISE
    )
    bob_later = record(
        member_keys("bob"), revoked_ms=REVOKED_MS + DAY, reason=RevocationReason.KEY_COMPROMISE
    )
    carol_future = record(member_keys("carol"), valid_from_ms=NOW_MS + DAY)
    carol_past = record(member_keys("carol"), valid_until_ms=NOW_MS - DAY)

    def members(**records: Any) -> list[Any]:
        return [member(n, *([records[n]] if n in records else [])) for n in FOUNDERS]

    return {
        "v1": signed(make_directory(), *all_three),
        "v2": signed(make_directory(2), *founders("alice", "bob")),
        "v2-bob-revoked": signed(
            make_directory(2, members=members(bob=bob_revoked)), *founders("alice", "bob")
        ),
        "v3-bob-unrevoked": signed(make_directory(3), *founders("alice", "bob")),
        "v3-bob-revoked-later": signed(
            make_directory(3, members=members(bob=bob_later)), *founders("alice", "bob")
        ),
        "v2-one-signature": signed(make_directory(2), admin("alice")),
        "v2-by-mallory": signed(make_directory(2), admin("mallory")),
        "v2-other-federation": signed(
            make_directory(2, federation="another-federation"), *founders("alice", "bob")
        ),
        "v1-fork": signed(make_directory(issued_ms=NOW_MS - 2 * DAY), *all_three),
        "v2-expired": signed(
            make_directory(2, issued_ms=NOW_MS - 40 * DAY, expires_ms=NOW_MS - DAY),
            *founders("alice", "bob"),
        ),
        "v2-carol-windows": signed(
            make_directory(2, members=members(carol=carol_future)), *founders("alice", "bob")
        ),
        "v2-carol-past": signed(
            make_directory(2, members=members(carol=carol_past)), *founders("alice", "bob")
        ),
    }


# (trusted, candidate, now_ms): a node trusting ``trusted`` offered ``candidate``.
UPDATES = [
    ("v1", "v2", NOW_MS),
    ("v1", "v1", NOW_MS),
    ("v2", "v1", NOW_MS),
    ("v1", "v1-fork", NOW_MS),
    ("v1", "v2-one-signature", NOW_MS),
    ("v1", "v2-by-mallory", NOW_MS),
    ("v1", "v2-other-federation", NOW_MS),
    ("v1", "v2-expired", NOW_MS),
    ("v1", "v2", EXPIRES_MS),
    ("v1", "v2-bob-revoked", NOW_MS),
    ("v2-bob-revoked", "v3-bob-unrevoked", NOW_MS),
    ("v2-bob-revoked", "v3-bob-revoked-later", NOW_MS),
]

# (trusted, fingerprint of, now_ms): a node founding its trust on ``trusted``
# with the fingerprint of another document (or of itself).
BOOTSTRAPS = [
    ("v1", "v1", NOW_MS),
    ("v1", "v1-fork", NOW_MS),
    ("v1", "v1", EXPIRES_MS),
]


def _keys_of(name: str) -> PublicKeys:
    return member_keys(name).public()


# (trusted, agency name, key of, created_ms, now_ms): does the directory
# vouch for the key of ``key of`` speaking for ``agency`` at ``created_ms``?
LOOKUPS = [
    ("v1", "alice", "alice", NOW_MS, NOW_MS),
    ("v1", "alice", "bob", NOW_MS, NOW_MS),
    ("v1", "mallory", "mallory", NOW_MS, NOW_MS),
    ("v2-bob-revoked", "bob", "bob", REVOKED_MS - 1, NOW_MS),
    ("v2-bob-revoked", "bob", "bob", REVOKED_MS, NOW_MS),
    ("v2-carol-windows", "carol", "carol", NOW_MS, NOW_MS),
    ("v2-carol-past", "carol", "carol", NOW_MS, NOW_MS),
    ("v1", "alice", "alice", KEY_FROM_MS - 1, NOW_MS),
    ("v1", "alice", "alice", KEY_UNTIL_MS, NOW_MS),
    ("v1", "alice", "alice", NOW_MS, EXPIRES_MS),
]


def public_key_cases() -> list[tuple[str, bytes]]:
    """Alice's public key set (chapter 02 §3) and the ways it is refused."""
    wire = decode(member_keys("alice").public().to_bytes())
    assert isinstance(wire, dict)
    enc, sign = wire["enc"], wire["sign"]
    assert isinstance(enc, dict) and isinstance(sign, dict)
    ed25519, x25519 = sign["ed25519"], enc["x25519"]
    assert isinstance(ed25519, bytes) and isinstance(x25519, bytes)
    return [
        ("alice's classic key set", encode(wire)),
        ("a hybrid suite with classic keys only", encode({**wire, "suite": "hybrid-v1"})),
        ("an extra signing algorithm", encode({**wire, "sign": {**sign, "ml-dsa-65": b"k"}})),
        ("an Ed25519 key of 31 bytes", encode({**wire, "sign": {"ed25519": ed25519[:31]}})),
        ("an X25519 key of 33 bytes", encode({**wire, "enc": {"x25519": x25519 + b"\x00"}})),
        ("an unknown suite", encode({**wire, "suite": "rot13-v1"})),
        (
            "an empty validity period",
            encode({**wire, "valid_until_ms": wire["valid_from_ms"]}),
        ),
    ]


def public_key_decision(data: bytes) -> dict[str, str]:
    """``ok`` or the reason code and path of the refusal."""
    return _outcome(lambda: PublicKeys.from_bytes(data))


def _trusted(docs: dict[str, bytes], name: str) -> TrustedDirectory:
    """A node trusting ``name``: founded on v1, then updated along the chain to it."""
    chain = {
        "v1": ["v1"],
        "v2": ["v1", "v2"],
        "v2-bob-revoked": ["v1", "v2-bob-revoked"],
        "v2-carol-windows": ["v1", "v2-carol-windows"],
        "v2-carol-past": ["v1", "v2-carol-past"],
    }[name]
    first = docs[chain[0]]
    trusted = TrustedDirectory.bootstrap(first, NOW_MS, fingerprint=directory_fingerprint(first))
    for step in chain[1:]:
        trusted.update(docs[step], NOW_MS)
    return trusted


def _outcome(run: Any) -> dict[str, str]:
    try:
        run()
    except BalizaError as err:
        return {"expect": err.reason.value, "path": err.path}
    return {"expect": "ok", "path": ""}


def update_decision(
    docs: dict[str, bytes], trusted: str, candidate: str, now: int
) -> dict[str, str]:
    """``ok`` or the reason code and path of the refusal."""
    node = _trusted(docs, trusted)
    return _outcome(lambda: node.update(docs[candidate], now))


def bootstrap_decision(
    docs: dict[str, bytes], trusted: str, pinned: str, now: int
) -> dict[str, str]:
    """Founding trust on ``trusted`` with the fingerprint of ``pinned``."""
    fingerprint = directory_fingerprint(docs[pinned])
    return _outcome(lambda: TrustedDirectory.bootstrap(docs[trusted], now, fingerprint=fingerprint))


def lookup_decision(
    docs: dict[str, bytes], trusted: str, agency: str, key_of: str, created: int, now: int
) -> dict[str, str]:
    """Whether the directory vouches for that key of ``agency`` at ``created``."""
    from directory_support import AGENCIES

    node = _trusted(docs, trusted)
    key = KeyId(_keys_of(key_of).signing_key_id)
    return _outcome(lambda: node.check_key(AGENCIES[agency], key, created, now_ms=now))


def vectors() -> dict[str, Any]:
    """The whole file."""
    from directory_support import AGENCIES

    docs = documents()
    names = ("alice", "bob", "carol", "dave", "erin", "mallory")
    return {
        "comment": "Federation directory vectors (docs/spec/04-directory.md). Administrator "
        "and member keys are classic key sets (Ed25519 + X25519) from fixed seeds; "
        "`administrators` and `member_keys` give their public key bytes (chapter 02 §3) and "
        "signing key ids. Every trust starts at `v1`, bootstrapped with its fingerprint, "
        "and reaches `trusted` through v1 -> trusted. `updates`: `candidate` offered to a "
        "node trusting `trusted` at `now_ms`. `bootstraps`: trust founded on `trusted` "
        "with the fingerprint of `pinned`. `lookups`: the key of `key_of` offered as "
        "`agency`'s for a message created at `created_ms`. `public_keys`: a public key set "
        "parsed alone (chapter 02 §3). `expect` is `ok` or the reason "
        "code, `path` the field at fault.",
        "administrators": {AGENCIES[n]: admin(n).public().to_bytes().hex() for n in names},
        "member_keys": {AGENCIES[n]: _keys_of(n).to_bytes().hex() for n in names},
        "documents": {name: raw.hex() for name, raw in docs.items()},
        "fingerprints": {name: directory_fingerprint(raw) for name, raw in docs.items()},
        "public_keys": [
            {"name": name, "hex": data.hex(), **public_key_decision(data)}
            for name, data in public_key_cases()
        ],
        "updates": [
            {"trusted": t, "candidate": c, "now_ms": now, **update_decision(docs, t, c, now)}
            for t, c, now in UPDATES
        ],
        "bootstraps": [
            {"trusted": t, "pinned": p, "now_ms": now, **bootstrap_decision(docs, t, p, now)}
            for t, p, now in BOOTSTRAPS
        ],
        "lookups": [
            {
                "trusted": t,
                "agency": AGENCIES[a],
                "key_of": AGENCIES[k],
                "key_id": bytes(_keys_of(k).signing_key_id).hex(),
                "created_ms": created,
                "now_ms": now,
                **lookup_decision(docs, t, a, k, created, now),
            }
            for t, a, k, created, now in LOOKUPS
        ],
    }


def render() -> str:
    """The file's text."""
    return json.dumps(vectors(), indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
