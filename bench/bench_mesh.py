"""End to end across N nodes: each notice to all the others, at a fixed rate.

A smaller, quicker cut of ``bench_node.py``'s mesh run, for looking at one
rate and node count at a time::

    .venv/bin/python bench/bench_mesh.py --rate 20 --seconds 10 --nodes 4

Prints the latency from the publish call returning to the notice on each
recipient's live stream (p50/p90/p99/max), notices lost, each node's CPU
(cores used over the run) and resident memory before and after. Nodes are
not pinned: with N nodes on this machine's cores, the CPU column says when
they are saturated, and then latency is queueing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import bench_node as b

from baliza.crypto import Suite

T = TypeVar("T")
AGENCIES = ("ec.senae.gye", "es.aduanas.alg", "co.polfa.ctg", "nl.douane.rtm", "pa.ana.pty")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def with_rss_samples(load: Awaitable[T], pids: list[int], every: int) -> T:
    """Run ``load``, printing each process's RSS every ``every`` seconds (0: never)."""
    task = asyncio.ensure_future(load)
    began = time.perf_counter()
    while every and not task.done():
        await asyncio.wait([task], timeout=every)
        rss = " ".join(f"{b.rss_mb(pid):.0f}" for pid in pids)
        print(f"t={time.perf_counter() - began:5.0f} s  RSS MB {rss}", flush=True)
    return await task


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=int, default=20, help="notices published per second")
    parser.add_argument("--seconds", type=int, default=10, help="how long to publish")
    parser.add_argument("--nodes", type=int, default=4, choices=range(2, 6), help="2 to 5")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile the first node (cProfile) and print its CPU per notice by area",
    )
    parser.add_argument(
        "--rss-every", type=int, default=0, help="print each node's RSS every N seconds"
    )
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="baliza-mesh-"))
    made = [b.make_node(base, a, Suite.HYBRID) for a in AGENCIES[: args.nodes]]
    b.introduce(made)
    mesh = [n.fresh(base / f"mesh-{i}") for i, n in enumerate(made)]
    with contextlib.ExitStack() as stack:
        profile_path = str(base / "node0.prof") if args.profile else None
        served = [
            stack.enter_context(
                b.serving([m], pinned=False, profile_path=profile_path if i == 0 else None)
            )
            for i, m in enumerate(mesh)
        ]
        tokens: dict[str, str] = {
            m.agency: s.tokens[m.agency] for m, s in zip(mesh, served, strict=True)
        }
        rss_before = [b.rss_mb(s.pid) for s in served]
        cpu_before = [cpu_seconds(s.pid) for s in served]
        began = time.perf_counter()
        latencies, lost = asyncio.run(
            with_rss_samples(
                b.mesh_load(mesh, tokens, args.rate, args.seconds),
                [s.pid for s in served],
                args.rss_every,
            )
        )
        wall = time.perf_counter() - began
        cores = [(cpu_seconds(s.pid) - c) / wall for s, c in zip(served, cpu_before, strict=True)]
        rss_after = [b.rss_mb(s.pid) for s in served]
    print(
        f"Command: `.venv/bin/python bench/bench_mesh.py --rate {args.rate} "
        f"--seconds {args.seconds} --nodes {args.nodes}`; load {os.getloadavg()[0]:.2f}"
    )
    print(
        "| arrivals | p50 ms | p90 ms | p99 ms | max ms | lost | node CPU, cores "
        "| RSS MB before → after |"
    )
    print("|---:|---:|---:|---:|---:|---:|---|---|")
    print(
        f"| {len(latencies)} | {b.percentile(latencies, 50):.0f} | "
        f"{b.percentile(latencies, 90):.0f} | {b.percentile(latencies, 99):.0f} | "
        f"{max(latencies):.0f} | {lost} | {' '.join(f'{c:.2f}' for c in cores)} | "
        f"{' '.join(f'{r:.0f}' for r in rss_before)} → {' '.join(f'{r:.0f}' for r in rss_after)} |"
    )
    if profile_path is not None:
        # Per notice of the whole mesh: the first node publishes 1 in N and
        # receives the notices of the others.
        print(f"\nNode {mesh[0].agency}, cProfile of its main thread over the run:\n")
        print("\n".join(b.area_report(profile_path, args.rate * args.seconds)))
        print()
        print("\n".join(b.profile_report(profile_path, args.rate * args.seconds)))


if __name__ == "__main__":
    main()
