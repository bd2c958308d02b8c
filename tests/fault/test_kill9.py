"""kill -9 of the sender, of a receiver, and of both, at seeded moments of a long stream.

One sender publishes ``BALIZA_FAULT_NOTICES`` notices (1,000 in CI) to seeded
subsets of three receivers, eight publishes in flight at a time. At seeded
points of the stream the schedule kills the sender, one receiver, or the
sender and one receiver together, with SIGKILL, keeps them down for a seeded
while and restarts them; each kind of kill happens ``BALIZA_FAULT_KILLS``
times (once in CI, more in the soak). Publishes cut off
by a kill are recorded as ``unknown`` and resolved by the checker (the notice
is then everywhere it was addressed, or nowhere). Receivers also pull every
second, so pushes and pulls of the same envelopes race.

When the stream is over and everything is delivered, analysts at each
receiver open a seeded sample of notices, which sends read receipts; the
sender is killed while they are in flight, and one reader right after
reading. An analyst follows each node's live stream all along, reconnecting
after each restart. Then the history checker runs over every feed, live
stream and database.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import pytest
from cluster import ProcessNode, close_cluster, found_cluster
from history import History, Result, check
from workload import (
    KILLS_ENV,
    NOTICES_ENV,
    Follower,
    Stream,
    env_count,
    open_notice,
    report,
    seeded,
    take_stock,
    wait_for_calm,
)

SENDER = "ec.polnac.gye"
RECEIVERS = ["co.polfa.ctg", "es.aduanas.alg", "pa.senan.pty"]
KINDS = ("sender", "receiver", "both")
READS_PER_RECEIVER = 8


def plan(rng: random.Random, count: int, rounds: int) -> list[tuple[int, str]]:
    """Each kind of kill ``rounds`` times, in a seeded order, at seeded points of the stream."""
    kinds = list(KINDS) * rounds
    rng.shuffle(kinds)
    points = sorted(rng.sample(range(count // 20, count * 9 // 10), len(kinds)))
    return list(zip(points, kinds, strict=True))


async def kill_and_restart(
    victims: list[ProcessNode], stream: Stream, history: History, down_s: float
) -> None:
    """SIGKILL ``victims`` at once, leave them down ``down_s``, start them again."""
    if stream.sender in victims:
        stream.up.clear()
    for node in victims:
        await node.kill()
    history.event(f"kill -9 {', '.join(n.agency for n in victims)} (down {down_s:.2f} s)")
    await asyncio.sleep(down_s)
    await asyncio.gather(*(node.start() for node in victims))
    history.event(f"restarted {', '.join(n.agency for n in victims)}")
    stream.up.set()


async def schedule(
    rng: random.Random,
    nodes: dict[str, ProcessNode],
    stream: Stream,
    history: History,
    points: list[tuple[int, str]],
) -> None:
    for point, kind in points:
        await stream.reached(point)
        await asyncio.sleep(rng.uniform(0, 0.3))  # land anywhere in a batch, not on a count
        receiver = nodes[rng.choice(RECEIVERS)]
        victims = {
            "sender": [stream.sender],
            "receiver": [receiver],
            "both": [stream.sender, receiver],
        }[kind]
        history.event(f"at {stream.acknowledged} acknowledged publishes: {kind}")
        await kill_and_restart(victims, stream, history, rng.uniform(0.1, 1.0))


async def read_under_kill(
    rng: random.Random, nodes: dict[str, ProcessNode], stream: Stream, history: History
) -> None:
    """Analysts open notices while the sender is killed; one reader dies right after."""
    delivered: dict[str, list[str]] = {r: [] for r in RECEIVERS}
    for op in history.publishes:
        if op.result is Result.OK and op.id is not None:
            for recipient in op.recipients:
                delivered[recipient].append(op.id)
    wanted = [
        (reader, eid)
        for reader in RECEIVERS
        for eid in rng.sample(delivered[reader], min(READS_PER_RECEIVER, len(delivered[reader])))
    ]
    rng.shuffle(wanted)
    half = len(wanted) // 2
    for i, (reader, eid) in enumerate(wanted):
        if i == half:
            await stream.sender.kill()
            history.event("kill -9 the sender while read receipts are on their way")
        await open_notice(nodes[reader], eid)
        history.reads.append((reader, eid))
    last_reader = nodes[wanted[-1][0]]
    await last_reader.kill()
    history.event(f"kill -9 {last_reader.agency} right after its last read")
    await asyncio.gather(stream.sender.start(), last_reader.start())
    history.event("restarted the sender and the reader")


@pytest.mark.slow
async def test_kill_9_loses_nothing_and_duplicates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng, seed = seeded("kill -9 stream", capsys)
    count = env_count(NOTICES_ENV, 1000)
    began = time.monotonic()
    nodes = await found_cluster(tmp_path, [SENDER, *RECEIVERS], pull_interval_ms=1000)
    history = History(seed)
    for agency, node in nodes.items():
        node.proxy.observers.append(history.inbox_observer(agency))
    try:
        await asyncio.gather(*(node.start() for node in nodes.values()))
        followers = [Follower(node, history) for node in nodes.values()]
        for follower in followers:
            follower.start()
        stream = Stream(history, nodes[SENDER], RECEIVERS, rng)
        points = plan(rng, count, env_count(KILLS_ENV, 1))
        history.event(f"stream of {count} notices; kills planned at {points}")
        await asyncio.gather(stream.run(count), schedule(rng, nodes, stream, history, points))
        history.event(f"stream over: {len(history.publishes)} publishes")
        await wait_for_calm(nodes.values(), history)
        await read_under_kill(rng, nodes, stream, history)
        await wait_for_calm(nodes.values(), history)
        for follower in followers:
            await follower.caught_up()
            await follower.stop()
        anomalies = check(history, await take_stock(nodes))
        report(capsys, history, time.monotonic() - began)
        assert not anomalies, "\n".join(anomalies) + "\n" + history.summary()
        assert history.acknowledged >= count
        kills = " ".join(history.events)
        assert kills.count("kill -9") == len(points) + 2, history.summary()
    finally:
        await close_cluster(nodes)
