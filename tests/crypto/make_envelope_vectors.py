"""Write protocol/vectors/envelopes.json: fixed keys, envelopes and refused mutations.

Run ``.venv/bin/python tests/crypto/make_envelope_vectors.py`` from the
repository root. Keys come from fixed seeds, so they are the same on every run;
envelopes are not (HPKE encapsulation, the content key, the nonce and ML-DSA
signatures are randomised), so the file is a fixed set of envelopes together
with the recipients' private seeds, the expected plaintext, the intermediate
values, and mutations that must be refused with the listed reason code.
``test_crypto_vectors.py`` checks every entry.
"""

from __future__ import annotations

import json
from pathlib import Path

from crypto_support import (
    AGENCIES,
    HANDLING,
    NOTICE_PLAINTEXT,
    NOW_MS,
    content_key_of,
    edit_header,
    eid,
    keys,
    public,
    rebuild,
    sealed,
    seed_of,
    split_view,
)

from baliza.crypto import AgencyKeys, Suite, seal_bytes
from baliza.crypto import _primitives as prim
from baliza.crypto._domain import SIG_ENVELOPE, TAG_BODY_KEY, TAG_SEED, pae
from baliza.crypto.keys import _expand
from baliza.crypto.seal import header_hash
from baliza.crypto.suites import ALGORITHMS
from baliza.protocol.canonical import encode
from baliza.protocol.data_versions import DATA_VERSIONS
from baliza.protocol.envelope import Envelope, KeyEntry, MessageKind
from baliza.protocol.handling import Handling, Tlp
from baliza.protocol.ids import KeyId

OUT = Path(__file__).resolve().parents[2] / "protocol" / "vectors" / "envelopes.json"
NAMES = ("alice", "bob", "carol", "mallory")


def key_vector(name: str, suite: Suite) -> dict[str, object]:
    """Everything another implementation needs to rebuild and check one key set."""
    pub = public(name, suite)
    master = seed_of(f"{name}/{suite.value}")
    algorithms = ALGORITHMS[suite]
    seeds = {
        alg: _expand(master, TAG_SEED + alg, prim.SEED_LEN[alg]).hex()
        for alg in (*algorithms.signatures, *algorithms.kem)
    }
    return {
        "agency": AGENCIES[name],
        "suite": suite.value,
        "master_seed": master.hex(),
        "seeds": seeds,
        "valid_from_ms": pub.valid_from_ms,
        "valid_until_ms": pub.valid_until_ms,
        "public_keys": pub.to_bytes().hex(),
        "signing_key_id": pub.signing_key_id.hex(),
        "encryption_key_id": pub.encryption_key_id.hex(),
        "fingerprint": pub.fingerprint(),
    }


def refused(name: str, envelope: Envelope | bytes, reason: str, **who: str) -> dict[str, object]:
    raw = envelope if isinstance(envelope, bytes) else envelope.raw
    return {
        "name": name,
        "envelope": raw.hex(),
        "recipient": who.get("recipient", "bob"),
        "sender": who.get("sender", "alice"),
        "reason": reason,
    }


