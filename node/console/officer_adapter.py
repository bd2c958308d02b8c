"""What the officer's pages read and store beyond publishing: photos, JITs, own notices.

Part of the console's one door to the node (with ``adapter``): photos go
through ``AttachmentStore.put``, the store ``POST /api/v1/attachments``
writes with (type sniffed from the content, size-limited, streamed to
disk); a notice lists only content this node holds at the size it says,
as the API checks before publishing; a download answers with the type the
signed notice declares, as a file, never as a page.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from baliza.node.services.attachment_transport import Fetcher, attachment_entries, store_of
from baliza.node.services.context import NodeContext
from baliza.node.services.publication_facts import notice_to_correct
from baliza.node.services.views import StoredNotice
from baliza.node.services.views import channels as channel_views
from baliza.node.services.views.feed import stored_notice
from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.ids import envelope_id
from baliza.protocol.notices.filenames import check_filename, saved_filename

CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class Download:
    """A file a notice lists, typed as that notice says, and the name it is saved under.

    ``filename`` is the notice's name with the extension of its checked
    media type (``saved_filename``), never the partner's extension.
    """

    path: Path
    media_type: str
    filename: str


async def _chunks(file: IO[bytes]) -> AsyncIterator[bytes]:
    while chunk := await asyncio.to_thread(file.read, CHUNK):
        yield chunk


async def store_photo(
    ctx: NodeContext, file: IO[bytes], claimed: str | None, filename: str
) -> dict[str, Any]:
    """Stream one uploaded file into the store; the notice's ``attachments`` entry for it.

    A name with control, format or bidirectional characters is refused
    before anything is stored (``bad_format``), as the notice would be.
    """
    check_filename(filename, "photos")
    stored = await store_of(ctx).put(_chunks(file), claimed)
    return {
        "sha256": stored.sha256,
        "media_type": stored.media_type.value,
        "size": stored.size,
        "filename": filename,
    }


def check_held(ctx: NodeContext, entry: dict[str, Any]) -> None:
    """Refuse an entry naming content this node does not hold, or at another size."""
    path = store_of(ctx).path(str(entry.get("sha256", "")))
    if path is None:
        raise InputError(ReasonCode.NOT_FOUND, "this node does not hold that photo", path="photos")
    if path.stat().st_size != entry.get("size"):
        raise InputError(ReasonCode.INCONSISTENT, "is not the size of that content", path="photos")


def listed(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The attachments a notice's JSON lists (a correction's are in its replacement)."""
    inner = body.get("notice") if body.get("kind") == "notice.correction" else body
    found = (inner or {}).get("attachments") or []
    return [a for a in found if isinstance(a, dict)]


async def download(ctx: NodeContext, fetcher: Fetcher, raw_id: str, sha256: str) -> Download:
    """A file the notice ``raw_id`` lists, as ``GET /api/v1/notices/{id}/attachments`` serves.

    A received notice's file not fetched yet is fetched from its sender first.
    """
    row = await stored_notice(ctx, envelope_id(raw_id, "id"))
    entry = next((a for a in attachment_entries(row) if a.get("sha256") == sha256), None)
    if entry is None:
        raise InputError(ReasonCode.NOT_FOUND, "the notice lists no such attachment", path="sha256")
    return Download(
        path=await fetcher.get(row, sha256),
        media_type=str(entry["media_type"]),
        filename=saved_filename(str(entry["filename"]), str(entry["media_type"])),
    )


async def own_notice(ctx: NodeContext, raw_id: str) -> StoredNotice:
    """A notice this agency sent, to correct: the publication's own ownership rule decides."""
    return await notice_to_correct(ctx, raw_id)


async def sent_channel(ctx: NodeContext, eid: str) -> str | None:
    """The channel a notice this node sent went to (its envelope header says), if any."""
    return await channel_views.sent_channel(ctx, eid)


async def jit_channels(ctx: NodeContext) -> list[tuple[str, str]]:
    """The JIT channels this agency is a member of, as (id, name), for case notices."""
    return await channel_views.jit_channels(ctx)
