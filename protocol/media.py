"""Which allowed media type a content is, from its first bytes (chapter 10 §1).

Pure, so that the sender on upload, each recipient on receipt and another
implementation (``protocol/vectors/attachments.json``) decide alike. The
type is never taken from what an uploader claims alone: binary formats are
told by their signatures; text is whatever of ``text/plain`` or ``text/csv``
was claimed, if the head is UTF-8 without NUL.
"""

from __future__ import annotations

from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.notices import MediaType

SNIFF_BYTES = 64
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1"}
_MP4_BRANDS = {b"isom", b"iso2", b"mp41", b"mp42", b"avc1", b"M4V ", b"dash"}


def sniff(head: bytes, claimed: str | None) -> MediaType:
    """The allowed type ``head`` (the first bytes) really is; refuse anything else.

    Binary formats are recognised by their signatures; text is accepted as
    ``text/plain`` or ``text/csv`` (as claimed) only if it is UTF-8 without
    NUL bytes, which rules out executables and most polyglots.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return MediaType.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return MediaType.PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return MediaType.WEBP
    if head.startswith(b"%PDF-"):
        return MediaType.PDF
    if head[4:8] == b"ftyp":
        if head[8:12] in _HEIF_BRANDS:
            return MediaType.HEIC
        if head[8:12] in _MP4_BRANDS:
            return MediaType.MP4
    if claimed in {MediaType.TEXT.value, MediaType.CSV.value} and b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 3:  # not just a character cut at the end
                raise _unsupported(claimed) from None
        return MediaType(claimed)
    raise _unsupported(claimed)


def _unsupported(claimed: str | None) -> InputError:
    allowed = ", ".join(m.value for m in MediaType)
    return InputError(
        ReasonCode.UNSUPPORTED_MEDIA,
        f"content is not one of: {allowed} (claimed {claimed or 'nothing'})",
        path="Content-Type",
    )
