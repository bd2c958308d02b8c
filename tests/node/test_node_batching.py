"""Adaptive batching: a lone notice leaves at once; what queues meanwhile goes in one request.

The receiver sits behind the fault tests' proxy (tests/fault/proxy.py), which
holds the first inbox push for a while, as a slow peer would, and counts
every push and the envelopes in it.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import FreshDatabases
from node_harness import TestNode, free_port, introduce, make_node
from notice_json import publish_body

from baliza.node.services import delivery
from baliza.node.storage.delivery import PendingDelivery
from baliza.protocol.envelope import MAX_ENVELOPE
from baliza.protocol.federation import MAX_BATCH, MAX_BATCH_BYTES, decode_batch, encode_batch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fault"))

from proxy import FORWARD, Action, Fault, FaultProxy, Message

SLOW_S = 4.0  # how long the proxy holds the first push


@dataclass
class SlowPeer:
    """A sender, and a receiver whose first inbox push is held ``SLOW_S``."""

    gye: TestNode
    alg: TestNode
    proxy: FaultProxy
    pushes: list[tuple[float, int]] = field(default_factory=list)  # (seen at, envelopes)

    def choose(self, request: Message) -> Action:
        if request.path != "/fed/v1/inbox":
            return FORWARD
        self.pushes.append((asyncio.get_running_loop().time(), len(decode_batch(request.body))))
        return Action(Fault.DELAY, delay_s=SLOW_S) if len(self.pushes) == 1 else FORWARD

    async def publish(self, n: int) -> None:
        for _ in range(n):
            await self.gye.api().post(
                "/api/v1/notices", publish_body(self.gye.agency, [self.alg.agency])
            )

    async def received(self) -> int:
        page = await self.alg.api("analyst").get(
            "/api/v1/notices", {"direction": "in", "limit": "200"}
        )
        return len(page["items"])

    async def wait(self, predicate_s: float, check: object) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + predicate_s
        assert callable(check)
        while not await check():
            if loop.time() > deadline:
                pytest.fail(f"not reached in {predicate_s} s; pushes so far {self.pushes}")
            await asyncio.sleep(0.02)


@pytest.fixture
async def slow_peer(
    tmp_path: Path, database_engine: str, fresh_databases: FreshDatabases
) -> AsyncIterator[SlowPeer]:
    """On each engine: PostgreSQL couriers lease their rows, SQLite ones do not."""
    # The databases first: without PostgreSQL its half skips here, before
    # the proxy listens (a skip after it would leave its socket open).
    urls = [await fresh_databases.url(database_engine) for _ in range(2)]
    port = free_port()
    proxy = FaultProxy(port, name="alg")
    await proxy.start()
    gye = make_node(tmp_path, "ec.polnac.gye", urls[0])
    alg = make_node(tmp_path, "es.aduanas.alg", urls[1], port=port, public_url=proxy.url)
    introduce(gye, alg)
    peer = SlowPeer(gye=gye, alg=alg, proxy=proxy)
    proxy.choose = peer.choose
    await alg.start()
    await gye.start()
    yield peer
    await gye.stop()
    await alg.stop()
    await proxy.stop()


async def first_push_held_then_queue(peer: SlowPeer, n: int) -> None:
    """One notice, which must leave at once; then ``n`` more while its push is held."""
    loop = asyncio.get_running_loop()
    published = loop.time()
    await peer.publish(1)

    async def first_push_seen() -> bool:
        return len(peer.pushes) == 1

    await peer.wait(SLOW_S, first_push_seen)
    # At once: no batching timer holds a lone notice back (the idle wait is 60 s).
    assert peer.pushes[0][0] - published < 2.0
    assert peer.pushes[0][1] == 1
    await peer.publish(n)
    assert loop.time() - peer.pushes[0][0] < SLOW_S, "queued too slowly to test batching"


async def test_what_queues_while_a_push_is_in_flight_goes_in_the_next_one(
    slow_peer: SlowPeer,
) -> None:
    await first_push_held_then_queue(slow_peer, 20)

    async def all_received() -> bool:
        return await slow_peer.received() == 21

    await slow_peer.wait(20.0, all_received)
    # 21 notices, two requests: the lone one, then the 20 that queued behind it.
    assert [n for _, n in slow_peer.pushes] == [1, 20]


async def test_rows_left_by_the_byte_limit_go_at_once(
    slow_peer: SlowPeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A byte budget of one envelope: every batch is cut after its first row,
    # and the rows behind it must not wait for the 60 s idle wake-up.
    monkeypatch.setattr(delivery, "BATCH_BYTES", 1)
    await first_push_held_then_queue(slow_peer, 5)

    async def all_received() -> bool:
        return await slow_peer.received() == 6

    await slow_peer.wait(15.0, all_received)
    assert [n for _, n in slow_peer.pushes] == [1] * 6


def _rows(*sizes: int) -> list[PendingDelivery]:
    return [
        PendingDelivery(seq=i, envelope_id=f"e{i}", created_ms=0, raw=b"\x00" * size)
        for i, size in enumerate(sizes)
    ]


@pytest.mark.parametrize(
    ("sizes", "taken"),
    [
        ((1000,) * 100, 100),  # the count limit is batch_size's (config: at most MAX_BATCH)
        ((6 << 20,) * 4, 2),  # 12 MiB fit, 18 would not
        ((MAX_ENVELOPE,) * 2, 1),  # one envelope over the byte budget still goes, alone
        ((1 << 20, 16 << 20), 1),
    ],
)
def test_a_batch_stays_within_what_every_receiver_accepts(
    sizes: tuple[int, ...], taken: int
) -> None:
    batch = delivery.fit(_rows(*sizes))
    assert len(batch) == taken
    assert len(batch) <= MAX_BATCH
    assert sum(len(r.raw) for r in batch) <= max(delivery.BATCH_BYTES, MAX_ENVELOPE)
    # The encoded request body, framing included, is under the receiver's body limit.
    assert len(encode_batch([r.raw for r in batch])) <= MAX_BATCH_BYTES
