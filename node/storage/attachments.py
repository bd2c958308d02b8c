"""Attachment content on disk, content-addressed: ``attachments/<sha256 hex>``.

Uploads are streamed: each chunk is hashed and written as it arrives, so a
10 MiB X-ray image never sits whole in memory, and a body past the limit is
cut off at the limit. The file gets its final name (its hash) only once it
is complete, so a reader never sees half a file; the same content uploaded
twice is stored once. The type is decided from the content's first bytes
(``sniff``), never from what the uploader claimed alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from baliza.protocol.errors import InputError, ReasonCode, StorageError, TrustError
from baliza.protocol.media import SNIFF_BYTES as SNIFF_BYTES
from baliza.protocol.media import sniff as sniff
from baliza.protocol.notices import MediaType
from baliza.protocol.notices.common import MAX_ATTACHMENT_SIZE

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def _sync(out: BinaryIO) -> None:
    out.flush()
    os.fsync(out.fileno())


@dataclass(frozen=True, slots=True)
class StoredAttachment:
    """What a notice's ``attachments`` entry needs: hash, type, size."""

    sha256: str
    media_type: MediaType
    size: int


class AttachmentStore:
    """Content-addressed attachment files under the node's data folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, sha256: str) -> Path | None:
        """The file holding content ``sha256`` (hex), if this node has it."""
        if _SHA256_HEX.fullmatch(sha256) is None:
            raise InputError(ReasonCode.BAD_FORMAT, "must be 64 lower-case hex", path="sha256")
        path = self.folder / sha256
        return path if path.is_file() else None

    async def put(
        self,
        chunks: AsyncIterator[bytes],
        claimed: str | None,
        expected: StoredAttachment | None = None,
    ) -> StoredAttachment:
        """Stream ``chunks`` to disk; refuse a body over the limit or of a type not allowed.

        With ``expected`` (content fetched for a signed notice), the content is
        kept only if it has exactly that hash, size and type (``INCONSISTENT``).
        """
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        head = b""
        media: MediaType | None = None
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > MAX_ATTACHMENT_SIZE:
                        raise InputError(
                            ReasonCode.TOO_LARGE,
                            f"an attachment is at most {MAX_ATTACHMENT_SIZE} bytes",
                            path="body",
                        )
                    if media is None:
                        head += chunk[: SNIFF_BYTES - len(head)]
                        if len(head) >= SNIFF_BYTES:
                            media = sniff(head, claimed)
                    digest.update(chunk)
                    await asyncio.to_thread(out.write, chunk)
                if size == 0:
                    raise InputError(ReasonCode.MISSING_FIELD, "the body is empty", path="body")
                media = media or sniff(head, claimed)
                await asyncio.to_thread(_sync, out)
            sha256 = digest.hexdigest()
            stored = StoredAttachment(sha256=sha256, media_type=media, size=size)
            if expected is not None and stored != expected:
                raise TrustError(
                    ReasonCode.INCONSISTENT,
                    "the content is not what the signed notice lists "
                    f"(sha256 {sha256[:12]}…, {size} bytes, {media.value})",
                    path="sha256",
                )
            os.replace(tmp, self.folder / sha256)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return stored

    def check_readable(self, sha256: str) -> Path:
        """The file of ``sha256`` or ``StorageError(NOT_FOUND)`` saying why it is missing."""
        path = self.path(sha256)
        if path is None:
            raise StorageError(
                ReasonCode.NOT_FOUND,
                "this node does not hold that content",
            )
        return path
