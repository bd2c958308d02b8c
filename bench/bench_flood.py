"""Flood benchmark: another member's delivery latency while one member floods the inbox.

Run ``.venv/bin/python bench/bench_flood.py`` (about 60 s; ``--quick`` for a
smoke run). Algeciras's node runs in a forked process pinned to one core;
on the other core run two members, each in a process of its own:

- Guayaquil, honest: pushes one fresh envelope every 50 ms and times each
  answer (``POST /fed/v1/inbox`` round trip, accepted) — its delivery latency;
- Cartagena, flooding: FLOODERS concurrent loops pushing batches of 10
  envelopes whose signatures do not verify, in validly signed requests, as
  fast as the node answers.

Three phases, each on a fresh database: no flood; flood with the admission
limits switched off (what the node did before them); flood with the default
limits (``peer_requests_per_s`` 50, ``peer_concurrent_bodies`` 2). Prints a
markdown table: Guayaquil's p50 / p99 / max, and the flood's requests per
second and how many of them were refused ``busy`` before any work.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import tempfile
import time
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

from bench_node import (
    Node,
    cpu_seconds,
    introduce,
    loader_pinned,
    make_node,
    percentile,
    sealed,
    serving,
)

from baliza.crypto import Suite
from baliza.node.services.fedclient import new_session, push_batch
from baliza.protocol.errors import TransportError
from baliza.protocol.federation import Outcome

FLOODERS = 4
FLOOD_BATCH = 10
HONEST_INTERVAL_S = 0.05
# (peer_requests_per_s, peer_concurrent_bodies)
UNLIMITED = (1_000_000, 1000)
DEFAULTS = (50, 2)


@dataclass(frozen=True)
class Phase:
    """What one phase measured."""

    name: str
    latencies_ms: list[float]
    flood_requests: int
    flood_busy: int
    seconds: float
    node_cpu_s: float = 0.0


def tampered(raw: bytes) -> bytes:
    flipped = bytearray(raw)
    flipped[-40] ^= 0x01  # inside a signature
    return bytes(flipped)


async def honest(sender: Node, receiver: Node, raws: list[bytes]) -> list[float]:
    """Push one envelope at a time at a fixed pace; the round trip of each, in ms."""
    latencies: list[float] = []
    async with new_session() as session:
        for raw in raws:
            started = time.perf_counter()
            results = await push_batch(session, sender.keys, receiver.peer, [raw])
            latencies.append((time.perf_counter() - started) * 1000)
            if results[0].outcome != Outcome.ACCEPTED:
                raise RuntimeError(f"honest envelope not accepted: {results[0]}")
            await asyncio.sleep(max(0.0, HONEST_INTERVAL_S - latencies[-1] / 1000))
    return latencies


async def flood(
    sender: Node, receiver: Node, batch: list[bytes], stop: EventType
) -> tuple[int, int]:
    """Push ``batch`` from FLOODERS loops until ``stop`` is set; (requests, refused busy)."""
    counts = [0, 0]
    async with new_session() as session:

        async def loop() -> None:
            while not stop.is_set():
                counts[0] += 1
                try:
                    await push_batch(session, sender.keys, receiver.peer, batch)
                except TransportError as err:
                    if "busy" not in str(err):
                        raise
                    counts[1] += 1

        await asyncio.gather(*(loop() for _ in range(FLOODERS)))
    return counts[0], counts[1]


def _flood_process(
    sender: Node, receiver: Node, batch: list[bytes], stop: EventType, out: Connection
) -> None:
    # Lowest priority: the flooder stands for another machine, and must not
    # take the shared core from the honest client whose latency is measured.
    os.nice(19)
    out.send(asyncio.run(flood(sender, receiver, batch, stop)))


def measure(
    name: str, gye: Node, alg: Node, ctg: Node, raws: list[bytes], bad: list[bytes] | None
) -> Phase:
    """Guayaquil's pushes, with Cartagena's flood (if ``bad``) from a process of its own.

    The flood has its own process so that its event loop never delays the
    honest client's: what is measured is the node's answer time.
    """
    fork = multiprocessing.get_context("fork")
    stop = fork.Event()
    mine, theirs = fork.Pipe()
    flooder = None
    if bad is not None:
        flooder = fork.Process(target=_flood_process, args=(ctg, alg, bad, stop, theirs))
        flooder.start()
        time.sleep(0.5)  # the flood is under way first
    started = time.perf_counter()
    try:
        latencies = asyncio.run(honest(gye, alg, raws))
    finally:
        stop.set()
    seconds = time.perf_counter() - started
    requests, busy = (0, 0)
    if flooder is not None:
        if mine.poll(60):
            requests, busy = mine.recv()
        flooder.join(30)
    return Phase(name, latencies, requests, busy, seconds)


def run_phase(
    name: str,
    nodes: tuple[Node, Node, Node],
    limits: tuple[int, int],
    n: int,
    flooded: bool,
    base: Path,
) -> Phase:
    gye, alg, ctg = nodes
    rate, bodies = limits
    config = replace(alg.config, peer_requests_per_s=rate, peer_concurrent_bodies=bodies)
    receiver = replace(alg, config=config).fresh(base / name.replace(" ", "-"))
    raws = [e.raw for e in sealed(gye.keys, [alg.keys], n)]
    bad = [tampered(e.raw) for e in sealed(ctg.keys, [alg.keys], FLOOD_BATCH)] if flooded else None
    with serving([receiver]) as served, loader_pinned(True):
        cpu = cpu_seconds(served.pid)
        phase = measure(name, gye, receiver, ctg, raws, bad)
        return replace(phase, node_cpu_s=cpu_seconds(served.pid) - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 honest pushes per phase")
    args = parser.parse_args()
    n = 40 if args.quick else 200
    with tempfile.TemporaryDirectory(prefix="baliza-flood-") as tmp:
        base = Path(tmp)
        nodes = (
            make_node(base, "ec.polnac.gye", Suite.HYBRID),
            make_node(base, "es.aduanas.alg", Suite.HYBRID),
            make_node(base, "co.polfa.ctg", Suite.HYBRID),
        )
        introduce(list(nodes))
        phases = [
            run_phase("no flood", nodes, DEFAULTS, n, False, base),
            run_phase("flood, limits off", nodes, UNLIMITED, n, True, base),
            run_phase("flood, default limits", nodes, DEFAULTS, n, True, base),
        ]
    print(
        f"Guayaquil pushes {n} envelopes, one per {HONEST_INTERVAL_S * 1000:.0f} ms; "
        f"Cartagena floods with {FLOODERS} loops of {FLOOD_BATCH} bad-signature envelopes.\n"
    )
    print("| phase | p50 ms | p99 ms | max ms | flood req/s | refused busy | node CPU |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for p in phases:
        rate = p.flood_requests / p.seconds if p.flood_requests else 0.0
        share = f"{p.flood_busy / p.flood_requests:.0%}" if p.flood_requests else "-"
        p50, p99, top = (percentile(p.latencies_ms, q) for q in (50, 99, 100))
        cpu = f"{p.node_cpu_s / p.seconds:.0%}"
        print(f"| {p.name} | {p50:.1f} | {p99:.1f} | {top:.1f} | {rate:.0f} | {share} | {cpu} |")


if __name__ == "__main__":
    main()
