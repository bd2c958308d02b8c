"""Write protocol/vectors/attachments.json: attachment keys and sealed records.

Run ``.venv/bin/python tests/crypto/make_attachment_vectors.py`` from the
repository root. Sealing is deterministic (the key is derived from the
content key, the envelope id and the content hash; the nonces are record
counters), so ``test_crypto_attachments.py`` checks the file reproduces
exactly. Content is given as a pattern, not spelled out: byte ``i`` of the
content is ``i mod 251``; each case lists the SHA-256 of the whole sealed
form and, in full, its first and last 48 bytes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from baliza.crypto.attachments import RecordSealer, attachment_key, sealed_size
from baliza.protocol.ids import EnvelopeId

OUT = Path(__file__).resolve().parents[2] / "protocol" / "vectors" / "attachments.json"
CONTENT_KEY = bytes(range(32))
ENVELOPE = EnvelopeId("01890a5d-ac96-7b5e-9f3a-0c1d2e3f4a5b")
SIZES = (1, 65_535, 65_536, 65_537, 200_000)


def content(size: int) -> bytes:
    """The pattern content of ``size`` bytes."""
    return bytes(i % 251 for i in range(size))


def sealed(size: int) -> tuple[bytes, bytes]:
    """(content sha256, sealed form) of the pattern content of ``size`` bytes."""
    data = content(size)
    sha = hashlib.sha256(data).digest()
    sealer = RecordSealer(attachment_key(CONTENT_KEY, ENVELOPE, sha), size)
    out, at = [], 0
    while n := sealer.chunk_len():
        out.append(sealer.seal(data[at : at + n]))
        at += n
    return sha, b"".join(out)


def vectors() -> dict[str, Any]:
    """The whole file."""
    cases = []
    for size in SIZES:
        sha, form = sealed(size)
        assert len(form) == sealed_size(size)
        cases.append(
            {
                "size": size,
                "content_sha256": sha.hex(),
                "attachment_key": attachment_key(CONTENT_KEY, ENVELOPE, sha).hex(),
                "sealed_size": len(form),
                "sealed_sha256": hashlib.sha256(form).hexdigest(),
                "sealed_head": form[:48].hex(),
                "sealed_tail": form[-48:].hex(),
            }
        )
    return {
        "about": "Attachment records (docs/spec/10-attachments.md); content byte i = i mod 251",
        "content_key": CONTENT_KEY.hex(),
        "envelope_id": ENVELOPE,
        "record_plain": 65_536,
        "cases": cases,
    }


if __name__ == "__main__":
    OUT.write_text(json.dumps(vectors(), indent=2) + "\n")
    print(f"wrote {OUT}")
