"""Group commit for ingest: concurrent inbox requests share one write transaction.

A live push carries one envelope per request. Storing each in its own
transaction costs a commit (an fsync on SQLite in ``synchronous=FULL``, a WAL
flush on PostgreSQL) per notice, several times the cost of opening the
envelope; concurrent requests instead hand their writes to one ``GroupCommit``
and share the next transaction. Everything before the write (checks,
verification, decryption) stays per request, so a refusal never waits for
anyone else's commit.

The items are the writes themselves (closures over a request's accepted
envelopes), so the rules of what a request stores stay in ``ingest``. When a
shared transaction fails, ``GroupCommit`` retries each request's write alone:
one request that raced another for the same envelope id does not fail the rest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from baliza.node.services.group_commit import GroupCommit
from baliza.node.storage import Database

StoreWrite = Callable[[AsyncSession], Awaitable[None]]


async def run_writes(session: AsyncSession, writes: Sequence[StoreWrite]) -> None:
    """Run every request's write in ``session`` (one transaction)."""
    for write in writes:
        await write(session)


def ingest_commit(db: Database) -> GroupCommit[StoreWrite]:
    """The group commit of one node's inbound envelopes."""
    return GroupCommit(db, run_writes)
