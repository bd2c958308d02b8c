"""Connections delayed, cut and reset part-way through a request or its answer.

Two nodes publish to each other and to a third while every request between
nodes meets a seeded fault at the proxy in front of its destination: delayed,
cut or reset after a seeded fraction of the request (the node sees a partial
body), or cut or reset after a seeded fraction of the answer (the node has
stored the batch, its sender never learns it). The first requests meet each
kind of fault once, in a seeded order, so every kind strikes in every run;
after that each request draws its fault. Answers the senders never saw are
recorded at the proxy, so the checker can tell an envelope accepted twice
from one accepted once and then answered ``duplicate`` on the retry.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from pathlib import Path

import pytest
from cluster import close_cluster, found_cluster
from history import History, check
from proxy import FORWARD, Action, Fault, Message
from workload import Follower, Stream, env_count, report, seeded, take_stock, wait_for_calm

AGENCIES = ["ec.polnac.gye", "co.polfa.ctg", "es.aduanas.alg"]
SENDERS = AGENCIES[:2]
KINDS = [
    Fault.DELAY,
    Fault.CUT_REQUEST,
    Fault.RESET_REQUEST,
    Fault.CUT_RESPONSE,
    Fault.RESET_RESPONSE,
]
WEIGHTS = [4] + [1] * len(KINDS)  # forward, then each kind


class Weather:
    """The seeded fault each request meets: every kind once first, then drawn at random."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.first = list(KINDS)
        rng.shuffle(self.first)
        self.on = True

    def choose(self, request: Message) -> Action:
        if not self.on or not request.origin:
            return FORWARD
        if self.first:
            fault = self.first.pop()
        else:
            fault = self.rng.choices([Fault.FORWARD, *KINDS], weights=WEIGHTS)[0]
        return Action(fault, at=self.rng.random(), delay_s=self.rng.uniform(0.01, 0.3))


@pytest.mark.slow
async def test_delays_cuts_and_resets_lose_and_duplicate_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng, seed = seeded("network faults", capsys)
    count = env_count("BALIZA_FAULT_NETWORK_NOTICES", 100)
    began = time.monotonic()
    nodes = await found_cluster(tmp_path, AGENCIES, pull_interval_ms=1000)
    history = History(seed)
    weather = Weather(rng)
    for agency, node in nodes.items():
        node.proxy.observers.append(history.inbox_observer(agency))
        node.proxy.choose = weather.choose
    try:
        await asyncio.gather(*(node.start() for node in nodes.values()))
        followers = [Follower(node, history) for node in nodes.values()]
        for follower in followers:
            follower.start()
        streams = [
            Stream(history, nodes[s], [a for a in AGENCIES if a != s], random.Random(rng.random()))
            for s in SENDERS
        ]
        history.event(f"{count} notices from each of {SENDERS} through bad weather")
        await asyncio.gather(*(s.run(count, workers=4) for s in streams))
        weather.on = False
        history.event("weather clears")
        await wait_for_calm(nodes.values(), history)
        for follower in followers:
            await follower.caught_up()
            await follower.stop()
        anomalies = check(history, await take_stock(nodes))
        applied: Counter[Fault] = Counter()
        for node in nodes.values():
            applied.update(node.proxy.applied)
        history.event(f"faults applied: { {f.value: n for f, n in applied.items()} }")
        report(capsys, history, time.monotonic() - began)
        assert not anomalies, "\n".join(anomalies) + "\n" + history.summary()
        assert all(applied[kind] for kind in KINDS), applied
    finally:
        await close_cluster(nodes)
