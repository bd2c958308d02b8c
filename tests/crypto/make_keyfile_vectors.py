"""Write protocol/vectors/key-files.json: private keys at rest (chapter 02 §4), locked and refused.

Run ``.venv/bin/python tests/crypto/make_keyfile_vectors.py`` from the
repository root. A key file is normally locked with a random salt and
nonce; here both are fixed (and the Argon2id cost is the lowest a reader
accepts: t = 2, 19 MiB, one lane) so that the file is the same bytes on
every run, and ``test_crypto_keyfile_vectors.py`` checks it reproduces.
Each case is a file and a passphrase: the secret it unlocks, or the reason
code of the refusal.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from baliza.crypto import _primitives as prim
from baliza.crypto import keystore
from baliza.protocol.canonical import Value, decode, encode
from baliza.protocol.errors import BalizaError

OUT = Path(__file__).resolve().parents[2] / "protocol" / "vectors" / "key-files.json"
SECRET = bytes(range(64))
PASSPHRASE = "contraseña de prueba".encode()


def locked(**changes: Value) -> bytes:
    """``SECRET`` locked as ``keystore.lock`` does, with a fixed salt and nonce."""
    clear: dict[str, Value] = {
        "v": keystore.VERSION,
        "format": keystore.FORMAT,
        "kdf": "argon2id",
        "salt": bytes(range(16)),
        "t": 2,
        "m_kib": 19 * 1024,
        "p": 1,
        "nonce": bytes(range(100, 112)),
    }
    key = keystore._derive(PASSPHRASE, clear)
    ct = prim.aes_gcm_seal(key, bytes(range(100, 112)), SECRET, keystore._aad(clear))
    return encode({**clear, "ct": ct, **changes})


def cases() -> list[tuple[str, bytes, bytes]]:
    """(name, file, passphrase)."""
    good = locked()
    wire = decode(good)
    assert isinstance(wire, dict) and isinstance(wire["ct"], bytes)
    flipped = bytes([wire["ct"][0] ^ 1]) + wire["ct"][1:]
    return [
        ("the right passphrase", good, PASSPHRASE),
        ("a wrong passphrase", good, "Contraseña de prueba".encode()),
        ("a flipped bit in the ciphertext", encode({**wire, "ct": flipped}), PASSPHRASE),
        ("the cost lowered in the file", encode({**wire, "t": 3}), PASSPHRASE),
        ("a cost below the floor", encode({**wire, "m_kib": 8 * 1024}), PASSPHRASE),
        ("key file version 2", encode({**wire, "v": 2}), PASSPHRASE),
    ]


def outcome(data: bytes, passphrase: bytes) -> dict[str, str]:
    """The secret (hex) it unlocks, or the reason code and path."""
    try:
        return {"expect": "ok", "secret": keystore.unlock(data, passphrase).hex()}
    except BalizaError as err:
        return {"expect": err.reason.value, "path": err.path}


def vectors() -> dict[str, Any]:
    """The whole file."""
    return {
        "comment": "Private keys at rest (docs/spec/02-envelope-crypto.md §4): a key file and "
        "the passphrase (UTF-8, hex) tried on it; `expect` is `ok` with the `secret` it "
        "unlocks, or the reason code. A wrong passphrase and a damaged file are one code.",
        "cases": [
            {"name": name, "file": data.hex(), "passphrase": p.hex(), **outcome(data, p)}
            for name, data, p in cases()
        ],
    }


def render() -> str:
    """The file's text."""
    return json.dumps(vectors(), indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