def envelope_vector(suite: Suite) -> dict[str, object]:
    """One envelope from Alice to Alice and Bob, and its refused mutations."""
    envelope = sealed(suite, to=("alice", "bob"), plaintext=NOTICE_PLAINTEXT)
    alice, mallory = keys("alice", suite), keys("mallory", suite)
    ck = content_key_of(envelope, "bob", suite)
    mutations = [
        refused("flipped bit in the body", _flip(envelope, len(envelope.raw) - 5), "bad_signature"),
        refused(
            "header edited after signing",
            rebuild(envelope, header=edit_header(envelope, handling=Handling(tlp=Tlp.CLEAR))),
            "bad_signature",
        ),
        refused("not a recipient", envelope, "not_a_recipient", recipient="carol"),
        refused("checked with another agency's keys", envelope, "unknown_sender", sender="mallory"),
        refused(
            "re-signed by another agency after renaming the sender",
            rebuild(
                envelope,
                header=edit_header(
                    envelope,
                    sender=AGENCIES["mallory"],
                    sender_key=public("mallory", suite).signing_key_id,
                ),
                signer=mallory,
            ),
            "decrypt_failed",
            sender="mallory",
        ),
        refused(
            "unknown suite",
            rebuild(envelope, header=edit_header(envelope, suite="quantum-v9"), signer=alice),
            "unknown_suite",
        ),
        refused(
            "key id not matching the key",
            rebuild(
                envelope,
                header=edit_header(envelope, sender_key=KeyId(b"\x01" * 16)),
                signer=alice,
            ),
            "key_id_mismatch",
        ),
        refused(
            "truncated ciphertext, re-signed by the sender",
            rebuild(envelope, body=envelope.body[:-1], signer=alice),
            "decrypt_failed",
        ),
        refused("truncated envelope bytes", envelope.raw[:-1], "malformed"),
        refused(
            "a key entry listed twice, re-signed by the sender",
            _with_keys(envelope, (*envelope.keys, envelope.keys[0]), alice),
            "duplicate_key",
        ),
        refused(
            "key entries out of order, re-signed by the sender",
            _with_keys(envelope, tuple(reversed(envelope.keys)), alice),
            "non_canonical",
        ),
        refused(
            "header kind an alert, plaintext a seizure notice",
            seal_bytes(
                NOTICE_PLAINTEXT,
                kind=MessageKind.ALERT,
                sender=alice,
                recipients=[public("bob", suite)],
                handling=HANDLING,
                envelope_id=eid(2),
                created_ms=NOW_MS,
            ),
            "kind_mismatch",
        ),
        refused(
            "content key differing from the header's commitment",
            split_view(suite),
            "key_commitment_mismatch",
            recipient="carol",
        ),
    ]
    if suite is Suite.HYBRID:
        mutations.append(
            refused(
                "ML-DSA-65 half of the signature removed",
                rebuild(envelope, signatures={"ed25519": envelope.signatures["ed25519"]}),
                "missing_signature",
            )
        )
    else:
        hybrid = sealed(Suite.HYBRID)
        extra = {**envelope.signatures, "ml-dsa-65": hybrid.signatures["ml-dsa-65"]}
        mutations.append(
            refused(
                "signature of an algorithm the suite does not have",
                rebuild(envelope, signatures=extra),
                "unexpected_signature",
            )
        )
    return {
        "name": f"{suite.value} alice to alice and bob",
        "suite": suite.value,
        "sender": "alice",
        "recipients": ["alice", "bob"],
        "created_ms": NOW_MS,
        "envelope": envelope.raw.hex(),
        "header": envelope.header_bytes.hex(),
        "header_hash": header_hash(envelope.header_bytes).hex(),
        "content_key": ck.hex(),
        "body_key": prim.hmac_sha256(ck, pae(TAG_BODY_KEY, envelope.id.encode())).hex(),
        "key_commitment": envelope.header.key_commitment.hex(),
        "plaintext": NOTICE_PLAINTEXT.hex(),
        "refused": mutations,
    }


def _with_keys(envelope: Envelope, entries: tuple[KeyEntry, ...], signer: AgencyKeys) -> bytes:
    """Envelope bytes with other key entries, signed anew, built without parsing them back."""
    signed = Envelope.signed_part(envelope.header_bytes, entries, envelope.body)
    return encode({"sig": dict(signer.sign_pae(SIG_ENVELOPE, signed)), "signed": signed, "v": 1})


def _flip(envelope: Envelope, position: int) -> bytes:
    mutated = bytearray(envelope.raw)
    mutated[position] ^= 0x01
    return bytes(mutated)


def build() -> dict[str, object]:
    """The whole vector document."""
    return {
        "description": (
            "Baliza envelope vectors (docs/spec/02-envelope-crypto.md). Keys are fixed; "
            "each envelope opens for each listed recipient to the plaintext, a valid "
            "notice (chapter 03) of the header's kind under the code-list releases in "
            "data_versions; each refused mutation, opened (02 §6-7, steps 1-17) as its "
            "recipient with its sender's public keys, fails with its reason code. "
            "Regenerate with tests/crypto/make_envelope_vectors.py."
        ),
        "version": 1,
        "data_versions": DATA_VERSIONS,
        "keys": {
            f"{name}/{suite.value}": key_vector(name, suite) for suite in Suite for name in NAMES
        },
        "envelopes": [envelope_vector(suite) for suite in Suite],
    }


def main() -> None:
    """Write the file."""
    OUT.write_text(json.dumps(build(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
