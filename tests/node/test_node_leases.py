"""Outbox leases: a row one worker is pushing is out of every other worker's reach.

Units of work over one database stand for two worker processes: rows the
first leased are refused to the second until the lease ends or is given back;
a lease that ran out (its worker died) is taken over. Runs on both engines.
The courier's own units (``services/outbox.py``) close the file: its answers
recorded and the next batch taken in one unit.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from sqlalchemy import Connection

from baliza.node.services.outbox import Answers, Taking, finish_round, take_round
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


def _id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


async def _queue(db: Database, count: int) -> None:
    envelopes = [
        SentEnvelope(
            id=_id(n),
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


def _taking(worker: str, now: int, limit: int, leasing: bool) -> Taking:
    lease = Lease(owner=worker, until_ms=now + LEASE_MS) if leasing else None
    return Taking(agency=PEER, now_ms=now, limit=limit, fit=lambda rows: rows, lease=lease)


async def test_a_courier_records_answers_and_takes_the_next_batch_in_one_unit(
    database: Database,
) -> None:
    """The courier's units: a round, then its answers together with the next round."""
    await _queue(database, 5)
    leasing = database.dialect == "postgresql"
    await database.run(partial(outbox_rows.ensure, agency=PEER, url="https://alg"), write=True)
    first = await database.run(
        partial(take_round, taking=_taking("worker-a", T0, 2, leasing)), write=leasing
    )
    assert (first.block, len(first.batch), first.more) == (None, 2, True)
    answers = Answers(
        agency=PEER,
        done_ms=T0 + 1,
        delivered=[first.batch[0].envelope_id],
        refused=[(first.batch[1].envelope_id, "not_a_recipient", "no key")],
        retry_seqs=[],
        owner="worker-a" if leasing else None,
        failure=None,
    )
    then = _taking("worker-a", T0 + 1, 2, leasing)
    following = await database.run(partial(finish_round, answers=answers, then=then), write=True)
    assert following is not None and following.destination is not None
    assert following.destination.last_delivered_ms == T0 + 1
    # The next batch is the two rows after those just answered.
    assert [r.envelope_id for r in following.batch] == [_id(2), _id(3)]
    states = await database.run(
        partial(outbox_rows.state_for_envelope, envelope_id=first.batch[1].envelope_id),
        write=False,
    )
    assert [(s.state.value, s.refused_reason) for s in states] == [("refused", "not_a_recipient")]
    if leasing:  # the next batch is leased: another worker gets only the row after it
        taken = await _take(database, "worker-b", T0 + 2)
        assert len(taken) == 1 and taken[0] > following.batch[-1].seq
    # A retry-worthy answer backs off and takes nothing more.
    retry = replace(
        answers,
        delivered=[],
        refused=[],
        retry_seqs=[r.seq for r in following.batch],
        failure=("unknown_key: rotated", T0 + 500),
    )
    assert await database.run(partial(finish_round, answers=retry, then=then), write=True) is None
    backing_off = await database.run(partial(take_round, taking=then), write=leasing)
    assert backing_off.batch == [] and backing_off.destination is not None
    assert backing_off.destination.next_attempt_ms == T0 + 500
