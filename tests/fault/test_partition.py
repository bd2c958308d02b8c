"""Partitions between nodes, longer than several backoff steps, then healed.

Two nodes publish to each other and to a third, all the time. Each episode
cuts one seeded node off: both ways (nothing in or out), one way only (it
hears the others but nothing it sends gets through, the asymmetric case), or
silently (requests across the cut are swallowed and never answered, as
behind a firewall that drops packets). A loud cut resets every request that
crosses it before the node behind sees a byte, and stays until every sender
with something pending across it has failed a seeded number of attempts in a
row (4 to 7 backoff steps). A silent cut holds its requests for a seeded 1 to
3 s; healing it resets them, as a link coming back does. At the end the
history checker runs over every feed and database.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from cluster import ProcessNode, close_cluster, found_cluster
from history import History, check
from proxy import FORWARD, Action, Fault, Message
from workload import Stream, env_count, report, seeded, take_stock, wait_for_calm

AGENCIES = ["ec.polnac.gye", "co.polfa.ctg", "es.aduanas.alg"]
SENDERS = AGENCIES[:2]
ATTEMPTS = re.compile(r"\((\d+) attempts\)")
DROP = Action(Fault.DROP)
BLACKHOLE = Action(Fault.BLACKHOLE)


class Links:
    """Which links (origin → destination) are cut; every proxy consults it per request."""

    def __init__(self, nodes: dict[str, ProcessNode]) -> None:
        self.cut: set[tuple[str, str]] = set()
        self.silent = False
        self._nodes = nodes
        for agency, node in nodes.items():
            node.proxy.choose = self._chooser(agency)

    def _chooser(self, destination: str) -> Callable[[Message], Action]:
        def choose(request: Message) -> Action:
            if (request.origin, destination) not in self.cut:
                return FORWARD
            return BLACKHOLE if self.silent else DROP

        return choose

    def isolate(self, node: str, kind: str) -> None:
        others = [a for a in AGENCIES if a != node]
        self.cut = {(node, o) for o in others}
        if kind != "outbound":
            self.cut |= {(o, node) for o in others}
        self.silent = kind == "silent"

    def heal(self) -> None:
        self.cut = set()
        if self.silent:
            for node in self._nodes.values():
                node.proxy.reset_all()


async def failed_attempts(nodes: dict[str, ProcessNode], cut: set[tuple[str, str]]) -> list[int]:
    """Consecutive failed attempts of each sender that has something pending across the cut."""
    counts = []
    async with aiohttp.ClientSession() as http:
        for origin, destination in cut:
            node = nodes[origin]
            headers = {"Authorization": f"Bearer {node.tokens['analyst']}"}
            async with http.get(node.api_url + "/api/v1/status", headers=headers) as resp:
                peers = (await resp.json())["peers"]
            peer = next(p for p in peers if p["agency"] == destination)
            if peer["pending"]:
                match = ATTEMPTS.search(peer["state"])
                counts.append(int(match.group(1)) if match else 0)
    return counts


async def hold_until_backed_off(
    nodes: dict[str, ProcessNode], links: Links, steps: int, history: History
) -> None:
    """Keep the cut until each blocked sender failed ``steps`` attempts in a row."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        counts = await failed_attempts(nodes, links.cut)
        if counts and min(counts) >= steps:
            history.event(f"blocked senders failed {counts} attempts in a row")
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"senders never backed off {steps} steps: {history.summary()}")


@pytest.mark.slow
async def test_partitions_then_heal_lose_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng, seed = seeded("partitions", capsys)
    per_episode = env_count("BALIZA_FAULT_PARTITION_NOTICES", 40)
    began = time.monotonic()
    nodes = await found_cluster(tmp_path, AGENCIES, pull_interval_ms=1000)
    history = History(seed)
    for agency, node in nodes.items():
        node.proxy.observers.append(history.inbox_observer(agency))
    links = Links(nodes)
    try:
        await asyncio.gather(*(node.start() for node in nodes.values()))
        streams = [
            Stream(history, nodes[s], [a for a in AGENCIES if a != s], random.Random(rng.random()))
            for s in SENDERS
        ]
        # One way only makes sense for a node that sends something.
        episodes = [(a, kind) for a in AGENCIES for kind in ("both ways", "silent")]
        episodes += [(s, "outbound") for s in SENDERS]
        rounds = env_count("BALIZA_FAULT_PARTITIONS", 3)
        chosen = rng.sample(episodes, min(rounds, len(episodes)))
        chosen += [rng.choice(episodes) for _ in range(rounds - len(chosen))]
        for isolated, kind in chosen:
            links.isolate(isolated, kind)
            history.event(f"cut {isolated} off ({kind})")
            target = [s.acknowledged + per_episode for s in streams]
            await asyncio.gather(
                *(s.run(t, workers=4) for s, t in zip(streams, target, strict=True))
            )
            if kind == "silent":
                await asyncio.sleep(rng.uniform(1.0, 3.0))
            else:
                await hold_until_backed_off(nodes, links, rng.randint(4, 7), history)
            links.heal()
            history.event("healed")
        await wait_for_calm(nodes.values(), history)
        anomalies = check(history, await take_stock(nodes))
        report(capsys, history, time.monotonic() - began)
        assert not anomalies, "\n".join(anomalies) + "\n" + history.summary()
        cut = sum(
            n.proxy.applied[Fault.DROP] + n.proxy.applied[Fault.BLACKHOLE] for n in nodes.values()
        )
        assert cut > 0, "the partitions never cut a request"
    finally:
        await close_cluster(nodes)
