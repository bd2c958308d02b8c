"""The audit log's entries as the node builds them from what it stores (spec chapter 11).

Each builder takes the record a unit of work is about to store and returns
its entry: identifiers and the SHA-256 of the exact bytes, never content.
The statements are in ``sql/audit.py``; a unit appends the entries of
everything it stores in one call, in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from baliza.node.storage.envelopes import ReceivedEnvelope, SentEnvelope
from baliza.node.storage.receipts import Receipt
from baliza.protocol.audit import AuditEntry, EntryKind, content_digest
from baliza.protocol.canonical import encode
from baliza.protocol.ids import AgencyId


def sent(envelope: SentEnvelope) -> AuditEntry:
    """An envelope this node sealed: its id and the hash of its bytes."""
    return AuditEntry(
        kind=EntryKind.ENVELOPE_SENT,
        at_ms=envelope.created_ms,
        subject=envelope.id,
        digest=content_digest(envelope.raw),
    )


def received(envelope: ReceivedEnvelope) -> AuditEntry:
    """An envelope a peer delivered: its id, sender and the hash of its bytes as received."""
    return AuditEntry(
        kind=EntryKind.ENVELOPE_RECEIVED,
        at_ms=envelope.received_ms,
        subject=envelope.id,
        peer=AgencyId(envelope.sender),
        digest=content_digest(envelope.raw),
    )


def _receipt_digest(receipt: Receipt) -> bytes:
    return content_digest(
        encode(
            {
                "at_ms": receipt.at_ms,
                "envelope": receipt.envelope_id,
                "from": receipt.from_agency,
                "state": receipt.state.value,
            }
        )
    )


def receipt_received(receipt: Receipt, at_ms: int) -> AuditEntry:
    """A recipient's receipt this node accepted, about an envelope it sent."""
    return AuditEntry(
        kind=EntryKind.RECEIPT_RECEIVED,
        at_ms=at_ms,
        subject=receipt.envelope_id,
        peer=AgencyId(receipt.from_agency),
        digest=_receipt_digest(receipt),
    )


def read(receipt: Receipt, sender: str) -> AuditEntry:
    """A person here read ``sender``'s notice (the read receipt this node sends)."""
    return AuditEntry(
        kind=EntryKind.READ,
        at_ms=receipt.at_ms,
        subject=receipt.envelope_id,
        peer=AgencyId(sender),
        digest=_receipt_digest(receipt),
    )


def trust(
    *,
    seq: int,
    at_ms: int,
    actor: str,
    action: str,
    subject: str,
    detail: Mapping[str, Any],
) -> AuditEntry:
    """A trust event: its action in clear, everything else (actor, detail) only hashed."""
    event = {
        "action": action,
        "actor": actor,
        "at_ms": at_ms,
        "detail": json.dumps(dict(detail), sort_keys=True, separators=(",", ":")),
        "seq": seq,
        "subject": subject,
    }
    return AuditEntry(
        kind=EntryKind.TRUST,
        at_ms=at_ms,
        subject=action[:200],
        digest=content_digest(encode(event)),
    )


def export(
    *, at_ms: int, actor: str, file_format: str, body: bytes, envelope_ids: Sequence[str]
) -> AuditEntry:
    """Notices that left the node in a file: who, which, and the file's exact bytes, hashed.

    One notice's export is logged under its id, so its chain of custody
    shows it; a list under its format and count. The digest binds the
    person, the notices and the file: whoever holds the file can show it
    is the one the log recorded.
    """
    subject = (
        envelope_ids[0] if len(envelope_ids) == 1 else f"{file_format}:{len(envelope_ids)} notices"
    )
    event = {
        "actor": actor,
        "file": content_digest(body),
        "format": file_format,
        "notices": sorted(envelope_ids),
    }
    return AuditEntry(
        kind=EntryKind.EXPORT, at_ms=at_ms, subject=subject, digest=content_digest(encode(event))
    )
