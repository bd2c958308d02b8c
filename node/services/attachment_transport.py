"""Attachments between nodes: the sender serves them sealed, each recipient fetches and checks.

A notice lists its attachments (hash, type, size, name) inside the signed,
encrypted body; the content stays on the sender's node until a recipient
asks for it with a signed request. The sender answers only an agency the
envelope was addressed to, and only content that envelope's notice lists,
sealed under a key derived from the envelope's content key (see
``baliza.crypto.attachments``). The recipient unwraps the same content key
from its own copy of the envelope, opens the records as they stream in,
writes the content to a temporary file and keeps it only if it has exactly
the hash, size and type the signed notice lists.

Recipients fetch as soon as a notice with attachments is stored (the
``Prefetcher``, a few attempts with back-off), and again on demand when a
person asks for content that is not here yet, so a sender that was down at
ingest time costs a retry, never the photo.

Files are stored once per content, but each received notice's content is
fetched from that notice's own sender, whether or not the same bytes are
already here for another notice: deduplication is of storage, never of
authority. A member listing the hash of content this node holds learns
nothing from it (the fetch comes all the same) and gets nothing shown
under its notice that it did not serve itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
from sqlalchemy import Connection

from baliza.crypto.attachments import RecordOpener, attachment_key, sealed_size
from baliza.crypto.seal import content_key
from baliza.node.core.clock import now_ms
from baliza.node.services.context import NodeContext
from baliza.node.services.fedclient import stream_get
from baliza.node.storage.attachments import AttachmentStore, StoredAttachment
from baliza.node.storage.notices import Direction, StoredNotice
from baliza.node.storage.sql import attachments as attachment_rows
from baliza.node.storage.sql import delivery as delivery_rows
from baliza.node.storage.sql import notices as notice_rows
from baliza.protocol.envelope import parse_envelope
from baliza.protocol.errors import (
    BalizaError,
    InputError,
    ReasonCode,
    StorageError,
    TransportError,
    TrustError,
)
from baliza.protocol.ids import AgencyId, EnvelopeId
from baliza.protocol.notices import MediaType

log = logging.getLogger(__name__)

# Attempts after a notice arrives, and the pause before each retry.
PREFETCH_DELAYS_S = (0.0, 2.0, 10.0, 60.0, 300.0)
PREFETCH_WORKERS = 2
PREFETCH_QUEUE = 10_000


def store_of(ctx: NodeContext) -> AttachmentStore:
    """The node's content-addressed attachment files."""
    return AttachmentStore(ctx.config.data_dir / "attachments")


def attachment_entries(notice: StoredNotice) -> list[dict[str, Any]]:
    """The attachment entries of a stored notice as JSON (a correction's inside ``notice``)."""
    return _entries(notice.notice_json)


def _entries(notice_json: str) -> list[dict[str, Any]]:
    body: dict[str, Any] = json.loads(notice_json)
    entries: list[dict[str, Any]] = (
        body.get("attachments") or body.get("notice", {}).get("attachments") or []
    )
    return entries


def listed(notice: StoredNotice) -> list[StoredAttachment]:
    """The attachments a stored notice lists, as the content store describes them."""
    return _listed(notice.notice_json)


def _listed(notice_json: str) -> list[StoredAttachment]:
    return [
        StoredAttachment(
            sha256=str(e["sha256"]), media_type=MediaType(e["media_type"]), size=int(e["size"])
        )
        for e in _entries(notice_json)
    ]


def entry_of(notice: StoredNotice, sha256: str) -> StoredAttachment:
    """The entry of ``sha256`` in ``notice``; ``NOT_FOUND`` when the notice does not list it."""
    return _entry_of(notice.notice_json, sha256)


def _entry_of(notice_json: str, sha256: str) -> StoredAttachment:
    for entry in _listed(notice_json):
        if entry.sha256 == sha256:
            return entry
    raise InputError(ReasonCode.NOT_FOUND, "the notice lists no such attachment", path="sha256")


def _notice(connection: Connection, envelope_id: str, sender: str) -> StoredNotice:
    """Unit: ``sender``'s stored notice ``envelope_id``. Raises NOT_FOUND."""
    found = notice_rows.get_many(connection, [(sender, envelope_id)]).get((sender, envelope_id))
    if found is None:
        raise StorageError(ReasonCode.NOT_FOUND, f"no notice for envelope {envelope_id}")
    return found


