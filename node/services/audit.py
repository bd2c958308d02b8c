"""The node's audit log (spec chapter 11): signing its heads and handing auditors their proofs.

Entries are appended by the units of work that store what they are about
(``ingest_commit``, ``publications``, ``receipts``, ``sql/trust.py``); this
module reads the log and signs it:

* ``sign_head`` signs the current size and root if the log grew since the
  last head, and keeps the signed head (the evidence this node gave out).
  Reading the root and storing the head are two short units; the signature
  (an ML-DSA signature, about a millisecond) is made between them, on no
  database thread. A head's root is a function of its size, so two workers
  signing the same size store one head.
* ``HeadSigner`` does that every ``audit_head_every`` entries or
  ``audit_head_interval_ms``, whichever comes first, and holds the newest
  signed head in memory (``latest``): peers fetch it
  (``GET /fed/v1/audit/head``) without a database trip, and the poll that
  decides when to sign refreshes it when another worker signed.
* ``export_bundle`` builds what ``baliza audit verify`` checks offline.
* ``record_export`` appends the leaf of a file of notices leaving the node
  (``services/export_files.py``), the one entry no other unit stores.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from sqlalchemy import Connection

from baliza.crypto import PublicKeys
from baliza.crypto.audit import sign_tree_head
from baliza.node.core.clock import now_ms
from baliza.node.services.context import NodeContext
from baliza.node.storage import Database
from baliza.node.storage import audit as audit_entries
from baliza.node.storage.sql import audit as audit_rows
from baliza.node.storage.sql import envelopes as envelope_rows
from baliza.protocol.audit import (
    AuditEntry,
    ConsistencyProof,
    EntryKind,
    InclusionBundle,
    SignedTreeHead,
    TreeHead,
    content_digest,
)
from baliza.protocol.errors import BalizaError, InputError, ReasonCode, StorageError

log = logging.getLogger(__name__)

# Defaults of the head cadence: a head at least every minute while the log
# grows, and after every 1,000 entries however fast it grows.
HEAD_EVERY = 1000
HEAD_INTERVAL_MS = 60_000
POLL_S = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class LogState:
    """The log's size and root now, and the newest head signed (size, time)."""

    size: int
    root: bytes
    head_size: int | None
    head_ms: int | None


def _state(connection: Connection) -> LogState:
    size, root = audit_rows.size_and_root(connection)
    latest = audit_rows.latest_head(connection)
    return LogState(
        size=size,
        root=root,
        head_size=None if latest is None else latest[0],
        head_ms=None if latest is None else latest[1],
    )


async def log_state(db: Database) -> LogState:
    """The log's size, root and newest head, in one read."""
    return await db.run(_state, write=False)


def _keep_head(connection: Connection, head: SignedTreeHead) -> None:
    newest = audit_rows.latest_head(connection)
    if newest is not None and newest[0] >= head.head.size:
        return  # another worker signed this size (or a later one) first
    audit_rows.add_head(
        connection,
        size=head.head.size,
        at_ms=head.head.at_ms,
        root=head.head.root,
        signed=head.to_bytes(),
    )


async def sign_head(ctx: NodeContext, *, force: bool = False) -> SignedTreeHead | None:
    """Sign and keep a head of the log as it is now; None if it did not grow (unless ``force``).

    ``force`` signs even an unchanged log (the first head of an empty log,
    or a fresh time on the same size).
    """
    state = await log_state(ctx.db)
    if not force and state.head_size is not None and state.head_size >= state.size:
        return None
    head = sign_tree_head(
        ctx.signing_keys(),
        TreeHead(log=ctx.agency, size=state.size, root=state.root, at_ms=now_ms()),
    )
    if state.head_size is None or state.head_size < state.size:
        await ctx.db.run(partial(_keep_head, head=head), write=True)
    return head


def _latest(connection: Connection) -> SignedTreeHead | None:
    latest = audit_rows.latest_head(connection)
    return None if latest is None else SignedTreeHead.from_bytes(latest[2])


async def latest_signed_head(db: Database) -> SignedTreeHead | None:
    """The newest head this node signed, or None."""
    return await db.run(_latest, write=False)


def _heads(connection: Connection, limit: int) -> list[SignedTreeHead]:
    return [SignedTreeHead.from_bytes(s) for _, _, s in audit_rows.heads(connection, limit)]


async def signed_heads(db: Database, limit: int = 100) -> list[SignedTreeHead]:
    """The heads this node signed, newest first."""
    return await db.run(partial(_heads, limit=limit), write=False)


def _consistency(connection: Connection, first: int, second: int) -> ConsistencyProof:
    size, _ = audit_rows.size_and_root(connection)
    if not first <= second <= size:
        raise InputError(
            ReasonCode.OUT_OF_RANGE, f"sizes must satisfy first <= second <= {size}", path="second"
        )
    proof = audit_rows.consistency_proof(connection, first, second)
    return ConsistencyProof(first=first, second=second, proof=tuple(proof))


async def consistency_between(ctx: NodeContext, first: int, second: int) -> ConsistencyProof:
    """PROOF(first, D[second]) of this node's log, for a peer holding a head of size ``first``."""
    return await ctx.db.run(partial(_consistency, first=first, second=second), write=False)


