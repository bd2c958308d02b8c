"""Attachment records open only whole, in order, under their own key; the vectors hold."""

from __future__ import annotations

import hashlib
import hmac
import json
import struct

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from make_attachment_vectors import CONTENT_KEY, ENVELOPE, OUT, content, sealed, vectors

from baliza.crypto.attachments import (
    RECORD_OVERHEAD,
    RECORD_PLAIN,
    RecordOpener,
    RecordSealer,
    attachment_key,
    sealed_size,
)
from baliza.protocol.errors import InputError, ReasonCode, TrustError, UsageError
from baliza.protocol.ids import EnvelopeId

OTHER_ENVELOPE = EnvelopeId("01890a5d-ac96-7b5e-9f3a-0c1d2e3f4a5c")


def open_all(key: bytes, size: int, form: bytes, piece: int) -> bytes:
    opener = RecordOpener(key, size)
    out = []
    for at in range(0, len(form), piece):
        out.extend(opener.feed(form[at : at + piece]))
    opener.finish()
    return b"".join(out)


def test_the_vector_file_is_what_the_generator_writes() -> None:
    assert json.loads(OUT.read_text()) == vectors()


def test_the_key_and_first_record_follow_the_spec_by_hand() -> None:
    """HMAC, PAE and AES-GCM called directly, not through baliza.crypto."""
    data = content(70_000)
    sha = hashlib.sha256(data).digest()
    tag = b"baliza/v1 attachment-key"
    body = ENVELOPE.encode() + sha
    pae = b"baliza-pae" + struct.pack(">Q", len(tag)) + tag + struct.pack(">Q", len(body)) + body
    key = hmac.new(CONTENT_KEY, pae, hashlib.sha256).digest()
    assert key == attachment_key(CONTENT_KEY, ENVELOPE, sha)
    first = AESGCM(key).encrypt(bytes(12), data[:RECORD_PLAIN], b"")
    last = AESGCM(key).encrypt(bytes(10) + b"\x01\x01", data[RECORD_PLAIN:], b"")
    assert sealed(70_000)[1] == first + last


SIZES = [1, 100, RECORD_PLAIN - 1, RECORD_PLAIN, RECORD_PLAIN + 1, 200_000]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("piece", [1_000, 65_552, 1 << 20])
def test_content_opens_whole_in_pieces_of_any_size(size: int, piece: int) -> None:
    sha, form = sealed(size)
    assert len(form) == sealed_size(size)
    key = attachment_key(CONTENT_KEY, ENVELOPE, sha)
    assert open_all(key, size, form, piece) == content(size)


def test_a_flipped_bit_a_cut_a_swap_or_another_key_does_not_open() -> None:
    size = 3 * RECORD_PLAIN + 5
    sha, form = sealed(size)
    key = attachment_key(CONTENT_KEY, ENVELOPE, sha)
    record = RECORD_PLAIN + RECORD_OVERHEAD
    flipped = bytearray(form)
    flipped[record + 7] ^= 1
    with pytest.raises(TrustError) as err:
        open_all(key, size, bytes(flipped), 4096)
    assert err.value.reason == ReasonCode.DECRYPT_FAILED
    swapped = form[record : 2 * record] + form[:record] + form[2 * record :]
    with pytest.raises(TrustError, match="record 0"):
        open_all(key, size, swapped, 4096)
    # Cut after a whole record: the counter says more must come.
    with pytest.raises(TrustError, match="ends after 3 of 4"):
        open_all(key, size, form[: 3 * record], 4096)
    # A stream cut and its third record presented as last does not open either.
    shorter = RecordOpener(key, 3 * RECORD_PLAIN)
    with pytest.raises(TrustError, match="record 2"):
        shorter.feed(form[: 3 * record])
    for other in (
        attachment_key(CONTENT_KEY, OTHER_ENVELOPE, sha),
        attachment_key(CONTENT_KEY, ENVELOPE, hashlib.sha256(b"other").digest()),
        attachment_key(bytes(32), ENVELOPE, sha),
    ):
        with pytest.raises(TrustError):
            open_all(other, size, form, 1 << 20)


def test_bytes_past_the_sealed_size_are_refused_at_once() -> None:
    sha, form = sealed(10)
    opener = RecordOpener(attachment_key(CONTENT_KEY, ENVELOPE, sha), 10)
    with pytest.raises(InputError) as err:
        opener.feed(form + b"x")
    assert err.value.reason == ReasonCode.TOO_LARGE


def test_the_sealer_takes_chunks_of_exactly_the_record_size() -> None:
    sealer = RecordSealer(attachment_key(CONTENT_KEY, ENVELOPE, bytes(32)), RECORD_PLAIN + 1)
    with pytest.raises(UsageError):
        sealer.seal(b"short")
    sealer.seal(bytes(RECORD_PLAIN))
    assert sealer.chunk_len() == 1
    sealer.seal(b"x")
    assert sealer.chunk_len() == 0
    with pytest.raises(UsageError):
        sealer.seal(b"")
    with pytest.raises(UsageError):
        attachment_key(CONTENT_KEY, ENVELOPE, b"short")


FILE = json.loads(OUT.read_text())


@pytest.mark.parametrize("case", FILE["media_types"], ids=lambda c: c["name"])
def test_each_media_type_vector_is_what_sniffing_decides(case: dict[str, object]) -> None:
    from baliza.protocol.media import sniff

    head = bytes.fromhex(str(case["head"]))
    claimed = case["claimed"] if isinstance(case["claimed"], str) else None
    if case["expect"] == "unsupported_media":
        with pytest.raises(InputError) as refused:
            sniff(head, claimed)
        assert refused.value.reason is ReasonCode.UNSUPPORTED_MEDIA
    else:
        assert sniff(head, claimed).value == case["expect"]


@pytest.mark.parametrize("case", FILE["answer_media_types"], ids=lambda c: str(c["content_type"]))
def test_only_baliza_s_media_type_is_read_from_a_fetch(case: dict[str, object]) -> None:
    from baliza.protocol.federation import check_answer_media_type

    label = case["content_type"] if isinstance(case["content_type"], str) else None
    if case["expect"] == "ok":
        check_answer_media_type(label)
        return
    with pytest.raises(InputError) as refused:
        check_answer_media_type(label)
    assert (refused.value.reason, refused.value.path) == (
        ReasonCode.UNSUPPORTED_MEDIA,
        "Content-Type",
    )
