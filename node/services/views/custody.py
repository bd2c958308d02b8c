"""A notice's chain of custody: its entries in this node's audit log, each proven (chapter 11).

``GET /api/v1/notices/{id}/custody`` and the console's notice page show the
same ``Custody``: every leaf of this node's log about the notice's envelope
(sealed and sent here, received here and from whom, a recipient's receipt,
read here) and about the outcomes answering it, each with its leaf index
and its inclusion proof checked against the newest head this node signed,
whose signature is checked too. A leaf appended after that head has no
proof yet; it gets one with the next head (within ``audit_head_interval_ms``).

Reading never writes: no head is signed here. The proofs are in the API's
form so that anyone can check them again (``baliza audit verify`` takes the
bundle of one entry: ``GET /api/v1/admin/audit/entries/{id}/bundle``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Connection

from baliza.crypto.audit import verify_tree_head
from baliza.node.services.context import NodeContext
from baliza.node.services.views.notice import answers_by_sender
from baliza.node.storage.sql import audit as audit_rows
from baliza.node.storage.sql import notices as notice_rows
from baliza.protocol import merkle
from baliza.protocol.audit import AuditEntry, EntryKind, SignedTreeHead
from baliza.protocol.errors import BalizaError

# Entries about an envelope received here name its sender as their peer.
_FROM_SENDER = frozenset({EntryKind.ENVELOPE_RECEIVED, EntryKind.READ})


@dataclass(frozen=True, slots=True, kw_only=True)
class CustodyEntry:
    """One leaf about the notice (or an outcome answering it), and whether its proof checked."""

    index: int
    entry: AuditEntry
    envelope_id: str
    proof: tuple[bytes, ...] | None  # None: appended after the newest signed head
    verified: bool

    def to_json(self) -> dict[str, Any]:
        """The API's CustodyEntry (chapter 08)."""
        return {
            "index": self.index,
            "kind": self.entry.kind.value,
            "envelope_id": self.envelope_id,
            "at_ms": self.entry.at_ms,
            "peer": self.entry.peer,
            "digest": self.entry.digest.hex(),
            "leaf_hash": merkle.leaf_hash(self.entry.to_bytes()).hex(),
            "proof": None if self.proof is None else [p.hex() for p in self.proof],
            "verified": self.verified,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Custody:
    """The chain of custody of one notice at this node, against its newest signed head."""

    envelope_id: str
    log: str
    head: SignedTreeHead | None
    head_verified: bool
    entries: tuple[CustodyEntry, ...]

    @property
    def complete(self) -> bool:
        """Every entry is covered by the head and its proof checked, and so did the head."""
        return self.head_verified and all(e.verified for e in self.entries)

    def to_json(self) -> dict[str, Any]:
        """The API's Custody object (chapter 08)."""
        head = self.head
        return {
            "id": self.envelope_id,
            "log": self.log,
            "head": None
            if head is None
            else {
                "size": head.head.size,
                "root": head.head.root.hex(),
                "at_ms": head.head.at_ms,
                "signed_head": head.to_bytes().hex(),
                "verified": self.head_verified,
            },
            "entries": [e.to_json() for e in self.entries],
        }


@dataclass(frozen=True, slots=True)
class _Facts:
    head: bytes | None
    found: list[tuple[int, AuditEntry, tuple[bytes, ...] | None]]


def _facts(connection: Connection, eid: str, sender: str | None) -> _Facts:
    row = notice_rows.get(connection, eid, sender)  # NOT_FOUND for a notice not held
    subjects = [eid, *(o.envelope_id for o in answers_by_sender(connection, row).values())]
    latest = audit_rows.latest_head(connection)
    size = 0 if latest is None else latest[0]
    found: list[tuple[int, AuditEntry, tuple[bytes, ...] | None]] = []
    for subject in dict.fromkeys(subjects):
        for index, entry in audit_rows.entries_about(connection, subject):
            if subject == eid and entry.kind in _FROM_SENDER and entry.peer != row.sender:
                continue  # another sender's envelope under the same id
            proof = (
                tuple(audit_rows.inclusion_proof(connection, index, size)) if index < size else None
            )
            found.append((index, entry, proof))
    found.sort(key=lambda f: f[0])
    return _Facts(head=None if latest is None else latest[2], found=found)


async def custody(ctx: NodeContext, eid: str, sender: str | None = None) -> Custody:
    """The chain of custody of notice ``eid`` (from ``sender``): one read unit, then the checks.

    Raises ``StorageError(NOT_FOUND)`` for a notice this node does not hold.
    A notice stored before the log existed has an empty chain.
    """
    facts = await ctx.db.run(partial(_facts, eid=eid, sender=sender), write=False)
    head = None if facts.head is None else SignedTreeHead.from_bytes(facts.head)
    head_verified = False
    if head is not None:
        for keys in ctx.keyring:
            if keys.public().signing_key_id == head.key_id:
                try:
                    verify_tree_head(keys.public(), head)
                    head_verified = True
                except BalizaError:
                    head_verified = False
    entries = []
    for index, entry, proof in facts.found:
        verified = False
        if head is not None and proof is not None:
            try:
                merkle.verify_inclusion(
                    merkle.leaf_hash(entry.to_bytes()),
                    index,
                    head.head.size,
                    proof,
                    head.head.root,
                )
                verified = head_verified
            except BalizaError:
                verified = False
        entries.append(
            CustodyEntry(
                index=index,
                entry=entry,
                envelope_id=entry.subject,
                proof=proof,
                verified=verified,
            )
        )
    return Custody(
        envelope_id=eid,
        log=ctx.agency,
        head=head,
        head_verified=head_verified,
        entries=tuple(entries),
    )