def download_headers(media_type: str, saved_as: str) -> dict[str, str]:
    """How a node answers with attachment content: a typed download, never a page.

    The type is the one the signed notice declares (all on an allow-list of
    passive formats, and checked against the content when it was fetched);
    the file is offered as a download under ``saved_as``, the name with the
    extension of that type (``saved_filename``), in ASCII and in UTF-8
    (RFC 6266), and is never sniffed or rendered.
    """
    fallback = saved_as.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return {
        "Content-Type": media_type,
        "Content-Disposition": (
            f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(saved_as, safe='')}"
        ),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
    }


@dataclass(frozen=True, slots=True)
class SealedSource:
    """What the sender streams: the content file and the key its records are sealed with."""

    path: Path
    key: bytes
    size: int


async def sealed_source(
    ctx: NodeContext, origin: AgencyId, eid: EnvelopeId, sha256: str
) -> SealedSource:
    """Check ``origin`` may have attachment ``sha256`` of our envelope ``eid``; say how to seal it.

    A member the envelope was not addressed to hears the same ``not_found``
    as one asking for an id that does not exist, so nobody learns which
    envelopes this node sent to others.
    """
    ctx.count("baliza_attachment_requests_total")  # asked by a member, served or not
    store = store_of(ctx)
    store.path(sha256)  # the hash is well formed before anything is looked up
    found = await ctx.db.run(
        partial(delivery_rows.sent_copy, envelope_id=eid, to=origin, me=ctx.agency), write=False
    )
    if found is None:
        raise StorageError(ReasonCode.NOT_FOUND, f"no envelope {eid} to {origin} here")
    raw, notice_json = found
    entry = _entry_of(notice_json, sha256)
    path = store.path(sha256)
    if path is None:
        raise StorageError(ReasonCode.NOT_FOUND, "the sender no longer holds that content")
    envelope = parse_envelope(raw)
    header = envelope.header
    signer = ctx.trust.sender_key(header.sender, header.sender_key, header.created_ms, now_ms())
    ck = content_key(envelope, recipient=ctx.keyring.for_envelope(envelope), sender=signer.keys)
    key = attachment_key(ck, eid, bytes.fromhex(sha256))
    return SealedSource(path=path, key=key, size=entry.size)


async def fetch(
    ctx: NodeContext, session: aiohttp.ClientSession, notice: StoredNotice, sha256: str
) -> Path:
    """The file of attachment ``sha256`` of ``notice``; for a received one, fetched from its sender.

    Content counts as a received notice's only once it was fetched from that
    notice's sender, for that envelope, and matched what the notice signed
    (recorded per notice). Holding the same content for another notice does
    not count: it is fetched again from this notice's sender, and written
    over the stored file with the same bytes. Storage is shared by content;
    authority never is (chapter 10 §4).

    Raises ``TransportError`` when the sender cannot be reached or refuses,
    ``DECRYPT_FAILED`` when what it sends does not open, and ``INCONSISTENT``
    when it opens to other content than the signed notice lists.
    """
    store = store_of(ctx)
    entry = entry_of(notice, sha256)
    if notice.direction != Direction.IN:
        path = store.path(sha256)  # our own notice (or our share, fetched before it went out)
        if path is None:
            raise StorageError(ReasonCode.NOT_FOUND, "this node no longer holds that content")
        return path
    eid = EnvelopeId(notice.envelope_id)
    facts = await ctx.db.run(
        partial(attachment_rows.fetch_facts, envelope_id=eid, sender=notice.sender), write=False
    )
    if sha256 in facts.fetched and (path := store.path(sha256)) is not None:
        return path
    envelope = parse_envelope(facts.raw)
    header = envelope.header
    now = now_ms()
    signer = ctx.trust.sender_key(header.sender, header.sender_key, header.created_ms, now)
    ck = content_key(envelope, recipient=ctx.keyring.for_envelope(envelope), sender=signer.keys)
    key = attachment_key(ck, eid, bytes.fromhex(sha256))
    peer = ctx.trust.peer(header.sender, now)
    path_qs = f"/fed/v1/attachments/{eid}/{sha256}"
    chunks = stream_get(session, ctx.signing_keys(), peer, path_qs, sealed_size(entry.size))
    try:
        async with contextlib.aclosing(chunks):
            opened = _opened(chunks, key, entry.size)
            stored = await store.put(opened, entry.media_type.value, entry)
    except (TrustError, InputError) as err:
        # What the sender sent does not open or is not the signed content:
        # the sender's fault, answered as a bad gateway, and nothing kept.
        log.warning("attachment %s of %s from %s refused: %s", sha256[:12], eid, peer.agency, err)
        raise TransportError(err.reason, f"from {peer.agency}: {err.detail}") from None
    await ctx.db.run(
        partial(
            attachment_rows.record_fetch,
            sender=notice.sender,
            envelope_id=eid,
            sha256=stored.sha256,
            now_ms=now_ms(),
        ),
        write=True,
    )
    ctx.count("baliza_attachments_fetched_total")
    log.info("fetched attachment %s of %s from %s", sha256[:12], eid, header.sender)
    return store.folder / stored.sha256


