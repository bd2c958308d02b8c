"""Audit log benchmark: proof times at a million leaves, and what appending adds to ingest.

Run ``.venv/bin/python bench/bench_audit.py`` (``--leaves N`` for another
size, ``--postgres URL`` for the PostgreSQL rows, default
``$BALIZA_TEST_POSTGRES_URL``; without one, SQLite alone). Prints markdown:

1. the log grown to ``--leaves`` entries by units of 10,000 (``append``,
   ``sql/audit.py``), then the median time of an inclusion proof read and
   verified, and of a consistency proof, over random leaves, each one unit
   of work (one SELECT of O(log n) cached subtrees);
2. ingest's storing unit with and without its appends, same run, same
   database: units of 100 received envelopes of 2 KB stored by
   ``insert_received`` alone, then by ``insert_received`` plus the audit
   ``append`` of their entries (what ``ingest_commit.store_inbound`` does
   now), alternating, so load from other processes hits both alike. The
   ratio is an upper bound for the whole ingest, whose verification and
   decryption (several times the storing) the append does not touch.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from sqlalchemy import Connection

from baliza.node.storage import Database
from baliza.node.storage import audit as audit_entries
from baliza.node.storage.envelopes import ReceivedEnvelope, Via
from baliza.node.storage.sql import audit as audit_rows
from baliza.node.storage.sql import envelopes as envelope_rows
from baliza.protocol import merkle
from baliza.protocol.audit import AuditEntry, EntryKind
from baliza.protocol.ids import AgencyId, make_envelope_id

GROW_UNIT = 10_000
SAMPLES = 200
INGEST_UNITS = 40
INGEST_BATCH = 100
SENDER = AgencyId("co.polfa.ctg")


def _entries(start: int, n: int) -> list[AuditEntry]:
    return [
        AuditEntry(
            kind=EntryKind.ENVELOPE_RECEIVED,
            at_ms=1_767_225_600_000 + i,
            subject=str(make_envelope_id(1_767_225_600_000 + i, i.to_bytes(10, "big"))),
            peer=SENDER,
            digest=i.to_bytes(32, "big"),
        )
        for i in range(start, start + n)
    ]


async def grow(db: Database, leaves: int) -> float:
    started = time.perf_counter()
    size, _ = await db.run(audit_rows.size_and_root, write=False)
    while size < leaves:
        n = min(GROW_UNIT, leaves - size)
        await db.run(partial(audit_rows.append, entries=_entries(size, n)), write=True)
        size += n
    return time.perf_counter() - started


def _inclusion(connection: Connection, index: int, size: int) -> None:
    entry = audit_rows.entry_at(connection, index)
    assert entry is not None
    _, root = audit_rows.size_and_root(connection)
    proof = audit_rows.inclusion_proof(connection, index, size)
    merkle.verify_inclusion(merkle.leaf_hash(entry.to_bytes()), index, size, proof, root)


def _consistency(connection: Connection, old: int, new: int) -> None:
    old_root = audit_rows.root_at(connection, old)
    _, new_root = audit_rows.size_and_root(connection)
    proof = audit_rows.consistency_proof(connection, old, new)
    merkle.verify_consistency(old, new, old_root, new_root, proof)


async def proofs(db: Database, size: int) -> tuple[float, float, float]:
    rng = random.Random(22)
    inclusion, consistency = [], []
    for _ in range(SAMPLES):
        index = rng.randrange(size)
        t = time.perf_counter()
        await db.run(partial(_inclusion, index=index, size=size), write=False)
        inclusion.append(time.perf_counter() - t)
        old = rng.randrange(1, size)
        t = time.perf_counter()
        await db.run(partial(_consistency, old=old, new=size), write=False)
        consistency.append(time.perf_counter() - t)
    # The pure part alone: verifying a proof already read.
    proof = await db.run(
        partial(audit_rows.inclusion_proof, index=size // 3, size=size), write=False
    )
    entry = _entries(size // 3, 1)[0]
    leaf = merkle.leaf_hash(entry.to_bytes())
    root = merkle.root_from_inclusion(leaf, size // 3, size, proof)
    t = time.perf_counter()
    for _ in range(1000):
        merkle.verify_inclusion(leaf, size // 3, size, proof, root)
    verify = (time.perf_counter() - t) / 1000
    return statistics.median(inclusion), statistics.median(consistency), verify


def _envelopes(n: int) -> list[ReceivedEnvelope]:
    now = int(time.time() * 1000)
    return [
        ReceivedEnvelope(
            id=str(make_envelope_id(now, os.urandom(10))),
            sender=SENDER,
            sender_key=b"\x01" * 16,
            kind="notice.seizure",
            created_ms=now,
            received_ms=now,
            via=Via.PUSH,
            raw=os.urandom(2048),
        )
        for _ in range(n)
    ]


def _store(connection: Connection, envelopes: list[ReceivedEnvelope], audited: bool) -> None:
    inserted = envelope_rows.insert_received(connection, envelopes)
    if audited:
        audit_rows.append(
            connection, [audit_entries.received(e) for e in envelopes if e.id in inserted]
        )


async def ingest(db: Database) -> tuple[float, float]:
    times: dict[bool, list[float]] = {False: [], True: []}
    for unit in range(2 * INGEST_UNITS):
        audited = bool(unit % 2)
        batch = _envelopes(INGEST_BATCH)
        t = time.perf_counter()
        await db.run(partial(_store, envelopes=batch, audited=audited), write=True)
        times[audited].append(time.perf_counter() - t)
    return statistics.median(times[False]), statistics.median(times[True])


async def run(engine: str, url: str, leaves: int) -> None:
    db = await Database.open(url)
    try:
        await db.upgrade()
        grown = await grow(db, leaves)
        size, _ = await db.run(audit_rows.size_and_root, write=False)
        inclusion, consistency, verify = await proofs(db, size)
        plain, audited = await ingest(db)
    finally:
        await db.close()
    print(
        f"| {engine} | {size:,} | {grown:.0f} s | {inclusion * 1e3:.2f} ms | "
        f"{consistency * 1e3:.2f} ms | {verify * 1e6:.0f} µs | "
        f"{INGEST_BATCH / plain:,.0f} | {INGEST_BATCH / audited:,.0f} | "
        f"{audited / plain:.2f} |"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=os.environ.get("BALIZA_TEST_POSTGRES_URL", ""))
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}; {os.cpu_count()} cores; {SAMPLES} samples per proof")
    print()
    print(
        "| engine | leaves | grown in | inclusion proof (read + verify, median) | "
        "consistency proof (median) | verify alone | envelopes/s stored | "
        "envelopes/s stored + appended | time ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        await run("SQLite", f"sqlite+aiosqlite:///{Path(folder) / 'audit.db'}", args.leaves)
    if args.postgres:
        await run("PostgreSQL", await fresh_postgres(args.postgres), args.leaves)


async def fresh_postgres(server_url: str) -> str:
    """A new database on the server of ``server_url`` (dropped by nobody: a bench leaves it)."""
    import asyncpg

    name = f"bench_audit_{os.getpid()}"
    dsn = server_url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    base = server_url.rsplit("/", 1)[0]
    return f"{base}/{name}"


if __name__ == "__main__":
    asyncio.run(main())
