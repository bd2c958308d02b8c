"""Audit log benchmark: proof times at a million leaves, and what appending adds to ingest.

Run ``.venv/bin/python bench/bench_audit.py`` (``--leaves N`` for another
size, ``--postgres URL`` for the PostgreSQL rows, default
``$BALIZA_TEST_POSTGRES_URL``; without one, SQLite alone; ``--engine`` for
one engine only). Prints markdown:

1. the log grown to ``--leaves`` entries by units of 10,000 (``append``,
   ``sql/audit.py``), then, over random leaves, the median time of four
   read units run back to back in alternating order: the floor (one
   primary-key lookup, the cheapest unit there is), an inclusion proof
   with its entry and root read in one statement (``inclusion``) and
   verified, the same read as three statements (``entry_at``,
   ``size_and_root``, ``inclusion_proof``: the unit before), and a
   consistency proof with both roots (``consistency``, one statement) and
   verified; the inclusion/floor ratio is taken per sample;
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
from collections.abc import Callable
from dataclasses import dataclass
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
    found = audit_rows.inclusion(connection, index, size)
    assert found is not None
    entry, root, proof = found
    merkle.verify_inclusion(merkle.leaf_hash(entry.to_bytes()), index, size, proof, root)


def _inclusion_3(connection: Connection, index: int, size: int) -> None:
    # The unit as it was before ``inclusion``: entry, root, proof, three statements.
    entry = audit_rows.entry_at(connection, index)
    assert entry is not None
    _, root = audit_rows.size_and_root(connection)
    proof = audit_rows.inclusion_proof(connection, index, size)
    merkle.verify_inclusion(merkle.leaf_hash(entry.to_bytes()), index, size, proof, root)


def _floor(connection: Connection, index: int) -> None:
    # The cheapest read unit there is: one primary-key lookup, nothing verified.
    assert audit_rows.entry_at(connection, index) is not None


def _consistency(connection: Connection, old: int, new: int) -> None:
    old_root, new_root, proof = audit_rows.consistency(connection, old, new)
    merkle.verify_consistency(old, new, old_root, new_root, proof)


@dataclass(frozen=True, slots=True)
class Proofs:
    floor: float
    inclusion: float
    inclusion_3: float
    consistency: float
    verify: float
    ratios: list[float]


async def _timed(db: Database, work: Callable[[Connection], None]) -> float:
    t = time.perf_counter()
    await db.run(work, write=False)
    return time.perf_counter() - t


async def proofs(db: Database, size: int) -> Proofs:
    rng = random.Random(22)
    times: dict[str, list[float]] = {k: [] for k in ("floor", "1", "3", "consistency")}
    ratios = []
    for n in range(SAMPLES):
        index = rng.randrange(size)
        old = rng.randrange(1, size)
        units = [
            ("floor", partial(_floor, index=index)),
            ("1", partial(_inclusion, index=index, size=size)),
            ("3", partial(_inclusion_3, index=index, size=size)),
            ("consistency", partial(_consistency, old=old, new=size)),
        ]
        if n % 2:  # which runs first alternates, so a burst of load hits all alike
            units.reverse()
        took = {k: await _timed(db, w) for k, w in units}
        for k, v in took.items():
            times[k].append(v)
        ratios.append(took["1"] / took["floor"])
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
    m = statistics.median
    return Proofs(
        floor=m(times["floor"]),
        inclusion=m(times["1"]),
        inclusion_3=m(times["3"]),
        consistency=m(times["consistency"]),
        verify=verify,
        ratios=ratios,
    )


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
        p = await proofs(db, size)
        plain, audited = await ingest(db)
    finally:
        await db.close()
    q = statistics.quantiles(p.ratios, n=4)
    print(
        f"| {engine} | {size:,} | {grown:.0f} s | {p.floor * 1e3:.2f} ms | "
        f"**{p.inclusion * 1e3:.2f} ms** | {statistics.median(p.ratios):.2f} "
        f"({q[0]:.2f}–{q[2]:.2f}) | {p.inclusion_3 * 1e3:.2f} ms | "
        f"{p.consistency * 1e3:.2f} ms | {p.verify * 1e6:.0f} µs | "
        f"{INGEST_BATCH / plain:,.0f} | {INGEST_BATCH / audited:,.0f} | "
        f"{audited / plain:.2f} |",
        flush=True,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=os.environ.get("BALIZA_TEST_POSTGRES_URL", ""))
    parser.add_argument("--engine", choices=("both", "sqlite", "postgresql"), default="both")
    args = parser.parse_args()
    print(f"Command: `.venv/bin/python bench/bench_audit.py {' '.join(sys.argv[1:])}`\n")
    print(
        f"Python {sys.version.split()[0]}; {os.cpu_count()} cores; {SAMPLES} samples per proof; "
        f"load average at start {os.getloadavg()[0]:.1f}"
    )
    print()
    print(
        "| engine | leaves | grown in | floor unit (one PK lookup) | "
        "inclusion proof unit (entry + root + proof, one statement, + verify) | "
        "ratio to the floor, median (quartiles) | same, three statements | "
        "consistency proof unit (one statement + verify) | verify alone | "
        "envelopes/s stored | envelopes/s stored + appended | time ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    if args.engine in ("both", "sqlite"):
        with tempfile.TemporaryDirectory() as folder:
            await run("SQLite", f"sqlite+aiosqlite:///{Path(folder) / 'audit.db'}", args.leaves)
    if args.postgres and args.engine in ("both", "postgresql"):
        url = await fresh_postgres(args.postgres)
        try:
            await run("PostgreSQL", url, args.leaves)
        finally:
            await drop_postgres(args.postgres, url)
    print(f"\nload average at end {os.getloadavg()[0]:.1f}")


async def fresh_postgres(server_url: str) -> str:
    """A new database on the server of ``server_url`` (``drop_postgres`` removes it)."""
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


async def drop_postgres(server_url: str, url: str) -> None:
    """Drop the database ``fresh_postgres`` made (a million leaves is hundreds of MB)."""
    import asyncpg

    name = url.rsplit("/", 1)[1]
    dsn = server_url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        await connection.close()


if __name__ == "__main__":
    asyncio.run(main())
