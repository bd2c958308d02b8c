"""kill -9 while the audit log is being appended to: the log stays whole and its heads verify.

A sender publishes a stream of notices to a receiver, eight in flight,
each publish and each ingest appending leaves inside its own unit of work;
heads are signed every few leaves and every second. At seeded points the
sender, the receiver, or both are killed with SIGKILL and restarted. After
each kill, the newest head the victim had signed is read from its
database: that is the promise it gave out before it died.

When the stream is over and delivered, each node's whole log is checked
against its leaves, on either engine:

* every stored leaf hash is its entry's, and every kept subtree hash, the
  frontier and the size are exactly what the leaves make (nothing missing,
  nothing extra, nothing half-written);
* every envelope stored has its one leaf and every leaf of an envelope has
  its envelope (an append and what it is about commit together);
* the node signs a new head covering the whole log, its signature verifies
  with the node's published keys and its root is the root of the leaves;
* a consistency proof from every head signed before a kill (and every head
  it ever signed) to the new head verifies: no kill rewrote the past.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import pytest
from cluster import ProcessNode, close_cluster, found_cluster
from conftest import FreshDatabases
from history import History
from sqlalchemy import Connection, select
from workload import Stream, env_count, report, seeded, wait_for_calm

from baliza.crypto.audit import verify_tree_head
from baliza.node.storage import Database
from baliza.node.storage.models import (
    AuditLeafRow,
    AuditNodeRow,
    AuditStateRow,
    ReceivedEnvelopeRow,
    SentEnvelopeRow,
    table_of,
)
from baliza.node.storage.sql import audit as audit_rows
from baliza.protocol import merkle
from baliza.protocol.audit import EntryKind, SignedTreeHead

SENDER = "ec.polnac.gye"
RECEIVER = "co.polfa.ctg"
NOTICES_ENV = "BALIZA_FAULT_AUDIT_NOTICES"
KINDS = ("sender", "receiver", "both")
HEAD_WAIT_S = 20.0


def _newest_head(connection: Connection) -> SignedTreeHead | None:
    latest = audit_rows.latest_head(connection)
    return None if latest is None else SignedTreeHead.from_bytes(latest[2])


async def newest_head(node: ProcessNode) -> SignedTreeHead | None:
    """The newest head ``node`` kept (read from its database, the node running or not)."""
    db = await Database.open(node.url)
    try:
        return await db.run(_newest_head, write=False)
    finally:
        await db.close()


class Log:
    """A node's whole audit log as stored, read in one unit."""

    def __init__(self, connection: Connection) -> None:
        self.size, self.root = audit_rows.size_and_root(connection)
        state = connection.execute(select(table_of(AuditStateRow).c.frontier)).scalar_one()
        self.frontier = bytes(state)
        leaves = table_of(AuditLeafRow)
        indices = [int(i) for i in connection.execute(select(leaves.c.idx)).scalars()]
        self.indices = sorted(indices)
        self.stored = audit_rows.leaf_hashes(connection, indices)
        self.entries = [audit_rows.entry_at(connection, i) for i in self.indices]
        self.leaves = [merkle.leaf_hash(e.to_bytes()) for e in self.entries if e is not None]
        nodes = table_of(AuditNodeRow)
        self.kept = {
            merkle.Subtree(int(lv), int(ix)): bytes(h)
            for lv, ix, h in connection.execute(select(nodes.c.level, nodes.c.idx, nodes.c.hash))
        }
        self.heads = [
            SignedTreeHead.from_bytes(s) for _, _, s in audit_rows.heads(connection, 1000)
        ]
        sent = table_of(SentEnvelopeRow)
        received = table_of(ReceivedEnvelopeRow)
        self.sent = Counter(str(i) for i in connection.execute(select(sent.c.id)).scalars())
        self.received = Counter(
            (str(i), str(s))
            for i, s in connection.execute(select(received.c.id, received.c.sender))
        )
        self.proofs = {
            h.head.size: audit_rows.consistency_proof(connection, h.head.size, self.size)
            for h in self.heads
            if h.head.size <= self.size
        }


async def read_log(node: ProcessNode) -> Log:
    db = await Database.open(node.url)
    try:
        return await db.run(Log, write=False)
    finally:
        await db.close()


