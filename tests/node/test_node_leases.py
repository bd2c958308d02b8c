"""Outbox leases: a row one worker is pushing is out of every other worker's reach.

Units of work over one database stand for two worker processes: rows the
first leased are refused to the second until the lease ends or is given back;
a lease that ran out (its worker died) is taken over. Runs on both engines.
"""

from __future__ import annotations

from functools import partial

from sqlalchemy import Connection

from baliza.node.storage import Database
from baliza.node.storage.envelopes import SentEnvelope
from baliza.node.storage.leases import Lease
from baliza.node.storage.recipients import Addressee
from baliza.node.storage.sql import delivery as outbox_rows
from baliza.node.storage.sql import envelopes as envelope_rows
from baliza.node.storage.sql import leases as lease_rows

PEER = "es.aduanas.alg"
T0 = 1_700_000_000_000
LEASE_MS = 60_000


async def _queue(db: Database, count: int) -> None:
    envelopes = [
        SentEnvelope(
            id=f"00000000-0000-4000-8000-{n:012d}",
            kind="notice.alert",
            created_ms=T0 + n,
            recipients=(Addressee(PEER),),
            raw=b"sent" + n.to_bytes(4, "big"),
        )
        for n in range(count)
    ]

    def queue(connection: Connection) -> None:
        envelope_rows.insert_sent(connection, envelopes)
        envelope_rows.enqueue(connection, [([PEER], e.id, e.created_ms) for e in envelopes])

    await db.run(queue, write=True)


async def _take(db: Database, worker: str, now: int, limit: int = 10) -> list[int]:
    def take(connection: Connection) -> list[int]:
        rows = lease_rows.available(connection, PEER, limit, now)
        seqs = [r.seq for r in rows]
        lease_rows.take(connection, seqs, Lease(owner=worker, until_ms=now + LEASE_MS))
        return seqs

    return await db.run(take, write=True)


async def test_a_leased_row_is_refused_to_another_worker(database: Database) -> None:
    await _queue(database, 3)
    first = await _take(database, "worker-a", T0, limit=2)
    assert len(first) == 2
    second = await _take(database, "worker-b", T0 + 1)
    assert len(second) == 1 and not set(second) & set(first)
    assert await _take(database, "worker-c", T0 + 2) == []
    expiry = await database.run(
        partial(lease_rows.next_expiry, destination=PEER, now_ms=T0 + 2), write=False
    )
    assert expiry == T0 + LEASE_MS


async def test_a_dead_workers_lease_runs_out_and_is_taken_over(database: Database) -> None:
    await _queue(database, 2)
    taken = await _take(database, "worker-a", T0)
    assert await _take(database, "worker-b", T0 + LEASE_MS - 1) == []
    assert await _take(database, "worker-b", T0 + LEASE_MS) == taken


async def test_only_the_holder_gives_a_lease_back(database: Database) -> None:
    await _queue(database, 1)
    taken = await _take(database, "worker-a", T0)
    await database.run(partial(lease_rows.release, seqs=taken, owner="worker-b"), write=True)
    assert await _take(database, "worker-b", T0 + 1) == []
    await database.run(partial(lease_rows.release, seqs=taken, owner="worker-a"), write=True)
    assert await _take(database, "worker-b", T0 + 2) == taken


async def test_delivered_rows_are_not_handed_out(database: Database) -> None:
    await _queue(database, 1)
    taken = await _take(database, "worker-a", T0)
    delivered = partial(
        outbox_rows.mark_delivered,
        destination=PEER,
        envelope_ids=["00000000-0000-4000-8000-000000000000"],
        now_ms=T0,
    )
    await database.run(delivered, write=True)
    assert taken and await _take(database, "worker-b", T0 + LEASE_MS) == []
