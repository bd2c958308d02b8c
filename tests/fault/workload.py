"""The load of a fault run: seeds, a stream of publishes, waiting for calm, taking stock.

Every random choice of a run comes from one ``random.Random`` derived from
the suite seed and the test's name, so a failure seen once is repeated by
setting ``BALIZA_FAULT_SEED`` to the seed printed with it. (The seed fixes the
choices, which notice goes where and which fault strikes when; the operating
system still decides the exact interleaving of processes.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import time
from collections.abc import Iterable
from typing import Any

import aiohttp
import pytest
from cluster import ProcessNode
from history import History, Publish, Result
from holdings import Holdings, read_database, read_feed
from stdnum import iso6346 as stdnum_iso6346

SEED_ENV = "BALIZA_FAULT_SEED"
NOTICES_ENV = "BALIZA_FAULT_NOTICES"
KILLS_ENV = "BALIZA_FAULT_KILLS"
VERBOSE_ENV = "BALIZA_FAULT_VERBOSE"
SUITE_SEED = int(os.environ.get(SEED_ENV) or random.SystemRandom().randrange(1, 2**31))
CALM_LIMIT_S = 120.0


def env_count(name: str, default: int) -> int:
    """A count from the environment (the soak raises them), or the CI default."""
    return int(os.environ.get(name) or default)


def seeded(name: str, capsys: pytest.CaptureFixture[str]) -> tuple[random.Random, int]:
    """The run's random source, and the seed, printed where the test output shows it."""
    with capsys.disabled():
        print(f"\n[fault] {name}: seed {SUITE_SEED} (repeat with {SEED_ENV}={SUITE_SEED})")
    return random.Random(f"{SUITE_SEED}:{name}"), SUITE_SEED


def report(capsys: pytest.CaptureFixture[str], history: History, elapsed_s: float) -> None:
    """One line of counts at the end of a run; every event with ``BALIZA_FAULT_VERBOSE=1``."""
    text = history.summary()
    if not os.environ.get(VERBOSE_ENV):
        text = text.splitlines()[0]
    with capsys.disabled():
        print(f"[fault] {elapsed_s:.1f} s; {text}")


def seizure(sender: str, tag: int) -> dict[str, Any]:
    """A seizure notice whose quantity (``tag`` grams) is unique in the run."""
    return {
        "v": 1,
        "kind": "notice.seizure",
        "programme": "ccp",
        "unit": {"agency": sender},
        "seized_ms": int(time.time() * 1000) - 3_600_000,
        "location": {"locode": "ESALG"},
        "transport": "sea",
        "commodities": [{"category": "cocaine", "quantity": {"amount": tag, "unit": "g"}}],
        # Its own container: the same container, port and day from another
        # sender would be the same seizure, refused as a re-publication.
        "conveyance": {"container": container(tag)},
        "text": {"lang": "en", "text": "Holdalls behind the doors."},
    }


def container(serial: int) -> str:
    """A valid ISO 6346 container number for ``serial`` (its check digit computed)."""
    code = f"MSCU{serial % 1_000_000:06d}"
    return code + stdnum_iso6346.calc_check_digit(code)


class Stream:
    """Publishes notices from ``sender`` to seeded subsets of ``recipients``, recording all."""

    def __init__(
        self,
        history: History,
        sender: ProcessNode,
        recipients: list[str],
        rng: random.Random,
        *,
        base_tag: int = 100_000,
    ) -> None:
        self.history = history
        self.sender = sender
        self.recipients = recipients
        self.rng = rng
        self.base_tag = base_tag
        self.up = asyncio.Event()  # cleared by the fault schedule while the sender is down
        self.up.set()
        self.acknowledged = 0
        self._progress = asyncio.Condition()

    async def reached(self, count: int) -> None:
        """Wait until ``count`` publishes were acknowledged."""
        async with self._progress:
            await self._progress.wait_for(lambda: self.acknowledged >= count)

    async def run(self, count: int, *, workers: int = 8) -> None:
        """Publish until ``count`` publishes were acknowledged."""
        headers = {"Authorization": f"Bearer {self.sender.tokens['publisher']}"}
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as http:
            await asyncio.gather(*(self._worker(http, count) for _ in range(workers)))

    async def _worker(self, http: aiohttp.ClientSession, count: int) -> None:
        while self.acknowledged < count:
            await self.up.wait()
            chosen = self.rng.sample(self.recipients, self.rng.randint(1, len(self.recipients)))
            op = self.history.invoke(self.sender.agency, tuple(chosen), self.base_tag)
            await self._publish(http, op)
            if op.result is Result.OK:
                self.acknowledged += 1
                async with self._progress:
                    self._progress.notify_all()

    async def _publish(self, http: aiohttp.ClientSession, op: Publish) -> None:
        body = {
            "notice": seizure(op.sender, op.tag),
            "recipients": list(op.recipients),
            "handling": {"tlp": "amber"},
        }
        try:
            async with http.post(self.sender.api_url + "/api/v1/notices", json=body) as resp:
                text = await resp.text()
                if resp.status == 201:
                    op.result, op.id = Result.OK, (await resp.json())["id"]
                elif resp.status >= 500:  # it may have been stored before it failed
                    op.result, op.error = Result.UNKNOWN, f"{resp.status} {text[:200]}"
                else:
                    op.result, op.error = Result.FAIL, f"{resp.status} {text[:200]}"
        except aiohttp.ClientConnectorError as exc:  # never connected: nothing was sent
            op.result, op.error = Result.FAIL, str(exc)
            await asyncio.sleep(0.05)
        except (aiohttp.ClientError, TimeoutError) as exc:  # the answer was lost
            op.result, op.error = Result.UNKNOWN, f"{type(exc).__name__} {exc}"
            await asyncio.sleep(0.05)