def check_log(node: ProcessNode, log: Log, promised: list[SignedTreeHead]) -> None:
    """Everything the module docstring lists, for one node's log."""
    who = node.agency
    assert log.indices == list(range(log.size)), f"{who}: leaf indices are not 0..size-1"
    stored = [log.stored[i] for i in log.indices]
    assert stored == log.leaves, f"{who}: a stored leaf hash is not its entry's"
    # The kept subtrees, the frontier and the root are what the leaves make.
    size, frontier, completed = merkle.append(0, [], log.leaves)
    assert size == log.size
    expected = {t: h for t, h in completed if t.level >= audit_rows.KEPT_FROM}
    assert log.kept == expected, (
        f"{who}: kept subtrees differ from the leaves: "
        f"{sorted(set(log.kept) ^ set(expected), key=lambda t: (t.level, t.index))[:5]}"
    )
    assert log.frontier == b"".join(frontier), f"{who}: the frontier is not the leaves'"
    assert log.root == merkle.root_of(log.leaves), f"{who}: the root is not the leaves'"
    # An append and what it is about were committed together.
    entries = [e for e in log.entries if e is not None]
    sent = Counter(e.subject for e in entries if e.kind is EntryKind.ENVELOPE_SENT)
    received = Counter(
        (e.subject, str(e.peer)) for e in entries if e.kind is EntryKind.ENVELOPE_RECEIVED
    )
    assert sent == log.sent, f"{who}: sent envelopes and their leaves differ"
    assert received == log.received, f"{who}: received envelopes and their leaves differ"
    # The newest head covers the whole log, verifies, and extends every earlier head.
    assert log.heads, f"{who}: no head signed"
    newest = verify_tree_head(node.keys.public(), log.heads[0])
    assert (newest.size, newest.root) == (log.size, log.root), f"{who}: the newest head is stale"
    for signed in [*promised, *log.heads]:
        old = verify_tree_head(node.keys.public(), signed)
        merkle.verify_consistency(
            old.size, newest.size, old.root, newest.root, log.proofs[old.size]
        )


async def wait_for_head(node: ProcessNode) -> None:
    """Wait until the node signed a head over its whole log (it signs every second)."""
    deadline = time.monotonic() + HEAD_WAIT_S
    while time.monotonic() < deadline:
        log = await read_log(node)
        if log.heads and log.heads[0].head.size == log.size:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{node.agency} signed no head over its whole log: {node.log_tail()}")


@pytest.mark.slow
async def test_kill_9_during_appends_leaves_a_log_whose_heads_verify(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    database_engine: str,
    fresh_databases: FreshDatabases,
) -> None:
    rng, seed = seeded("audit kill -9", capsys)
    count = env_count(NOTICES_ENV, 300)
    began = time.monotonic()
    databases = {a: await fresh_databases.url(database_engine) for a in (SENDER, RECEIVER)}
    nodes = await found_cluster(
        tmp_path,
        [SENDER, RECEIVER],
        databases=databases,
        pull_interval_ms=1000,
        audit_head_every=7,
        audit_head_interval_ms=1000,
    )
    history = History(seed)
    promised: dict[str, list[SignedTreeHead]] = {SENDER: [], RECEIVER: []}
    try:
        await asyncio.gather(*(node.start() for node in nodes.values()))
        stream = Stream(history, nodes[SENDER], [RECEIVER], rng)
        kinds = list(KINDS)
        rng.shuffle(kinds)
        segment = count // len(kinds)
        early: list[bool] = []

        async def kill(kind: str, point: int, end: int) -> None:
            await stream.reached(point)
            await asyncio.sleep(rng.uniform(0, 0.2))  # anywhere in a unit, not on a count
            victims = {
                "sender": [nodes[SENDER]],
                "receiver": [nodes[RECEIVER]],
                "both": [nodes[SENDER], nodes[RECEIVER]],
            }[kind]
            if nodes[SENDER] in victims:
                stream.up.clear()
            for node in victims:
                await node.kill()
            early.append(stream.acknowledged < end)  # the stream was still running
            history.event(f"kill -9 {kind} at {stream.acknowledged} acknowledged")
            for node in victims:
                head = await newest_head(node)
                if head is not None:
                    promised[node.agency].append(head)
            await asyncio.gather(*(node.start() for node in victims))
            stream.up.set()

        # One segment of the stream per kill, each killed at a seeded point of its own.
        for n, kind in enumerate(kinds):
            start, end = n * segment, (n + 1) * segment
            point = rng.randrange(start + segment // 5, start + segment * 3 // 5)
            await asyncio.gather(stream.run(end), kill(kind, point, end))
        await wait_for_calm(nodes.values(), history)
        for node in nodes.values():
            await wait_for_head(node)
            await node.stop()
        for agency, node in nodes.items():
            check_log(node, await read_log(node), promised[agency])
        report(capsys, history, time.monotonic() - began)
        assert sum("calm: nothing pending anywhere" in e for e in history.events) == 1
        assert early == [True] * len(KINDS), f"a kill came after its segment: {history.events}"
        # Every victim had signed before it died: the promises were checked, not skipped.
        assert promised[SENDER] and promised[RECEIVER]
    finally:
        await close_cluster(nodes)
