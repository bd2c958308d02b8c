"""Repositories and units of work against a real SQLite file and a real PostgreSQL database.

Every test here runs once per engine (the ``database`` fixture); the
PostgreSQL runs need ``BALIZA_TEST_POSTGRES_URL`` (see tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import json
import pathlib
import sqlite3
from dataclasses import replace
from functools import partial
from typing import Any

import pytest
from sqlalchemy import Connection, delete, event, insert, select, text

from baliza.node.storage import (
    ApiToken,
    BlockKind,
    Database,
    Direction,
    LocalBlock,
    NoticeFilter,
    NoticeRecord,
    OutboxState,
    Receipt,
    ReceiptState,
    ReceivedEnvelope,
    SentEnvelope,
    TokenRole,
    Via,
    search,
)
from baliza.node.storage.models import NoticeRow, ReceivedEnvelopeRow, table_of
from baliza.node.storage.recipients import Addressee
from baliza.node.storage.sql import delivery as outbox_rows
from baliza.node.storage.sql import envelopes as envelope_rows
from baliza.node.storage.sql import notice_pages
from baliza.node.storage.sql import notices as notice_rows
from baliza.node.storage.sql import receipts as receipt_rows
from baliza.node.storage.sql import search as sql_search
from baliza.node.storage.sql import tokens as token_rows
from baliza.node.storage.sql import trust as trust_rows
from baliza.node.storage.sql.delivery import Standing
from baliza.protocol.errors import InputError, ReasonCode, StorageError
from baliza.protocol.notices.refs import query_ref

# Every byte value, so a driver that mangles bytes (text decoding, NUL
# truncation) fails the round trip.
EVIDENCE = bytes(range(256)) * 4


def eid(n: int) -> str:
    """A UUIDv7-shaped envelope id, ordered by ``n``."""
    return f"0190a5b4-{n:04x}-7000-8000-000000000000"


def received(n: int, *, sender: str = "co.polfa.ctg", raw: bytes = EVIDENCE) -> ReceivedEnvelope:
    return ReceivedEnvelope(
        id=eid(n),
        sender=sender,
        sender_key=bytes([n % 256]) * 16,
        kind="notice.seizure",
        created_ms=1_700_000_000_000 + n,
        received_ms=1_700_000_001_000 + n,
        via=Via.PUSH,
        raw=raw + n.to_bytes(4, "big"),
    )


def sent(n: int, recipients: tuple[str, ...] = ("es.aduana.alg", "pa.ana.pty")) -> SentEnvelope:
    return SentEnvelope(
        id=eid(n),
        kind="notice.alert",
        created_ms=1_700_000_000_000 + n,
        recipients=tuple(Addressee(r) for r in recipients),
        raw=b"sent" + n.to_bytes(4, "big"),
    )


def notice(
    n: int,
    *,
    kind: str = "notice.seizure",
    sender: str = "co.polfa.ctg",
    programme: str | None = "ccp",
    location: str | None = "COCTG",
    direction: Direction = Direction.IN,
    search_text: str = "bananas from turbo",
    refs: tuple[tuple[str, str], ...] = (),
    created_ms: int | None = None,
) -> NoticeRecord:
    return NoticeRecord(
        envelope_id=eid(n),
        direction=direction,
        kind=kind,
        sender=sender,
        created_ms=created_ms if created_ms is not None else 1_700_000_000_000 + n,
        stored_ms=1_700_000_009_000 + n,
        programme=programme,
        tlp="amber",
        location=location,
        summary=f"notice {n}",
        search_text=search_text,
        notice_json=json.dumps({"n": n}),
        refs=refs,
    )


# --- engine settings --------------------------------------------------------


async def test_sqlite_connections_use_wal_full_sync_and_foreign_keys(database: Database) -> None:
    if database.dialect != "sqlite":
        pytest.skip("SQLite pragmas")

    def pragmas(connection: Connection) -> list[Any]:
        return [
            connection.execute(text(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        ]

    journal, synchronous, foreign_keys, busy_timeout = await database.run(pragmas, write=False)
    assert journal == "wal"
    assert synchronous == 2  # FULL
    assert foreign_keys == 1
    assert busy_timeout == 5000


async def test_concurrent_read_then_write_transactions_do_not_fail(database: Database) -> None:
    # Each unit reads, then writes, while the others do the same: with deferred
    # SQLite transactions the later writers fail with "database is locked".
    def ingest(connection: Connection, n: int) -> None:
        assert not envelope_rows.received_ids(connection, [eid(n)])
        envelope_rows.insert_received(connection, [received(n)])

    await asyncio.gather(*(database.run(partial(ingest, n=n), write=True) for n in range(12)))
    found = await database.run(
        partial(envelope_rows.received_ids, ids=[eid(n) for n in range(20)]), write=False
    )
    assert found == {eid(n) for n in range(12)}


async def test_ping_and_unreachable_database(database: Database) -> None:
    await database.ping()
    with pytest.raises(StorageError) as caught:
        await Database.open("postgresql://nobody@127.0.0.1:1/none")
    assert caught.value.reason is ReasonCode.STORAGE_FAILED


async def test_unsupported_url_is_refused() -> None:
    with pytest.raises(StorageError) as caught:
        await Database.open("mysql://localhost/baliza")
    assert caught.value.reason is ReasonCode.STORAGE_FAILED


# --- transactions -----------------------------------------------------------


async def test_duplicate_envelope_conflicts_and_nothing_is_half_written(
    database: Database,
) -> None:
    await database.run(partial(envelope_rows.insert_received, envelopes=[received(1)]), write=True)

    def both(connection: Connection) -> None:
        notice_rows.insert_notices(connection, [notice(2, refs=(("container", "MSCU1234565"),))])
        insert_all_received(connection, [received(3), received(1)])

    with pytest.raises(StorageError) as caught:
        await database.run(both, write=True)
    assert caught.value.reason is ReasonCode.CONFLICT

    def read(connection: Connection) -> None:
        assert envelope_rows.received_ids(connection, [eid(1), eid(2), eid(3)]) == {eid(1)}
        assert notice_pages.list_page(connection) == []
        with pytest.raises(StorageError) as missing:
            notice_rows.get(connection, eid(2))
        assert missing.value.reason is ReasonCode.NOT_FOUND

    await database.run(read, write=False)


async def test_our_own_error_inside_a_unit_rolls_back_and_passes_through(
    database: Database,
) -> None:
    def refused(connection: Connection) -> None:
        envelope_rows.insert_received(connection, [received(1)])
        raise InputError(ReasonCode.MALFORMED, "later step refused")

    with pytest.raises(InputError):
        await database.run(refused, write=True)
    assert not await database.run(partial(envelope_rows.received_ids, ids=[eid(1)]), write=False)


# --- envelopes --------------------------------------------------------------


async def test_received_envelopes_keep_exact_bytes(database: Database) -> None:
    first, second = received(1), received(2, sender="es.aduana.alg")
    await database.run(partial(insert_all_received, envelopes=[first, second]), write=True)

    def read(connection: Connection) -> None:
        assert envelope_rows.received(connection, eid(1)).raw == first.raw
        assert envelope_rows.received(connection, eid(2)) == second
        assert envelope_rows.received_ids(connection, [eid(2)]) == {eid(2)}
        assert envelope_rows.received_ids(connection, [eid(3)]) == set()
        assert envelope_rows.received_ids(connection, [eid(2)], sender="co.polfa.ctg") == set()
        with pytest.raises(StorageError) as caught:
            envelope_rows.received(connection, eid(3))
        assert caught.value.reason is ReasonCode.NOT_FOUND

    await database.run(read, write=False)


async def test_insert_received_inserts_only_unseen_envelopes(database: Database) -> None:
    first = partial(envelope_rows.insert_received, envelopes=[received(1), received(2)])
    assert await database.run(first, write=True) == {eid(1), eid(2)}

    def again(connection: Connection) -> None:
        assert envelope_rows.insert_received(connection, [received(2), received(3)]) == {eid(3)}
        assert envelope_rows.insert_received(connection, []) == set()
        assert envelope_rows.received_ids(connection, [eid(1), eid(2), eid(3), eid(4)]) == {
            eid(1),
            eid(2),
            eid(3),
        }

    await database.run(again, write=True)


async def test_received_ids_handles_large_batches(database: Database) -> None:
    envelopes = [received(n) for n in range(0, 1400, 2)]
    await database.run(partial(insert_all_received, envelopes=envelopes), write=True)
    found = await database.run(
        partial(envelope_rows.received_ids, ids=[eid(n) for n in range(1400)]), write=False
    )
    assert found == {eid(n) for n in range(0, 1400, 2)}


async def test_sent_envelopes_round_trip(database: Database) -> None:
    await database.run(partial(envelope_rows.insert_sent, envelopes=[sent(1)]), write=True)

    def read(connection: Connection) -> None:
        assert envelope_rows.sent(connection, eid(1)) == sent(1)
        assert envelope_rows.sent_raw(connection, eid(1)) == sent(1).raw
        assert envelope_rows.sent_ids(connection, [eid(1), eid(2)]) == {eid(1)}
        with pytest.raises(StorageError) as caught:
            envelope_rows.sent(connection, eid(2))
        assert caught.value.reason is ReasonCode.NOT_FOUND

    await database.run(read, write=False)


# --- recipients -------------------------------------------------------------


def addressed(n: int, *addressees: Addressee) -> ReceivedEnvelope:
    """A received envelope that only carries recipients to record."""
    return replace(received(n), recipients=addressees)


async def test_recipients_are_rows_written_once_and_read_back(database: Database) -> None:
    channel_member = Addressee("pa.ana.pty", "channel")

    def write(connection: Connection) -> None:
        envelope_rows.insert_recipients(
            connection, [addressed(1, Addressee("es.aduana.alg"), channel_member)]
        )
        # Again: a no-op.
        envelope_rows.insert_recipients(connection, [addressed(1, Addressee("es.aduana.alg"))])
        envelope_rows.insert_recipients(
            connection, [addressed(2, Addressee("co.polfa.ctg", "subscription"))]
        )

    await database.run(write, write=True)

    def read(connection: Connection) -> None:
        found = envelope_rows.addressees(connection, [eid(1), eid(3)])
        assert found == {eid(1): (Addressee("es.aduana.alg"), channel_member)}
        assert envelope_rows.includes(connection, eid(2), "co.polfa.ctg")
        assert not envelope_rows.includes(connection, eid(2), "es.aduana.alg")

    await database.run(read, write=False)


async def test_recipients_refuse_an_unknown_reason(database: Database) -> None:
    gossip = [addressed(1, Addressee("es.aduana.alg", "gossip"))]
    with pytest.raises(StorageError):
        await database.run(partial(envelope_rows.insert_recipients, envelopes=gossip), write=True)


# --- notices ----------------------------------------------------------------


def insert_all_received(connection: Connection, envelopes: list[ReceivedEnvelope]) -> None:
    """Store envelopes with a plain INSERT: a stored one fails the unit (CONFLICT)."""
    connection.execute(
        insert(table_of(ReceivedEnvelopeRow)),
        [
            {
                "id": e.id,
                "sender": e.sender,
                "sender_key": e.sender_key,
                "kind": e.kind,
                "created_ms": e.created_ms,
                "received_ms": e.received_ms,
                "via": e.via.value,
                "raw": e.raw,
                "signed_by_revoked": e.signed_by_revoked,
            }
            for e in envelopes
        ],
    )


async def store(database: Database, *records: NoticeRecord) -> dict[tuple[str, str], int]:
    return await database.run(partial(notice_rows.insert_notices, records=records), write=True)


async def test_notice_round_trip_with_refs_and_recipients(database: Database) -> None:
    record = notice(1, refs=(("vessel", "IMO9074729"), ("container", "MSCU1234565")) * 2)

    def write(connection: Connection) -> int:
        seqs = notice_rows.insert_notices(connection, [record])
        envelope_rows.insert_recipients(connection, [addressed(1, Addressee("es.aduana.alg"))])
        return seqs[(record.sender, record.envelope_id)]

    seq = await database.run(write, write=True)
    stored = await database.run(partial(notice_rows.get, envelope_id=eid(1)), write=False)
    assert stored.seq == seq
    assert stored.recipients == ("es.aduana.alg",)
    assert stored.refs == (("container", "MSCU1234565"), ("vessel", "IMO9074729"))
    assert stored.notice_json == record.notice_json
    assert (stored.kind, stored.sender, stored.programme, stored.location, stored.tlp) == (
        "notice.seizure",
        "co.polfa.ctg",
        "ccp",
        "COCTG",
        "amber",
    )


async def test_pages_by_cursor_cover_every_notice_once_in_arrival_order(
    database: Database,
) -> None:
    # created_ms runs backwards: the cursor follows arrival, not the sender's clock.
    await store(database, *[notice(n, created_ms=10_000 - n) for n in range(7)])

    def read(connection: Connection) -> list[str]:
        seen: list[str] = []
        cursor = 0
        while page := notice_pages.list_page(connection, cursor, 3):
            assert len(page) <= 3
            assert [n.seq for n in page] == sorted(n.seq for n in page)
            assert page[0].seq > cursor
            seen.extend(n.envelope_id for n in page)
            cursor = page[-1].seq
        assert notice_rows.last_seq(connection) == cursor
        return seen

    assert await database.run(read, write=False) == [eid(n) for n in range(7)]


async def test_latest_and_count(database: Database) -> None:
    await store(
        database,
        *[notice(n, kind="notice.alert" if n % 2 else "notice.seizure") for n in range(1, 8)],
    )

    def read(connection: Connection) -> None:
        alerts = NoticeFilter(kind="notice.alert")
        assert [n.envelope_id for n in notice_pages.latest(connection, 2, alerts)] == [
            eid(5),
            eid(7),
        ]
        assert [n.envelope_id for n in notice_pages.latest(connection, 3)] == [
            eid(5),
            eid(6),
            eid(7),
        ]
        assert notice_pages.count(connection, alerts) == 4
        assert notice_pages.count(connection, NoticeFilter()) == 7

    await database.run(read, write=False)


async def test_sequence_numbers_are_never_reused(database: Database) -> None:
    await store(database, notice(1), notice(2))

    def delete_last(connection: Connection) -> int:
        last = notice_rows.last_seq(connection)
        connection.execute(delete(NoticeRow).where(NoticeRow.seq == last))
        return last

    last = await database.run(delete_last, write=True)
    assert min((await store(database, notice(3))).values()) > last


async def test_filters_narrow_the_listing(database: Database) -> None:
    await store(
        database,
        notice(
            1,
            search_text="50% pura cocaína",
            refs=(("container", "MSCU1234566"), ("location", "COCTG")),
        ),
        notice(
            2,
            kind="notice.alert",
            sender="es.aduana.alg",
            refs=(("location", "COCTG"), ("location", "ESALG")),
        ),
        notice(3, programme="aircop", location="BOG", search_text="500 g heroin"),
        notice(4, direction=Direction.OUT, programme=None, location=None),
        notice(5, refs=(("company", "ACME"),), search_text="under_score"),
    )

    async def ids(filters: NoticeFilter) -> list[str]:
        unit = partial(notice_pages.list_page, after_seq=0, limit=50, filters=filters)
        return [n.envelope_id for n in await database.run(unit, write=False)]

    everything = [eid(n) for n in range(1, 6)]
    assert await ids(NoticeFilter()) == everything
    assert await ids(NoticeFilter(kind="notice.alert")) == [eid(2)]
    assert await ids(NoticeFilter(sender="es.aduana.alg")) == [eid(2)]
    assert await ids(NoticeFilter(programme="aircop")) == [eid(3)]
    # A place anywhere on the route: the seizure's loading port, the alert's origin.
    assert await ids(NoticeFilter(refs=(query_ref("location", "co ctg"),))) == [eid(1), eid(2)]
    assert await ids(NoticeFilter(direction=Direction.OUT)) == [eid(4)]
    assert await ids(NoticeFilter(direction=Direction.IN, sender="co.polfa.ctg")) == [
        eid(1),
        eid(3),
        eid(5),
    ]
    base = 1_700_000_000_000
    assert await ids(NoticeFilter(since_ms=base + 2, until_ms=base + 4)) == [eid(2), eid(3)]
    container = query_ref("container", "mscu 123456-6")
    assert await ids(NoticeFilter(refs=(container,))) == [eid(1)]
    assert await ids(NoticeFilter(refs=(query_ref("company", "Acme S.A."),))) == [eid(5)]
    assert await ids(NoticeFilter(refs=(query_ref("vessel", "9074729"),))) == []
    both = (container, query_ref("location", "COCTG"))
    assert await ids(NoticeFilter(refs=both)) == [eid(1)]
    # Full text: words, any case and accent, as prefixes; punctuation is no syntax.
    assert await ids(NoticeFilter(text="COCAINA")) == [eid(1)]
    assert await ids(NoticeFilter(text="50% Pura")) == [eid(1)]
    assert await ids(NoticeFilter(text="heroin 500")) == [eid(3)]
    assert await ids(NoticeFilter(text='under" OR "x')) == []
    # Ranked: the same filters, best match first, keyset-paged.
    ranked = await database.run(
        partial(notice_pages.ranked, text="bananas", filters=NoticeFilter(kind="notice.alert")),
        write=False,
    )
    assert [n.envelope_id for _, n in ranked] == [eid(2)]


async def test_hits_link_notices_naming_the_same_thing(database: Database) -> None:
    container = ("container", "MSCU1234565")
    vessel = ("vessel", "IMO9074729")
    await store(
        database,
        notice(1, refs=(container, vessel)),
        notice(2, refs=(container,)),
        notice(3, refs=(vessel, ("flight", "IB6454"))),
        notice(4, refs=(("flight", "AV10"),)),
        notice(5),
    )

    def read(connection: Connection) -> None:
        hits = notice_rows.hits(connection, eid(1))
        assert [(hit.notice.envelope_id, hit.ref) for hit in hits] == [
            (eid(2), container),
            (eid(3), vessel),
        ]
        assert hits[1].notice.refs == (("flight", "IB6454"), vessel)
        assert [(h.notice.envelope_id, h.ref) for h in notice_rows.hits(connection, eid(3))] == [
            (eid(1), vessel)
        ]
        assert notice_rows.hits(connection, eid(4)) == []
        assert notice_rows.hits(connection, eid(5)) == []
        assert notice_rows.hits(connection, eid(99)) == []
        assert notice_rows.hit_counts(connection, [eid(1), eid(4), eid(99)]) == {eid(1): 2}
        # Several at once, newest first (live announcements of a batch).
        keys = [("co.polfa.ctg", eid(n)) for n in (1, 2, 3, 4, 99)]
        found = notice_rows.get_many(connection, keys)
        assert sorted(found) == sorted(keys[:4])
        assert found[keys[2]] == notice_rows.get(connection, eid(3), "co.polfa.ctg")
        many = notice_rows.newest_hits(connection, [found[k] for k in keys[:4]], 10)
        for sender, envelope_id in keys[:4]:
            oldest_first = notice_rows.hits(connection, envelope_id, sender=sender)
            newest = many.get((sender, envelope_id), [])
            assert [(h.envelope_id, h.ref) for h in newest] == [
                (h.notice.envelope_id, h.ref) for h in oldest_first[::-1]
            ]
        assert [(h.envelope_id, h.ref) for h in many[keys[0]]] == [
            (eid(3), vessel),
            (eid(2), container),
        ]
        one = notice_rows.newest_hits(connection, [found[keys[0]]], 1)
        assert [(h.envelope_id, h.ref) for h in one[keys[0]]] == [(eid(3), vessel)]

    await database.run(read, write=False)


async def test_a_received_copy_senders_and_a_copy_from_another(database: Database) -> None:
    first = replace(notice(1), content_hash="a" * 64)
    mine = replace(
        notice(1, sender="es.aduana.alg", direction=Direction.OUT), content_hash="b" * 64
    )
    share = replace(notice(2), shares=eid(7))
    await store(database, first, mine, share)

    def read(connection: Connection) -> None:
        assert notice_rows.senders_of(connection, eid(1)) == ["co.polfa.ctg", "es.aduana.alg"]
        assert notice_rows.get(connection, eid(1)).sender == "co.polfa.ctg"
        assert notice_rows.get(connection, eid(1), "es.aduana.alg").direction is Direction.OUT
        assert notice_rows.received_copy_of(connection, eid(7)).envelope_id == eid(2)
        assert notice_rows.received_copy_of(connection, eid(1)).sender == "co.polfa.ctg"
        with pytest.raises(StorageError):
            notice_rows.received_copy_of(connection, eid(9))
        copy = notice_rows.copy_from_another(connection, "a" * 64, "es.aduana.alg")
        assert copy is not None and copy.envelope_id == eid(1)
        assert notice_rows.copy_from_another(connection, "a" * 64, "co.polfa.ctg") is None
        assert notice_rows.copy_from_another(connection, "b" * 64, "co.polfa.ctg") is None

    await database.run(read, write=False)


# --- delivery ---------------------------------------------------------------


async def test_outbox_queues_in_order_and_moves_through_states(database: Database) -> None:
    a, b = "es.aduana.alg", "pa.ana.pty"

    def queue(connection: Connection) -> None:
        envelope_rows.insert_sent(connection, [sent(n) for n in range(1, 5)])
        envelope_rows.enqueue(connection, [([a, b], eid(n), 1000 + n) for n in range(1, 5)])
        envelope_rows.enqueue(connection, [([a], eid(1), 9999)])  # queuing twice is a no-op

    await database.run(queue, write=True)

    def answer(connection: Connection) -> None:
        batch = outbox_rows.pending_batch(connection, a, 3)
        assert [p.envelope_id for p in batch] == [eid(1), eid(2), eid(3)]
        assert [p.raw for p in batch] == [sent(n).raw for n in (1, 2, 3)]
        assert batch[0].created_ms == 1001
        assert [p.seq for p in batch] == sorted(p.seq for p in batch)
        assert outbox_rows.pending_counts(connection) == {a: 4, b: 4}

        assert outbox_rows.mark_delivered(connection, a, [eid(1), eid(2)], 5000) == 2
        refusal = (eid(3), "not_a_recipient", "no key")
        assert outbox_rows.mark_refused(connection, a, [refusal], 5001) == 1
        # A late answer cannot rewrite an answered row.
        assert outbox_rows.mark_delivered(connection, a, [eid(3)], 6000) == 0
        assert outbox_rows.mark_refused(connection, a, [(eid(1), "replay", "late")], 6000) == 0

    await database.run(answer, write=True)

    def check(connection: Connection) -> None:
        assert [p.envelope_id for p in outbox_rows.pending_batch(connection, a, 10)] == [eid(4)]
        states = outbox_rows.state_for_envelope(connection, eid(3))
        assert [(s.destination, s.state) for s in states] == [
            (a, OutboxState.REFUSED),
            (b, OutboxState.PENDING),
        ]
        assert (states[0].refused_reason, states[0].refused_detail) == ("not_a_recipient", "no key")
        first = outbox_rows.state_for_envelope(connection, eid(1))
        assert (first[0].state, first[0].delivered_ms, first[0].created_ms) == (
            OutboxState.DELIVERED,
            5000,
            1001,
        )
        assert outbox_rows.pending_counts(connection) == {a: 1, b: 4}
        assert outbox_rows.counts(connection)[a] == {
            OutboxState.DELIVERED: 2,
            OutboxState.REFUSED: 1,
            OutboxState.PENDING: 1,
        }

    await database.run(check, write=False)


async def test_outbox_serves_pulls_after_a_cursor_in_every_state(database: Database) -> None:
    a, b = "es.aduana.alg", "pa.ana.pty"

    def queue(connection: Connection) -> None:
        envelope_rows.insert_sent(connection, [sent(n) for n in range(1, 6)])
        envelope_rows.enqueue(
            connection, [([a] if n % 2 else [a, b], eid(n), n) for n in range(1, 6)]
        )
        outbox_rows.mark_delivered(connection, a, [eid(1)], 10)

    await database.run(queue, write=True)

    def pull(connection: Connection) -> None:
        first = outbox_rows.for_peer_after(connection, a, 0, 2)
        assert [raw for _, raw in first] == [sent(1).raw, sent(2).raw]
        rest = outbox_rows.for_peer_after(connection, a, first[-1].seq, 10)
        assert [item.raw for item in rest] == [sent(n).raw for n in (3, 4, 5)]
        assert outbox_rows.for_peer_after(connection, a, rest[-1].seq, 10) == []
        assert [item.raw for item in outbox_rows.for_peer_after(connection, b, 0, 10)] == [
            sent(2).raw,
            sent(4).raw,
        ]

    await database.run(pull, write=False)


async def test_outbox_refuses_an_envelope_that_was_never_sent(database: Database) -> None:
    with pytest.raises(StorageError) as caught:
        await database.run(
            partial(envelope_rows.enqueue, queued=[(["es.aduana.alg"], eid(1), 1)]), write=True
        )
    assert caught.value.reason is ReasonCode.CONFLICT


async def test_pending_batches_of_concurrent_workers_do_not_overlap(
    database: Database,
) -> None:
    if database.dialect != "postgresql":
        pytest.skip("FOR UPDATE SKIP LOCKED is PostgreSQL's; SQLite has one writer")

    def queue(connection: Connection) -> None:
        envelope_rows.insert_sent(connection, [sent(n) for n in range(1, 7)])
        envelope_rows.enqueue(connection, [(["es.aduana.alg"], eid(n), n) for n in range(1, 7)])

    await database.run(queue, write=True)
    first_locked = asyncio.Event()
    release = asyncio.Event()
    take = partial(outbox_rows.pending_batch, destination="es.aduana.alg", limit=4)

    # A unit cannot wait inside its transaction, so each worker holds one open
    # on the engine itself and runs the unit's function in it, as
    # ``Database.run`` does on PostgreSQL.
    async def first_worker() -> list[str]:
        async with database.engine.begin() as connection:
            batch = await connection.run_sync(take)
            first_locked.set()
            await release.wait()
            return [p.envelope_id for p in batch]

    async def second_worker() -> list[str]:
        await first_locked.wait()
        try:
            async with database.engine.begin() as connection:
                batch = await connection.run_sync(take)
                return [p.envelope_id for p in batch]
        finally:
            release.set()

    first, second = await asyncio.gather(first_worker(), second_worker())
    assert first == [eid(n) for n in range(1, 5)]
    assert second == [eid(5), eid(6)]


async def test_destinations_back_off_and_recover(database: Database) -> None:
    a, b = "es.aduana.alg", "pa.ana.pty"

    def fail_twice(connection: Connection) -> None:
        outbox_rows.ensure(connection, a, "https://old.example")
        outbox_rows.ensure(connection, b, "https://b.example")
        outbox_rows.record_failure(connection, a, 1000, "peer_unreachable: refused", 3000)
        outbox_rows.record_failure(connection, a, 3000, "peer_unreachable: timeout", 7000)
        outbox_rows.ensure(connection, a, "https://a.example")  # new URL, history kept
        assert outbox_rows.get(connection, "xx.none.none") is None
        with pytest.raises(StorageError) as caught:
            outbox_rows.record_success(connection, "xx.none.none", 1)
        assert caught.value.reason is ReasonCode.NOT_FOUND

    await database.run(fail_twice, write=True)

    def recover(connection: Connection) -> None:
        state = outbox_rows.get(connection, a)
        assert state is not None
        assert (state.url, state.attempts, state.next_attempt_ms) == ("https://a.example", 2, 7000)
        assert (state.failing_since_ms, state.last_error) == (1000, "peer_unreachable: timeout")
        # Due means: backoff over and something pending.
        assert outbox_rows.due(connection, 10_000) == []
        envelope_rows.insert_sent(connection, [sent(1)])
        envelope_rows.enqueue(connection, [([a, b], eid(1), 1)])
        assert [d.agency for d in outbox_rows.due(connection, 5000)] == [b]
        assert [d.agency for d in outbox_rows.due(connection, 7000)] == [b, a]
        standing = outbox_rows.record_success(connection, a, 8000)
        recovered = outbox_rows.get(connection, a)
        assert recovered is not None and standing.destination == recovered
        assert (recovered.attempts, recovered.failing_since_ms, recovered.last_error) == (
            0,
            None,
            None,
        )
        assert recovered.last_delivered_ms == 8000
        assert [d.agency for d in outbox_rows.all_destinations(connection)] == [a, b]

    await database.run(recover, write=True)


async def test_a_destination_stands_with_its_backoff_and_any_block(database: Database) -> None:
    a, b = "es.aduana.alg", "pa.ana.pty"
    pause = LocalBlock(agency=b, kind=BlockKind.PAUSE, reason="maintenance", at_ms=1, actor="ops")
    await database.run(lambda c: trust_rows.set_block(c, pause), write=True)

    def stand(connection: Connection) -> None:
        # One row whatever exists: neither a destination nor a block yet...
        assert outbox_rows.standing(connection, a) == Standing(destination=None, block=None)
        # ...a block on an agency never contacted...
        assert outbox_rows.standing(connection, b) == Standing(
            destination=None, block=BlockKind.PAUSE
        )
        outbox_rows.ensure(connection, a, "https://a.example")
        outbox_rows.ensure(connection, b, "https://b.example")
        outbox_rows.record_failure(connection, a, 1000, "peer_unreachable: refused", 3000)
        # ...and both, as a successful delivery leaves them.
        after = outbox_rows.record_success(connection, b, 2000)
        assert after == outbox_rows.standing(connection, b)
        assert after.block is BlockKind.PAUSE and after.destination is not None
        assert after.destination.last_delivered_ms == 2000
        failing = outbox_rows.standing(connection, a)
        assert failing.block is None and failing.destination is not None
        assert (failing.destination.attempts, failing.destination.next_attempt_ms) == (1, 3000)

    await database.run(stand, write=True)


async def test_pull_cursors_start_at_zero_and_move(database: Database) -> None:
    def move(connection: Connection) -> None:
        assert outbox_rows.pull_cursor(connection, "es.aduana.alg") == 0
        outbox_rows.set_pull_cursor(connection, "es.aduana.alg", 41)
        outbox_rows.set_pull_cursor(connection, "es.aduana.alg", 42)
        outbox_rows.set_pull_cursor(connection, "pa.ana.pty", 7)

    await database.run(move, write=True)

    def read(connection: Connection) -> tuple[int, int]:
        return (
            outbox_rows.pull_cursor(connection, "es.aduana.alg"),
            outbox_rows.pull_cursor(connection, "pa.ana.pty"),
        )

    assert await database.run(read, write=False) == (42, 7)


# --- administration ---------------------------------------------------------


async def test_api_tokens(database: Database) -> None:
    token = ApiToken(
        id="tok0123456789abc",
        name="analyst console",
        role=TokenRole.ANALYST,
        token_hash=bytes(range(32)),
        created_ms=100,
    )

    def work(connection: Connection) -> None:
        token_rows.insert_token(connection, token)
        token_rows.insert_token(
            connection,
            ApiToken(
                id="tok2", name="cli", role=TokenRole.ADMIN, token_hash=b"h" * 32, created_ms=50
            ),
        )
        assert token_rows.token_by_id(connection, token.id) == token
        assert token_rows.token_by_id(connection, "nope") is None
        assert token_rows.revocations(connection) == 0
        assert token_rows.revoke_token(connection, token.id, 200)
        # The first revocation time stays.
        assert not token_rows.revoke_token(connection, token.id, 300)
        revoked = token_rows.token_by_id(connection, token.id)
        assert revoked is not None
        assert (revoked.revoked_ms, revoked.active) == (200, False)
        assert token_rows.revocations(connection) == 1
        assert [t.token.id for t in token_rows.all_tokens(connection)] == ["tok2", token.id]
        # An unknown id revokes nothing.
        assert not token_rows.revoke_token(connection, "nope", 1)

    await database.run(work, write=True)
    with pytest.raises(StorageError) as conflict:
        await database.run(partial(token_rows.insert_token, token=token), write=True)
    assert conflict.value.reason is ReasonCode.CONFLICT


async def test_trust_events_append_in_order(database: Database) -> None:
    def record(connection: Connection) -> tuple[int, int]:
        first = trust_rows.record_event(
            connection,
            at_ms=1,
            actor="admin",
            action="key.rotate",
            subject="co.polfa.ctg",
            detail={"k": [1]},
        )
        second = trust_rows.record_event(
            connection, at_ms=2, actor="admin", action="peer.admit", subject="x"
        )
        return first, second

    first, second = await database.run(record, write=True)
    assert second > first
    listed = await database.run(trust_rows.events_after, write=False)
    assert [(e.action, e.detail) for e in listed] == [
        ("key.rotate", {"k": [1]}),
        ("peer.admit", {}),
    ]
    after_first = await database.run(partial(trust_rows.events_after, after_seq=first), write=False)
    assert [e.seq for e in after_first] == [second]


async def test_receipts_are_idempotent(database: Database) -> None:
    def receipt(agency: str, state: ReceiptState, at_ms: int) -> Receipt:
        return Receipt(envelope_id=eid(1), from_agency=agency, state=state, at_ms=at_ms)

    def add(connection: Connection) -> None:
        assert receipt_rows.add_receipt(connection, receipt("pa.ana.pty", ReceiptState.READ, 20))
        assert receipt_rows.add_receipt(
            connection, receipt("pa.ana.pty", ReceiptState.DELIVERED, 10)
        )
        assert receipt_rows.add_receipt(
            connection, receipt("es.aduana.alg", ReceiptState.ACTIONED, 30)
        )
        assert not receipt_rows.add_receipt(
            connection, receipt("pa.ana.pty", ReceiptState.READ, 99)
        )

    await database.run(add, write=True)

    def read(connection: Connection) -> None:
        assert receipt_rows.for_envelope(connection, eid(1)) == [
            receipt("es.aduana.alg", ReceiptState.ACTIONED, 30),
            receipt("pa.ana.pty", ReceiptState.DELIVERED, 10),
            receipt("pa.ana.pty", ReceiptState.READ, 20),
        ]
        assert receipt_rows.for_envelope(connection, eid(2)) == []

    await database.run(read, write=False)


async def test_local_blocks(database: Database) -> None:
    pause = LocalBlock(
        agency="xx.bad.unit", kind=BlockKind.PAUSE, reason="maintenance", at_ms=1, actor="ops"
    )
    block = LocalBlock(
        agency="xx.bad.unit", kind=BlockKind.BLOCK, reason="leak", at_ms=2, actor="admin"
    )

    def work(connection: Connection) -> None:
        trust_rows.set_block(connection, pause)
        assert trust_rows.block_of(connection, "xx.bad.unit") == pause
        assert not trust_rows.is_blocked(connection, "xx.bad.unit")
        trust_rows.set_block(connection, block)
        assert trust_rows.is_blocked(connection, "xx.bad.unit")
        assert trust_rows.all_blocks(connection) == [block]
        assert trust_rows.remove_block(connection, "xx.bad.unit")
        assert not trust_rows.remove_block(connection, "xx.bad.unit")
        assert trust_rows.block_of(connection, "xx.bad.unit") is None
        assert not trust_rows.is_blocked(connection, "xx.bad.unit")

    await database.run(work, write=True)


async def test_states_outside_the_allowed_values_are_refused_by_the_database(
    database: Database,
) -> None:
    def ban(connection: Connection) -> None:
        connection.execute(
            text(
                "INSERT INTO local_blocks (agency, kind, reason, at_ms, actor)"
                " VALUES ('a', 'ban', 'r', 1, 'x')"
            )
        )

    with pytest.raises(StorageError) as caught:
        await database.run(ban, write=True)
    assert caught.value.reason is ReasonCode.CONFLICT
    blocks = await database.run(
        lambda c: c.execute(text("SELECT count(*) FROM local_blocks")).scalar(), write=False
    )
    assert blocks == 0


async def test_full_text_search_uses_the_engines_index(database: Database) -> None:
    await store(database, *[notice(n, search_text=f"bananas {n}") for n in (1, 2)])
    dialect = database.dialect
    query = select(NoticeRow.seq).where(sql_search.match_condition(dialect))
    values = sql_search.text_params(dialect, "bananas")

    def read(connection: Connection) -> None:
        literal = query.params(values).compile(
            dialect=connection.dialect, compile_kwargs={"literal_binds": True}
        )
        if dialect == "postgresql":
            # Tiny tables are scanned; forbid that to see whether the index can serve.
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            plan = connection.execute(text(f"EXPLAIN {literal}")).scalars().all()
            assert any(search.PG_INDEX in line for line in plan), plan
        else:
            plan = connection.execute(text(f"EXPLAIN QUERY PLAN {literal}")).all()
            assert any(f"{search.FTS_TABLE} VIRTUAL TABLE" in str(row[-1]) for row in plan), plan
        assert len(connection.execute(query, values).all()) == 2

    await database.run(read, write=False)


async def test_lookups_of_a_batch_search_the_indexes_not_the_tables(
    tmp_path: pathlib.Path,
) -> None:
    """A batch's notices, references and live hits are looked up, never scanned.

    A whole-table scan in these made each arriving notice cost more than the
    last (the node fell behind after a few thousand notices); SQLite's plan
    for each statement they run must search an index.
    """
    db_file = tmp_path / "plans.db"
    database = await Database.open(f"sqlite:///{db_file}")
    await database.upgrade()
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        statements.append((sql, parameters))

    container = ("container", "MSCU1234566")
    for n in range(1, 6):
        await store(database, notice(n, refs=(container,)))
    for engine in database.engines:
        event.listen(engine, "before_cursor_execute", capture)
    keys = [("co.polfa.ctg", eid(n)) for n in (1, 2, 3)]

    def read(connection: Connection) -> None:
        found = notice_rows.get_many(connection, keys)
        assert len(found) == 3
        hits = notice_rows.newest_hits(connection, list(found.values()), 2)
        assert all(len(h) == 2 for h in hits.values())

    await database.run(read, write=False)
    for engine in database.engines:
        event.remove(engine, "before_cursor_execute", capture)
    await database.close()

    plans = []
    with sqlite3.connect(db_file) as plain:
        for sql, parameters in statements:
            if sql.lstrip().upper().startswith("SELECT"):
                steps = [row[3] for row in plain.execute("EXPLAIN QUERY PLAN " + sql, parameters)]
                plans.append(steps)
    assert len(plans) >= 4
    scans = [
        step
        for steps in plans
        for step in steps
        if step.startswith(("SCAN notices", "SCAN notice_refs", "SCAN recipients"))
    ]
    assert scans == []
