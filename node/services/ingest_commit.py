"""The write unit of ingest: what concurrent inbox requests store, in one shared unit of work.

A live push carries one envelope per request. Storing each in its own
transaction costs a commit (an fsync on SQLite in ``synchronous=FULL``, a WAL
flush on PostgreSQL) per notice, several times the cost of opening the
envelope; concurrent requests instead hand their writes to one
``GroupCommit`` and share the next unit. Everything before the write (checks,
verification, decryption) stays per request, so a refusal never waits for
anyone else's commit.

The unit (``store_inbound``) does, in one trip: insert the envelopes not
stored yet (a copy that raced in from another request or worker is a
duplicate, not an error), their recipients, their notices with references
and full-text rows, the receipts that check out against what this node sent
(``decide_receipt`` on facts read in the same unit), the cross-worker signal,
and, when someone follows live, the new notices' newest hits. It returns per
request what was stored and what was refused, so nothing is read back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection

from baliza.node.core.notify import LIVE_CHANNEL, live_payload, signal_in
from baliza.node.services.group_commit import GroupCommit
from baliza.node.services.plausibility import check_receipt_time
from baliza.node.services.written import Written, written_with_hits
from baliza.node.storage import Database, audit
from baliza.node.storage.envelopes import ReceivedEnvelope
from baliza.node.storage.notices import NoticeRecord
from baliza.node.storage.receipts import Receipt
from baliza.node.storage.sql import audit as audit_rows
from baliza.node.storage.sql import envelopes as envelope_rows
from baliza.node.storage.sql import notices as notice_rows
from baliza.node.storage.sql import receipts as receipt_rows
from baliza.node.storage.sql.receipts import SentTo
from baliza.protocol.errors import BalizaError, ReasonCode, TrustError


@dataclass(frozen=True, slots=True)
class StoreWrite:
    """What one inbox request stores: its envelopes, their notices and receipts.

    ``receipts`` pairs each receipt with the id of the envelope carrying it.
    """

    envelopes: tuple[ReceivedEnvelope, ...]
    notices: tuple[NoticeRecord, ...] = ()
    receipts: tuple[tuple[str, Receipt], ...] = ()
    now_ms: int = 0
    skew_ms: int = 0
    with_hits: bool = False


@dataclass(frozen=True, slots=True)
class StoreResult:
    """What a request's write did: envelope ids stored, refused (by id), notices written."""

    inserted: frozenset[str]
    refused: dict[str, BalizaError] = field(default_factory=dict)
    written: tuple[Written, ...] = ()


def decide_receipt(receipt: Receipt, sent: SentTo | None, *, now_ms: int, skew_ms: int) -> None:
    """A receipt counts only for an envelope this node sent to its sender, dated plausibly.

    Raises ``TrustError(INCONSISTENT)`` naming what is wrong.
    """
    if sent is None or not sent.addressed:
        raise TrustError(
            ReasonCode.INCONSISTENT,
            "a receipt for an envelope this node did not send to you",
            path="envelope",
        )
    check_receipt_time(
        receipt.at_ms,
        sent_ms=sent.created_ms,
        delivered_ms=sent.delivered_ms,
        now_ms=now_ms,
        skew_ms=skew_ms,
    )


def store_inbound(connection: Connection, writes: Sequence[StoreWrite]) -> list[StoreResult]:
    """Store every request's rows in one unit; one result per request, in order."""
    # An envelope named by two requests of the group is stored for the first.
    first: dict[tuple[str, str], int] = {}
    for index, write in enumerate(writes):
        for envelope in write.envelopes:
            first.setdefault((envelope.sender, envelope.id), index)
    refused: list[dict[str, BalizaError]] = [{} for _ in writes]
    receipts: list[tuple[str, Receipt]] = []  # (carrying envelope id, receipt)
    for index, write in enumerate(writes):
        if not write.receipts:
            continue
        sender = write.envelopes[0].sender
        facts = receipt_rows.sent_to(connection, sender, [r.envelope_id for _, r in write.receipts])
        for carrier, receipt in write.receipts:
            try:
                decide_receipt(
                    receipt,
                    facts.get(receipt.envelope_id),
                    now_ms=write.now_ms,
                    skew_ms=write.skew_ms,
                )
                receipts.append((carrier, receipt))
            except BalizaError as err:
                refused[index][carrier] = err
    envelopes = [
        e
        for index, write in enumerate(writes)
        for e in write.envelopes
        if first[(e.sender, e.id)] == index and e.id not in refused[index]
    ]
    inserted = envelope_rows.insert_received(connection, envelopes)
    new_keys = {(e.sender, e.id) for e in envelopes if e.id in inserted}
    records = [n for w in writes for n in w.notices if (n.sender, n.envelope_id) in new_keys]
    seqs = notice_rows.insert_notices(connection, records)
    # A receipt arriving again in a duplicate envelope adds nothing.
    accepted = [(carrier, r) for carrier, r in receipts if (r.from_agency, carrier) in new_keys]
    receipt_rows.insert_receipts(connection, [r for _, r in accepted])
    # The audit log (spec chapter 11) in the same unit: what was stored, nothing else.
    arrived = {(e.sender, e.id): e.received_ms for e in envelopes}
    audit_rows.append(
        connection,
        [audit.received(e) for e in envelopes if (e.sender, e.id) in new_keys]
        + [audit.receipt_received(r, arrived[(r.from_agency, c)]) for c, r in accepted],
    )
    signal_in(connection, LIVE_CHANNEL, live_payload(list(seqs)))
    recipients = {(e.sender, e.id): [r.agency for r in e.recipients] for e in envelopes}
    stored = [
        notice_rows.stored_from(
            n, seqs[(n.sender, n.envelope_id)], recipients[(n.sender, n.envelope_id)]
        )
        for n in records
    ]
    written = written_with_hits(connection, stored, with_hits=any(w.with_hits for w in writes))
    by_key = {(w.notice.sender, w.notice.envelope_id): w for w in written}
    return [
        StoreResult(
            inserted=frozenset(
                e.id
                for e in write.envelopes
                if (e.sender, e.id) in new_keys and first[(e.sender, e.id)] == index
            ),
            refused=refused[index],
            written=tuple(
                by_key[(n.sender, n.envelope_id)]
                for n in write.notices
                if (n.sender, n.envelope_id) in by_key and first[(n.sender, n.envelope_id)] == index
            ),
        )
        for index, write in enumerate(writes)
    ]


def ingest_commit(db: Database) -> GroupCommit[StoreWrite, StoreResult]:
    """The group commit of one node's inbound envelopes."""
    return GroupCommit(db, store_inbound)
