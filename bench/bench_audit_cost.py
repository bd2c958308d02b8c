"""What the audit log costs ingest and publish: one node with and without appends, same run.

Run ``.venv/bin/python bench/bench_audit_cost.py`` (``--reps N``, default
5; ``--postgres URL`` adds ingest on PostgreSQL, default
``$BALIZA_TEST_POSTGRES_URL``). The nodes are ``bench_node.py``'s: the
application ``baliza serve`` runs, in a forked process pinned to one core,
the load generator on the other, hybrid suite, SQLite WAL with
synchronous=FULL. Each measurement is made ``--reps`` times with the audit
log as shipped and ``--reps`` times with ``sql/audit.append`` replaced by
a no-op in the node's process (the floor: the same node that logs
nothing), alternating, so load from other processes falls on both alike:

1. ingest through ``POST /fed/v1/inbox``, batches of 100 (4 in flight) and
   of 1 (16 in flight), a fresh receiver database each run;
2. publish through ``POST /api/v1/notices`` to 5 recipients that are not
   running, couriers not started (so the figure is the publish path, not
   retries), one node database for all its runs.

Prints, per path, the median rate and node CPU per notice (process time
of the node's process, all its threads) of each, and the audited/floor
ratios of each rep's pair (the two runs made back to back), as their
median and quartiles: throughput (the issue's budget: at least 0.90) and
CPU per notice (at most 1.11 for the same budget; the steadier figure on
a machine other processes load, since their load stretches wall time but
not the node's own CPU time).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import bench_node as bn

from baliza.crypto import Suite
from baliza.node.storage.sql import audit as audit_rows

NOTICES_100 = 500
NOTICES_1 = 200
PUBLISH = 100


@contextmanager
def audit_log(on: bool) -> Iterator[None]:
    """The node forked inside appends to its audit log (``on``) or not (the floor)."""
    shipped = audit_rows.append
    if not on:
        audit_rows.append = lambda connection, entries: -1
    try:
        yield
    finally:
        audit_rows.append = shipped


def alternate(reps: int, run: Callable[[bool, int], bn.Run]) -> dict[bool, list[bn.Run]]:
    runs: dict[bool, list[bn.Run]] = {True: [], False: []}
    for rep in range(reps):
        for on in (rep % 2 == 0, rep % 2 == 1):  # which goes first alternates too
            with audit_log(on):
                runs[on].append(run(on, rep))
    return runs


def _spread(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.3f}"
    q = statistics.quantiles(values, n=4)
    return f"{statistics.median(values):.3f} ({q[0]:.3f}–{q[2]:.3f})"


def row(label: str, runs: dict[bool, list[bn.Run]]) -> str:
    """Medians of each, and the log/floor ratios of each rep's pair (median and quartiles).

    A pair is the two runs of one rep, made back to back, so a ratio per
    pair cancels the load that changes between reps.
    """

    def rate(on: bool) -> float:
        return statistics.median(r.rate for r in runs[on])

    def cpu_us(r: bn.Run) -> float:
        return r.node_cpu_s / r.count * 1e6

    pairs = list(zip(runs[True], runs[False], strict=True))
    throughput = [on.rate / off.rate for on, off in pairs]
    cpu = [cpu_us(on) / cpu_us(off) for on, off in pairs]
    cpu_on = statistics.median(cpu_us(r) for r in runs[True])
    cpu_off = statistics.median(cpu_us(r) for r in runs[False])
    return (
        f"| {label} | {rate(False):,.0f} | {rate(True):,.0f} | {_spread(throughput)} | "
        f"{cpu_off:,.0f} | {cpu_on:,.0f} | **{_spread(cpu)}** |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--postgres", default=os.environ.get("BALIZA_TEST_POSTGRES_URL", ""))
    args = parser.parse_args()
    print(f"Command: `.venv/bin/python bench/bench_audit_cost.py {' '.join(sys.argv[1:])}`\n")
    print(
        f"{os.cpu_count()} cores; node pinned to CPU {bn.SERVER_CPUS}; "
        f"{args.reps} runs of each, alternating; load average at start {os.getloadavg()[0]:.1f}\n"
    )
    base = Path(tempfile.mkdtemp(prefix="baliza-audit-cost-"))
    agencies = ("ec.senae.gye", "es.aduanas.alg", "co.polfa.ctg", "nl.douane.rtm")
    nodes = [
        bn.make_node(base, a, Suite.HYBRID) for a in (*agencies, "pa.ana.pty", "be.douane.anr")
    ]
    bn.introduce(nodes)
    sender, receiver = nodes[0], nodes[1]
    raws = [e.raw for e in bn.sealed(sender.keys, [receiver.keys, sender.keys], NOTICES_100)]
    began = time.perf_counter()
    print(
        "| path (SQLite unless named) | notices/s, no log | notices/s, log | "
        "throughput ratio per pair, median (quartiles) | node CPU µs/notice, no log | "
        "with log | CPU-per-notice ratio per pair, median (quartiles) |\n"
        "|---|---:|---:|---:|---:|---:|---:|"
    )
    for batch, n in ((100, NOTICES_100), (1, NOTICES_1)):

        def ingest(on: bool, rep: int, b: int = batch, k: int = n) -> bn.Run:
            return bn.ingest_run(sender, receiver, raws[:k], b, base / f"in{b}-{int(on)}-{rep}")

        print(row(f"ingest, batches of {batch}", alternate(args.reps, ingest)), flush=True)
    publisher = nodes[0]
    recipients: list[str] = [n.agency for n in nodes[1:]]

    def publish(on: bool, rep: int) -> bn.Run:
        node = publisher.fresh(base / f"pub-{int(on)}-{rep}")
        with bn.serving([node], couriers=False) as served, bn.loader_pinned(True):
            token = served.tokens[node.agency]
            asyncio.run(bn.count_posts(node, token, recipients, 5))  # warm up
            return bn.timed(served.pid, bn.count_posts(node, token, recipients, PUBLISH))

    print(row("publish to 5, couriers not started", alternate(args.reps, publish)), flush=True)
    if args.postgres:
        runs = alternate(
            args.reps,
            lambda on, rep: bn.pg_ingest_runs(
                sender, receiver, raws, 100, args.postgres, 1, 1, base / f"pg-{int(on)}-{rep}"
            )[0],
        )
        print(row("ingest, batches of 100, PostgreSQL, 1 worker", runs), flush=True)
    print(f"\n{time.perf_counter() - began:.0f} s; load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
