"""Group commit for ingest: concurrent inbox requests share one write transaction.

A live push carries one envelope per request. Storing each in its own
transaction costs a commit (an fsync on SQLite in ``synchronous=FULL``, a WAL
flush on PostgreSQL) per notice, several times the cost of opening the
envelope; concurrent requests instead hand their writes to one ``GroupCommit``
and share the next transaction. Everything before the write (checks,
verification, decryption) stays per request, so a refusal never waits for
anyone else's commit.

The items are the rows a request stores, decided in ``ingest``; the shared
transaction writes the rows of all its requests with one statement per
table (a statement costs more than the rows it carries). When a shared
transaction fails, ``GroupCommit`` retries each request's write alone: one
request that raced another for the same envelope id does not fail the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from baliza.node.core.notify import LIVE_CHANNEL, live_payload, signal
from baliza.node.services.group_commit import GroupCommit
from baliza.node.storage import Database
from baliza.node.storage.envelopes import ReceivedEnvelope, ReceivedEnvelopes
from baliza.node.storage.notices import NoticeRecord, Notices
from baliza.node.storage.receipts import Receipt, Receipts


@dataclass(frozen=True, slots=True)
class StoreWrite:
    """What one inbox request stores: its envelopes, their notices and receipts."""

    envelopes: tuple[ReceivedEnvelope, ...]
    notices: tuple[NoticeRecord, ...] = ()
    receipts: tuple[Receipt, ...] = ()


async def run_writes(session: AsyncSession, writes: Sequence[StoreWrite]) -> None:
    """Store every request's rows in ``session`` (one transaction, one statement per table)."""
    notices = [notice for write in writes for notice in write.notices]
    await ReceivedEnvelopes(session).add_many([e for write in writes for e in write.envelopes])
    await Notices(session).add_many(notices)
    await signal(session, LIVE_CHANNEL, live_payload([(n.sender, n.envelope_id) for n in notices]))
    receipts = Receipts(session)
    for write in writes:
        for receipt in write.receipts:
            await receipts.add(receipt)


def ingest_commit(db: Database) -> GroupCommit[StoreWrite]:
    """The group commit of one node's inbound envelopes."""
    return GroupCommit(db, run_writes)