async def wait_for_calm(nodes: Iterable[ProcessNode], history: History) -> None:
    """Wait until no node has anything pending for any peer; fail with the backlog if never."""
    nodes = list(nodes)
    deadline = time.monotonic() + CALM_LIMIT_S
    backlog: dict[str, Any] = {}
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            backlog = {}
            for node in nodes:
                headers = {"Authorization": f"Bearer {node.tokens['analyst']}"}
                async with http.get(node.api_url + "/api/v1/status", headers=headers) as resp:
                    status = await resp.json()
                for peer in status["peers"]:
                    if peer["pending"]:
                        backlog[f"{node.agency}->{peer['agency']}"] = (
                            peer["pending"],
                            peer["state"],
                        )
            if not backlog:
                history.event("calm: nothing pending anywhere")
                return
            await asyncio.sleep(0.1)
    raise AssertionError(f"still pending after {CALM_LIMIT_S} s: {backlog}\n{history.summary()}")


async def take_stock(nodes: dict[str, ProcessNode]) -> dict[str, Holdings]:
    """Read every feed through the API, stop every node, then read every database."""
    feeds = {a: await read_feed(n.api_url, n.tokens["analyst"]) for a, n in nodes.items()}
    for node in nodes.values():
        await node.stop()
    return {a: Holdings(a, feeds[a], read_database(n.database)) for a, n in nodes.items()}


async def open_notice(node: ProcessNode, envelope_id: str) -> None:
    """An analyst at ``node`` opens a notice and marks it read (which sends the sender a receipt).

    Reading is a GET that writes nothing; marking read is its own POST.
    """
    headers = {"Authorization": f"Bearer {node.tokens['analyst']}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(f"{node.api_url}/api/v1/notices/{envelope_id}") as resp:
            assert resp.status == 200, f"{node.agency} {envelope_id}: {await resp.text()}"
        async with http.post(f"{node.api_url}/api/v1/notices/{envelope_id}/read") as resp:
            assert resp.status == 200, f"{node.agency} {envelope_id}: {await resp.text()}"


class Follower:
    """An analyst following a node's live stream, reconnecting with ``Last-Event-ID``.

    What it saw goes into the history, which demands every notice of the
    node's feed exactly once, across the node's restarts.
    """

    def __init__(self, node: ProcessNode, history: History) -> None:
        self.node = node
        self.history = history
        self.seen = history.followed.setdefault(node.agency, [])
        self.last_event = "0"
        self.connections = 0
        self._arrived = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._follow(), name=f"follow {self.node.agency}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def caught_up(self, limit_s: float = 15.0) -> None:
        """Wait (bounded) until it has seen everything the node lists; the checker judges."""
        feed = await read_feed(self.node.api_url, self.node.tokens["analyst"])
        want = {item.id for item in feed}
        deadline = time.monotonic() + limit_s
        while not want <= set(self.seen):
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), deadline - time.monotonic())
            except TimeoutError:
                missing = sorted(want - set(self.seen))
                self.history.event(
                    f"follower of {self.node.agency} lags: {len(self.seen)} seen over"
                    f" {self.connections} connections, last event {self.last_event},"
                    f" {len(missing)} missing from {missing[0]}"
                )
                return

    async def _follow(self) -> None:
        headers = {"Authorization": f"Bearer {self.node.tokens['analyst']}"}
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as http:
            while True:
                try:
                    await self._read(http)
                except (aiohttp.ClientError, ConnectionError):
                    pass  # the node is down or restarting
                except Exception as exc:  # a follower that died would miss everything after
                    self.history.event(f"follower of {self.node.agency}: {exc!r}")
                await asyncio.sleep(0.1)

    async def _read(self, http: aiohttp.ClientSession) -> None:
        url = self.node.api_url + "/api/v1/stream"
        async with http.get(url, headers={"Last-Event-ID": self.last_event}) as resp:
            if resp.status != 200:
                return
            self.connections += 1
            event_id = ""
            event = "notice"
            async for line in resp.content:
                if not line.endswith(b"\n"):
                    return  # cut off mid-line by a kill: the event comes again after reconnecting
                if line.startswith(b"id: "):
                    event_id = line[4:].strip().decode()
                elif line.startswith(b"event: "):
                    event = line[7:].strip().decode()
                elif line == b"\n":
                    event, event_id = "notice", ""  # the end of one event
                elif line.startswith(b"data: ") and event == "notice":
                    self.seen.append(json.loads(line[6:])["id"])
                    self._arrived.set()
                    self.last_event = event_id or self.last_event
