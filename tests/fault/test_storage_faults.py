"""A receiver whose disk fills up, and one whose database another process holds locked.

In both cases the sender must get a retryable answer (HTTP 503, so its rows
stay pending and it tries again), the receiver must acknowledge nothing it
did not store, and once the disk has room again or the lock is released,
everything arrives exactly once and the database passes its integrity check.
"Acknowledged" is read from the answers the receiver gave (recorded at the
proxy, including answers its sender never saw) and "stored" from the
receiver's database at that same moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import random
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster import ProcessNode, close_cluster, found_cluster
from history import History, check
from holdings import stored_ids
from workload import Stream, report, seeded, take_stock, wait_for_calm

SENDER, RECEIVER = "ec.polnac.gye", "co.polfa.ctg"
SMALL_DISK = "24m"
ANSWER_LIMIT_S = 60.0


@contextlib.contextmanager
def small_disk(folder: Path) -> Iterator[Path]:
    """A tmpfs of ``SMALL_DISK`` mounted at ``folder``; skips when mounting is not allowed."""
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("disk-full test needs root to mount a small tmpfs (mount -t tmpfs)")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SMALL_DISK}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"disk-full test cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(path: Path) -> int:
    """Write ``path`` until the file system is full; return the bytes written."""
    written = 0
    chunk = b"\0" * 65536
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while chunk:
            try:
                written += os.write(fd, chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                chunk = chunk[: len(chunk) // 2]
    finally:
        os.close(fd)
    return written


def acknowledged(history: History, receiver: str) -> set[str]:
    """Envelopes ``receiver`` answered accepted or duplicate for, so far."""
    return {
        eid
        for answer in history.answers
        if answer.receiver == receiver
        for eid, outcome, _ in answer.results
        if outcome in ("accepted", "duplicate")
    }


async def push_until_refused(
    stream: Stream,
    history: History,
    receiver: ProcessNode,
    connection: sqlite3.Connection | None = None,
) -> int:
    """Publish until ``receiver`` answers a push with an error; return that HTTP status.

    All along, every envelope the receiver acknowledged must be in its database.
    """
    deadline = time.monotonic() + ANSWER_LIMIT_S
    while time.monotonic() < deadline:
        acked = acknowledged(history, receiver.agency)
        held = stored_ids(receiver.database, connection=connection)
        assert acked <= held, f"acknowledged, not stored: {sorted(acked - held)[:3]}"
        errors = [
            a.status for a in history.answers if a.receiver == receiver.agency and a.status != 200
        ]
        if errors:
            history.event(f"{receiver.agency} answered {errors[0]}")
            return errors[0]
        if stream.acknowledged < 400:
            await stream.run(stream.acknowledged + 5, workers=2)
        await asyncio.sleep(0.2)
    raise AssertionError(f"{receiver.agency} never refused a push: {history.summary()}")


async def start_pair(
    tmp_path: Path, history: History, rng: random.Random, **folders: Path
) -> tuple[dict[str, ProcessNode], Stream]:
    nodes = await found_cluster(tmp_path, [SENDER, RECEIVER], folders=folders)
    for agency, node in nodes.items():
        node.proxy.observers.append(history.inbox_observer(agency))
    await asyncio.gather(*(node.start() for node in nodes.values()))
    stream = Stream(history, nodes[SENDER], [RECEIVER], rng)
    await stream.run(10, workers=2)
    await wait_for_calm(nodes.values(), history)
    return nodes, stream


@pytest.mark.slow
async def test_disk_full_while_receiving(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng, seed = seeded("disk full", capsys)
    began = time.monotonic()
    history = History(seed)
    with small_disk(tmp_path / "small") as disk:
        nodes, stream = await start_pair(tmp_path, history, rng, **{RECEIVER: disk / RECEIVER})
        try:
            filler = disk / "filler"
            history.event(f"filled the receiver's disk with {fill(filler)} bytes")
            receiver = nodes[RECEIVER]
            status = await push_until_refused(stream, history, receiver)
            assert status == 503, f"a full disk must be a retryable answer, got {status}"
            await receiver.kill()
            history.event("kill -9 the receiver while its disk is full")
            filler.unlink()
            history.event("room again on the receiver's disk")
            await receiver.start()
            await wait_for_calm(nodes.values(), history)
            anomalies = check(history, await take_stock(nodes))
        finally:
            await close_cluster(nodes)
    report(capsys, history, time.monotonic() - began)
    assert not anomalies, "\n".join(anomalies) + "\n" + history.summary()


@pytest.mark.slow
async def test_locked_database_while_receiving(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng, seed = seeded("locked database", capsys)
    began = time.monotonic()
    history = History(seed)
    nodes, stream = await start_pair(tmp_path, history, rng)
    try:
        receiver = nodes[RECEIVER]
        lock = sqlite3.connect(receiver.database, timeout=30, isolation_level=None)
        try:
            lock.execute("BEGIN EXCLUSIVE")
            history.event("another connection holds an exclusive lock on the receiver's database")
            status = await push_until_refused(stream, history, receiver, lock)
            assert status == 503, f"a locked database must be a retryable answer, got {status}"
            lock.execute("COMMIT")
            history.event("lock released")
        finally:
            lock.close()
        await wait_for_calm(nodes.values(), history)
        anomalies = check(history, await take_stock(nodes))
    finally:
        await close_cluster(nodes)
    report(capsys, history, time.monotonic() - began)
    assert not anomalies, "\n".join(anomalies) + "\n" + history.summary()
