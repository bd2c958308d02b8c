"""Attachment content sealed with the notice's content key, in records of 64 KiB.

A notice lists each attachment by the SHA-256 of its content, inside the
signed and encrypted body; the content itself travels apart, fetched by each
recipient from the sender, so a 10 MiB X-ray image is neither in every
envelope nor held whole in memory. Construction (docs/spec/10-attachments.md)::

    ak         = HMAC-SHA256(ck, PAE("baliza/v1 attachment-key", id || sha256))
    chunk[i]   = content[i*R : (i+1)*R]                  R = 65,536; n = ceil(size / R)
    nonce[i]   = u88be(i) || (0x01 if i = n-1 else 0x00)
    record[i]  = AES-256-GCM(ak, nonce[i], chunk[i], aad = "")
    sealed     = record[0] || ... || record[n-1]         size + 16 n bytes

The key is bound to the envelope and to the content's hash, so it only ever
seals that one content: the same records may be produced again for every
recipient (no per-request state), and records of one attachment or envelope
are useless under another. The counter in the nonce fixes the order, the last
record's flag makes a cut-short stream fail, and every record is
authenticated before its plaintext is released. A recipient still checks the
whole content against the signed hash and size before keeping it.
"""

from __future__ import annotations

from typing import Final

from baliza.crypto import _primitives as prim
from baliza.crypto._domain import TAG_ATTACHMENT_KEY, pae
from baliza.protocol.errors import InputError, ReasonCode, TrustError, UsageError
from baliza.protocol.ids import EnvelopeId

RECORD_PLAIN: Final = 64 * 1024
RECORD_OVERHEAD: Final = prim.AES_TAG_LEN
_COUNTER_LEN = prim.AES_NONCE_LEN - 1
SHA256_LEN: Final = 32


def attachment_key(content_key: bytes, envelope_id: EnvelopeId, sha256: bytes) -> bytes:
    """The key of one attachment of one envelope, derived from its content key."""
    if len(sha256) != SHA256_LEN:
        raise UsageError(ReasonCode.BAD_LENGTH, "must be 32 bytes", path="sha256")
    return prim.hmac_sha256(content_key, pae(TAG_ATTACHMENT_KEY, envelope_id.encode() + sha256))


def record_count(size: int) -> int:
    """How many records content of ``size`` bytes (at least 1) is sealed in."""
    if size < 1:
        raise UsageError(ReasonCode.OUT_OF_RANGE, "content is at least one byte", path="size")
    return -(-size // RECORD_PLAIN)


def sealed_size(size: int) -> int:
    """The exact length of the sealed form of ``size`` bytes of content."""
    return size + RECORD_OVERHEAD * record_count(size)


def _nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(_COUNTER_LEN, "big") + (b"\x01" if last else b"\x00")


class RecordSealer:
    """Seals content of a known size, chunk by chunk, in the order it is read."""

    __slots__ = ("_count", "_index", "_key", "_size")

    def __init__(self, key: bytes, size: int) -> None:
        self._key = key
        self._size = size
        self._count = record_count(size)
        self._index = 0

    def chunk_len(self) -> int:
        """How many content bytes the next call to ``seal`` takes (0 when done)."""
        if self._index >= self._count:
            return 0
        return min(RECORD_PLAIN, self._size - self._index * RECORD_PLAIN)

    def seal(self, chunk: bytes) -> bytes:
        """The next record; ``chunk`` must be exactly ``chunk_len()`` bytes."""
        expected = self.chunk_len()
        if expected == 0 or len(chunk) != expected:
            raise UsageError(
                ReasonCode.BAD_LENGTH,
                f"chunk {self._index} must be {expected} bytes, got {len(chunk)}",
                path="chunk",
            )
        last = self._index == self._count - 1
        record = prim.aes_gcm_seal(self._key, _nonce(self._index, last), chunk, b"")
        self._index += 1
        return record


class RecordOpener:
    """Opens sealed content as its bytes arrive, in pieces of any size.

    At most one record (64 KiB + 16) is buffered. Bytes past the sealed
    size are refused at once (``TOO_LARGE``); a record that does not
    authenticate, or a stream that ends early, is ``DECRYPT_FAILED``.
    """

    __slots__ = ("_buffer", "_count", "_index", "_key", "_size")

    def __init__(self, key: bytes, size: int) -> None:
        self._key = key
        self._size = size
        self._count = record_count(size)
        self._index = 0
        self._buffer = bytearray()

    def _record_len(self) -> int:
        plain = min(RECORD_PLAIN, self._size - self._index * RECORD_PLAIN)
        return plain + RECORD_OVERHEAD

    def feed(self, data: bytes) -> list[bytes]:
        """Take the next bytes of the stream; return the content of each record completed."""
        self._buffer += data
        out: list[bytes] = []
        while self._index < self._count and len(self._buffer) >= self._record_len():
            length = self._record_len()
            record = bytes(self._buffer[:length])
            del self._buffer[:length]
            last = self._index == self._count - 1
            try:
                out.append(prim.aes_gcm_open(self._key, _nonce(self._index, last), record, b""))
            except TrustError:
                raise TrustError(
                    ReasonCode.DECRYPT_FAILED, f"attachment record {self._index} does not open"
                ) from None
            self._index += 1
        if self._index >= self._count and self._buffer:
            raise InputError(ReasonCode.TOO_LARGE, "more bytes than the attachment's sealed size")
        return out

    def finish(self) -> None:
        """Raise unless every record arrived and opened."""
        if self._index < self._count:
            raise TrustError(
                ReasonCode.DECRYPT_FAILED,
                f"the attachment ends after {self._index} of {self._count} records",
            )
