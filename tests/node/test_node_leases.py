"""Outbox leases: a row one worker is pushing is out of every other worker's reach.

Two repositories over one database stand for two worker processes: rows the
first leased are refused to the second until the lease ends or is given back;
a lease that ran out (its worker died) is taken over. Runs on both engines.
"""

from __future__ import annotations

from baliza.node.storage import Database
from baliza.node.storage.delivery import Outbox
from baliza.node.storage.envelopes import SentEnvelope
from baliza.node.storage.leases import Lease, OutboxLeases
from baliza.node.storage.recipients import Addressee
from baliza.node.storage.sql import envelopes as envelope_rows
from baliza.node.storage.sql.bridge import in_session

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
    async with db.transaction() as session:
        await in_session(session, envelope_rows.insert_sent, envelopes)
        for envelope in envelopes:
            await Outbox(session).enqueue(PEER, envelope.id, envelope.created_ms)


async def _take(db: Database, worker: str, now: int, limit: int = 10) -> list[int]:
    async with db.transaction() as session:
        leases = OutboxLeases(session)
        rows = await leases.available(PEER, limit, now)
        await leases.take([r.seq for r in rows], Lease(owner=worker, until_ms=now + LEASE_MS))
    return [r.seq for r in rows]


async def test_a_leased_row_is_refused_to_another_worker(database: Database) -> None:
    await _queue(database, 3)
    first = await _take(database, "worker-a", T0, limit=2)
    assert len(first) == 2
    second = await _take(database, "worker-b", T0 + 1)
    assert len(second) == 1 and not set(second) & set(first)
    assert await _take(database, "worker-c", T0 + 2) == []
    async with database.transaction(readonly=True) as session:
        assert await OutboxLeases(session).next_expiry(PEER, T0 + 2) == T0 + LEASE_MS


async def test_a_dead_workers_lease_runs_out_and_is_taken_over(database: Database) -> None:
    await _queue(database, 2)
    taken = await _take(database, "worker-a", T0)
    assert await _take(database, "worker-b", T0 + LEASE_MS - 1) == []
    assert await _take(database, "worker-b", T0 + LEASE_MS) == taken


async def test_only_the_holder_gives_a_lease_back(database: Database) -> None:
    await _queue(database, 1)
    taken = await _take(database, "worker-a", T0)
    async with database.transaction() as session:
        await OutboxLeases(session).release(taken, "worker-b")
    assert await _take(database, "worker-b", T0 + 1) == []
    async with database.transaction() as session:
        await OutboxLeases(session).release(taken, "worker-a")
    assert await _take(database, "worker-b", T0 + 2) == taken


async def test_delivered_rows_are_not_handed_out(database: Database) -> None:
    await _queue(database, 1)
    taken = await _take(database, "worker-a", T0)
    async with database.transaction() as session:
        await Outbox(session).mark_delivered(PEER, ["00000000-0000-4000-8000-000000000000"], T0)
    assert taken and await _take(database, "worker-b", T0 + LEASE_MS) == []