@dataclass(frozen=True, slots=True)
class _Found:
    index: int
    entry: AuditEntry
    head: bytes | None
    proof: list[bytes]
    content: bytes | None


def _find(
    connection: Connection, subject: str, kind: EntryKind | None, peer: str | None
) -> _Found | None:
    for index, entry in audit_rows.entries_about(connection, subject):
        if kind is not None and entry.kind is not kind:
            continue
        if peer is not None and entry.peer != peer:
            continue
        signed = audit_rows.head_covering(connection, index)
        proof = (
            []
            if signed is None
            else audit_rows.inclusion_proof(
                connection, index, SignedTreeHead.from_bytes(signed).head.size
            )
        )
        content = None
        if entry.kind is EntryKind.ENVELOPE_SENT:
            content = envelope_rows.sent_raw_or_none(connection, subject)
        elif entry.kind is EntryKind.ENVELOPE_RECEIVED and entry.peer is not None:
            content = envelope_rows.received_raw(connection, entry.peer, [subject]).get(subject)
        if content is not None and content_digest(content) != entry.digest:
            content = None  # not the bytes logged: the auditor gets the proof alone
        return _Found(index=index, entry=entry, head=signed, proof=proof, content=content)
    return None


async def export_bundle(
    ctx: NodeContext,
    subject: str,
    *,
    kind: EntryKind | None = None,
    peer: str | None = None,
    with_content: bool = True,
) -> InclusionBundle:
    """The auditor's bundle for the first entry about ``subject`` (of ``kind``, from ``peer``).

    When no head covers the entry yet, a head is signed now. Raises
    ``StorageError(NOT_FOUND)`` when the log has no such entry.
    """
    found = await ctx.db.run(partial(_find, subject=subject, kind=kind, peer=peer), write=False)
    if found is None:
        raise StorageError(ReasonCode.NOT_FOUND, f"no audit entry about {subject}")
    if found.head is None:
        await sign_head(ctx)
        found = await ctx.db.run(partial(_find, subject=subject, kind=kind, peer=peer), write=False)
        assert found is not None and found.head is not None  # just signed over it
    head = SignedTreeHead.from_bytes(found.head)
    return InclusionBundle(
        head=found.head,
        entry=found.entry.to_bytes(),
        index=found.index,
        proof=tuple(found.proof),
        keys=_signer(ctx, head).to_bytes(),
        content=found.content if with_content else None,
    )


def _signer(ctx: NodeContext, head: SignedTreeHead) -> PublicKeys:
    for keys in ctx.keyring:
        if keys.public().signing_key_id == head.key_id:
            return keys.public()
    raise StorageError(ReasonCode.NOT_FOUND, "the key that signed this head is no longer held")


class HeadSigner:
    """Signs a head every ``every`` entries or ``interval_ms``, whichever comes first."""

    def __init__(
        self, ctx: NodeContext, *, every: int = HEAD_EVERY, interval_ms: int = HEAD_INTERVAL_MS
    ) -> None:
        self._ctx = ctx
        self._every = every
        self._interval_ms = interval_ms
        self._task: asyncio.Task[None] | None = None
        # The newest head signed (by any worker), as served to peers.
        self.latest: SignedTreeHead | None = None

    async def current(self) -> SignedTreeHead:
        """The newest signed head; signed now if the log never had one."""
        if self.latest is None:
            self.latest = await latest_signed_head(self._ctx.db)
        if self.latest is None:
            self.latest = await sign_head(self._ctx, force=True)
        assert self.latest is not None  # force always signs
        return self.latest

    def start(self) -> None:
        """Start signing in the background."""
        self._task = asyncio.create_task(self._run(), name="audit head signer")

    async def stop(self) -> None:
        """Stop; a head being signed is either kept whole or not at all."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _stale(self, state: LogState) -> bool:
        held = self.latest
        return held is None or (held.head.size, held.head.at_ms) != (state.head_size, state.head_ms)

    def due(self, state: LogState, now: int) -> bool:
        """Whether a head is due: the log grew by ``every``, or grew and ``interval_ms`` passed."""
        signed = state.head_size or 0
        if state.size <= signed and state.head_size is not None:
            return False
        if state.size - signed >= self._every or state.head_size is None:
            return True
        return now - (state.head_ms or 0) >= self._interval_ms

    async def _run(self) -> None:
        while True:
            try:
                state = await log_state(self._ctx.db)
                signed = self.due(state, now_ms()) and await sign_head(self._ctx) is not None
                if signed or (state.head_size is not None and self._stale(state)):
                    self.latest = await latest_signed_head(self._ctx.db)
            except BalizaError as err:  # the database or the keys: try again later
                log.warning("audit head not signed: %s", err)
            await asyncio.sleep(POLL_S)


async def record_export(
    db: Database, *, actor: str, file_format: str, body: bytes, envelope_ids: Sequence[str]
) -> None:
    """Append an ``export`` leaf: notices left in a file, by whom, with the file's digest.

    One unit of one append, after the file was made and before it is
    answered: a file the log does not know never leaves.
    """
    entry = audit_entries.export(
        at_ms=now_ms(),
        actor=actor,
        file_format=file_format,
        body=body,
        envelope_ids=envelope_ids,
    )
    await db.run(partial(audit_rows.append, entries=[entry]), write=True)