async def _opened(chunks: AsyncIterator[bytes], key: bytes, size: int) -> AsyncIterator[bytes]:
    opener = RecordOpener(key, size)
    async for chunk in chunks:
        for piece in opener.feed(chunk):
            yield piece
    opener.finish()


class Fetcher:
    """Fetches the attachments of received notices: at once when stored, and on demand.

    One fetch per content at a time (a person opening a photo while the
    prefetch runs waits for the same download). A notice whose sender cannot
    be reached is tried again later (``PREFETCH_DELAYS_S``) without holding a
    worker. The queue is in memory: a restart loses only the early start,
    since asking for the content later fetches it then.
    """

    def __init__(self, ctx: NodeContext, session: aiohttp.ClientSession) -> None:
        self._ctx = ctx
        self._session = session
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._queue: asyncio.Queue[tuple[str, str, int]] = asyncio.Queue(PREFETCH_QUEUE)
        self._workers: list[asyncio.Task[None]] = []
        self._retries: set[asyncio.TimerHandle] = set()

    def start(self) -> None:
        """Start the prefetch workers and hear of every notice stored from now on."""
        self._ctx.on_notices_stored.append(self.notices_stored)
        self._workers = [
            asyncio.create_task(self._work(), name=f"attachment fetch {i}")
            for i in range(PREFETCH_WORKERS)
        ]

    async def stop(self) -> None:
        """Stop the workers; a download under way is cut and its temporary file removed."""
        with contextlib.suppress(ValueError):
            self._ctx.on_notices_stored.remove(self.notices_stored)
        for handle in self._retries:
            handle.cancel()
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []

    def notices_stored(self, stored: list[tuple[str, str]]) -> None:
        """Queue (sender, envelope id) pairs just received, to fetch what they list."""
        for sender, eid in stored:
            self._enqueue(sender, eid, 0)

    def _enqueue(self, sender: str, eid: str, attempt: int) -> None:
        try:
            self._queue.put_nowait((sender, eid, attempt))
        except asyncio.QueueFull:
            log.warning("attachment prefetch queue full; %s will be fetched on demand", eid)

    async def get(self, notice: StoredNotice, sha256: str) -> Path:
        """The content of ``sha256`` listed in ``notice``, fetching it first if needed."""
        lock, users = self._locks.get(sha256, (asyncio.Lock(), 0))
        self._locks[sha256] = (lock, users + 1)
        try:
            async with lock:
                return await fetch(self._ctx, self._session, notice, sha256)
        finally:
            lock, users = self._locks[sha256]
            if users == 1:
                del self._locks[sha256]
            else:
                self._locks[sha256] = (lock, users - 1)

    async def _work(self) -> None:
        while True:
            sender, eid, attempt = await self._queue.get()
            try:
                await self._prefetch(sender, eid)
            except BalizaError as err:
                log.info("attachments of %s not fetched (attempt %d): %s", eid, attempt + 1, err)
                if attempt + 1 < len(PREFETCH_DELAYS_S):
                    self._retry(sender, eid, attempt + 1)
            except Exception:
                log.exception("attachment prefetch of %s failed", eid)

    def _retry(self, sender: str, eid: str, attempt: int) -> None:
        def again() -> None:
            self._retries.discard(handle)
            self._enqueue(sender, eid, attempt)

        loop = asyncio.get_running_loop()
        handle = loop.call_later(PREFETCH_DELAYS_S[attempt], again)
        self._retries.add(handle)

    async def _prefetch(self, sender: str, eid: str) -> None:
        notice = await self._ctx.db.run(
            partial(_notice, envelope_id=eid, sender=sender), write=False
        )
        for entry in listed(notice):
            await self.get(notice, entry.sha256)
