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
from baliza.protocol.errors import BalizaError
from baliza.protocol.federation import MEDIA_TYPE, check_answer_media_type
from baliza.protocol.ids import EnvelopeId
from baliza.protocol.media import sniff

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


# (name, first bytes, claimed type): each signature of chapter 10 §1 and its near misses.
MEDIA_CASES: tuple[tuple[str, bytes, str | None], ...] = (
    ("JPEG", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
    ("JPEG claimed as PNG", b"\xff\xd8\xff\xdb\x00\x43", "image/png"),
    ("PNG", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", None),
    ("WebP", b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
    ("RIFF that is not WebP (WAV)", b"RIFF\x24\x00\x00\x00WAVEfmt ", "image/webp"),
    ("PDF", b"%PDF-1.7\n", "application/pdf"),
    ("HEIF, brand heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "image/heic"),
    ("HEIF, brand mif1", b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00", None),
    ("MP4, brand isom", b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "video/mp4"),
    ("ftyp of another brand (QuickTime)", b"\x00\x00\x00\x14ftypqt  ", "video/mp4"),
    ("text claimed as text/plain", "Incautación: 12 kg\n".encode(), "text/plain"),
    ("the same text claimed as text/csv", "Incautación: 12 kg\n".encode(), "text/csv"),
    ("text claimed as nothing", b"plain words", None),
    ("text with a NUL", b"abc\x00def", "text/plain"),
    ("not UTF-8", b"\xc3\x28 invalid", "text/plain"),
    ("UTF-8 cut at the end of the head", "ab\u20ac".encode()[:-1], "text/plain"),
    ("an executable (ELF)", b"\x7fELF\x02\x01\x01\x00", "application/pdf"),
    ("HTML", b"<!doctype html><script>", "text/html"),
)
# Content-Type of a fetch's answer (10 §3): only Baliza's media type is read.
ANSWER_CASES: tuple[str | None, ...] = (
    MEDIA_TYPE,
    "Application/Vnd.Baliza+Msgpack; charset=binary",
    "application/vnd.baliza.v1+msgpack",
    "application/octet-stream",
    "text/html",
    None,
)


def _media(head: bytes, claimed: str | None) -> str:
    try:
        return sniff(head, claimed).value
    except BalizaError as err:
        return err.reason.value


def _answer(content_type: str | None) -> str:
    try:
        check_answer_media_type(content_type)
    except BalizaError as err:
        return err.reason.value
    return "ok"


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
        "media_types": [
            {"name": name, "head": head.hex(), "claimed": claimed, "expect": _media(head, claimed)}
            for name, head, claimed in MEDIA_CASES
        ],
        "answer_media_types": [{"content_type": c, "expect": _answer(c)} for c in ANSWER_CASES],
    }


if __name__ == "__main__":
    OUT.write_text(json.dumps(vectors(), indent=2) + "\n")
    print(f"wrote {OUT}")
