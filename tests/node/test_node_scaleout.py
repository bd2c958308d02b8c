"""Several worker processes of one agency on one PostgreSQL database, one killed.

Three processes run the node application of agency ``ec.senae`` on one
PostgreSQL database, each on its own port, behind one address (a round-robin
TCP proxy in this test, as a load balancer would be). A peer on SQLite pushes
notices to that address while the agency publishes to the peer through all
three workers; half way, one worker is killed with SIGKILL. Nothing may be
lost, nothing may reach a feed twice, and every live follower, whichever
worker it is connected to, must see every notice of its agency. A directory
version applied through one worker must be in force in the others at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import multiprocessing
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from conftest import FreshDatabases, postgres_server_url
from node_harness import TestNode, free_port, introduce, make_node
from notice_json import container_for, publish_body
from sqlalchemy import text

from baliza.crypto.directory import propose
from baliza.node.core.clock import now_ms
from baliza.node.services.directory_build import Changes, next_version
from baliza.node.services.directory_sync import apply_directory
from baliza.node.services.trust_admin import BlockKind, block_agency, is_blocked, lift_block
from baliza.node.storage import Database
from baliza.protocol.directory import SignedDirectory

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

WORKERS = 3
NOTICES = 24  # in each direction
DEADLINE_S = 45.0


def _serve_forever(node: TestNode) -> None:
    """A worker process: the node application until it is killed."""

    async def run() -> None:
        await node.start()
        await asyncio.Event().wait()

    asyncio.run(run())


def _wait_listening(port: int, deadline_s: float = 30.0) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


@contextlib.contextmanager
def processes(nodes: list[TestNode]) -> Iterator[Sequence[multiprocessing.process.BaseProcess]]:
    """Each node in a forked process of its own, stopped at the end."""
    fork = multiprocessing.get_context("fork")
    started = [fork.Process(target=_serve_forever, args=(n,), daemon=True) for n in nodes]
    try:
        for process in started:
            process.start()
        for node in nodes:
            _wait_listening(node.config.port)
        yield started
    finally:
        for process in started:
            if process.is_alive():
                process.kill()
            process.join(10)


@contextlib.asynccontextmanager
async def round_robin(port: int, backends: list[int]) -> AsyncIterator[None]:
    """One address in front of ``backends``: each connection goes to the next that answers."""
    turn = itertools.count()
    open_writers: set[asyncio.StreamWriter] = set()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        open_writers.add(writer)
        for _ in range(len(backends)):
            backend = backends[next(turn) % len(backends)]
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", backend)
            except OSError:
                continue
            open_writers.add(up_writer)
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
            break
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()
        for writer in open_writers:
            writer.close()
        for writer in open_writers:
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        await server.wait_closed()


async def follow(url: str, token: str, seen: list[str]) -> None:
    """Append the id of every notice on ``url``'s live stream to ``seen``."""
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession(timeout=timeout, headers=headers) as session,
        session.get(url + "/api/v1/stream") as response,
    ):
        event = "notice"
        async for line in response.content:
            if line.startswith(b"event: "):
                event = line[7:].decode().strip()
            elif line.startswith(b"data: ") and event == "notice":
                seen.append(json.loads(line[6:])["id"])


async def publish(
    session: aiohttp.ClientSession, url: str, token: str, sender: str, to: str
) -> str | None:
    """Publish one notice from ``sender`` to ``to``; its id, or None when the worker is gone."""
    body = publish_body(sender, [to], container=container_for(sender))
    try:
        async with session.post(
            url + "/api/v1/notices", json=body, headers={"Authorization": f"Bearer {token}"}
        ) as response:
            assert response.status == 201, await response.text()
            return str((await response.json())["id"])
    except aiohttp.ClientError:
        return None


async def prepare(nodes: list[TestNode]) -> None:
    """Apply the founding directory and create tokens, once per database."""
    for node in nodes:
        await node.start()
        await node.stop()


def test_workers_share_one_database_and_survive_a_kill(tmp_path: Path) -> None:
    server = postgres_server_url()  # skips (or fails in CI) without PostgreSQL
    assert server
    databases = FreshDatabases(tmp_path)
    try:
        shared = asyncio.run(databases.url("postgresql"))
        peer_db = asyncio.run(databases.url("sqlite"))
        _run(tmp_path, shared, peer_db)
    finally:
        asyncio.run(databases.drop_all())


def _run(tmp_path: Path, shared: str, peer_db: str) -> None:
    address = free_port()
    agency = make_node(
        tmp_path,
        "ec.senae",
        shared,
        public_url=f"http://127.0.0.1:{address}",
        delivery_lease_ms=1500,
    )
    peer = make_node(tmp_path, "co.polfa", peer_db)
    introduce(agency, peer)
    asyncio.run(prepare([agency, peer]))
    workers = [
        replace(agency, config=replace(agency.config, port=free_port()), runner=None)
        for _ in range(WORKERS)
    ]
    with processes([*workers, peer]) as procs:
        pids = [p.pid for p in procs]
        asyncio.run(_traffic(shared, agency, workers, peer, pids))
        # While the survivors run: the killed worker's lease must run out and
        # its rows be delivered by another worker.
        asyncio.run(_check_outbox(shared))


async def _traffic(
    shared: str, agency: TestNode, workers: list[TestNode], peer: TestNode, pids: list[int | None]
) -> None:
    ports = [w.config.port for w in workers]
    backends = list(ports)
    token = agency.tokens["publisher"]
    async with round_robin(int(agency.url.rsplit(":", 1)[1]), backends):
        feeds: dict[str, list[str]] = {w.url: [] for w in workers[1:]}
        feeds[peer.url] = []
        followers = [
            asyncio.create_task(
                follow(url, token if url != peer.url else peer.tokens["publisher"], seen)
            )
            for url, seen in feeds.items()
        ]
        agency_ids: set[str] = set()
        peer_ids: set[str] = set()
        async with aiohttp.ClientSession() as session:
            # One each way first: every follower connected and both routes work.
            first_out = await publish(session, workers[1].url, token, agency.agency, peer.agency)
            first_in = await publish(
                session, peer.url, peer.tokens["publisher"], peer.agency, agency.agency
            )
            assert first_out and first_in
            agency_ids |= {first_out}
            peer_ids |= {first_in}
            await _until_seen(feeds, workers, peer, agency_ids, peer_ids)
            live = list(workers)
            for i in range(NOTICES):
                if i == NOTICES // 2:
                    agency_ids |= await _kill_holding_a_lease(
                        session, shared, workers[0], pids, peer
                    )
                    backends.remove(workers[0].config.port)
                    live = workers[1:]
                sent = await asyncio.gather(
                    publish(session, live[i % len(live)].url, token, agency.agency, peer.agency),
                    publish(
                        session, peer.url, peer.tokens["publisher"], peer.agency, agency.agency
                    ),
                )
                if sent[0] is not None:
                    agency_ids.add(sent[0])
                assert sent[1] is not None
                peer_ids.add(sent[1])
                await asyncio.sleep(0.05)
            await _until_seen(feeds, workers, peer, agency_ids, peer_ids)
        for task in followers:
            task.cancel()
        await asyncio.gather(*followers, return_exceptions=True)
    assert len(agency_ids) >= NOTICES // 2
    for url, seen in feeds.items():
        assert len(seen) == len(set(seen)), f"a notice reached {url}'s feed twice"


async def _kill_holding_a_lease(
    session: aiohttp.ClientSession,
    shared: str,
    victim: TestNode,
    pids: list[int | None],
    peer: TestNode,
) -> set[str]:
    """Kill the first worker while it holds a lease on a row it is pushing.

    The peer is frozen (SIGSTOP) so that pushes hang; notices are published
    through the victim until one of its couriers holds a lease, then it is
    killed and the peer thawed: the row must be taken over when the lease ends.
    """
    victim_pid, peer_pid = pids[0], pids[-1]
    assert victim_pid is not None and peer_pid is not None
    token = victim.tokens["publisher"]
    published: set[str] = set()
    os.kill(peer_pid, signal.SIGSTOP)
    try:
        for _ in range(10):
            eid = await publish(session, victim.url, token, victim.agency, peer.agency)
            assert eid is not None
            published.add(eid)
            if await _leased_by(shared, victim_pid):
                break
        else:
            raise AssertionError("the victim never held a lease")
        os.kill(victim_pid, signal.SIGKILL)
    finally:
        os.kill(peer_pid, signal.SIGCONT)
    return published


async def _leased_by(shared: str, pid: int) -> bool:
    """Whether worker ``pid`` holds a live lease on a pending row (waits up to 1 s)."""
    db = await Database.open(shared)
    try:
        for _ in range(10):
            async with db.engine.connect() as connection:
                held = await connection.scalar(
                    text(
                        "SELECT count(*) FROM outbox WHERE state = 'pending'"
                        " AND lease_owner LIKE :pattern"
                    ),
                    {"pattern": f"%/{pid}/%"},
                )
            if held:
                return True
            await asyncio.sleep(0.1)
    finally:
        await db.close()
    return False


async def _until_seen(
    feeds: dict[str, list[str]],
    workers: list[TestNode],
    peer: TestNode,
    agency_ids: set[str],
    peer_ids: set[str],
) -> None:
    """Wait until every follower saw every notice of its agency (bounded)."""
    everything = agency_ids | peer_ids
    end = time.monotonic() + DEADLINE_S
    while time.monotonic() < end:
        if all(everything <= set(seen) for seen in feeds.values()):
            return
        await asyncio.sleep(0.1)
    missing = {url: len(everything - set(seen)) for url, seen in feeds.items()}
    raise AssertionError(f"notices missing from live feeds after {DEADLINE_S}s: {missing}")


async def _check_outbox(shared: str) -> None:
    """Every row the agency queued ends delivered (a dead worker's lease runs out first)."""
    deadline = asyncio.get_running_loop().time() + DEADLINE_S
    db = await Database.open(shared)
    try:
        while True:
            async with db.engine.connect() as connection:
                states: dict[str, int] = dict(
                    (
                        await connection.execute(
                            text("SELECT state, count(*) FROM outbox GROUP BY state")
                        )
                    ).all()
                )
            if set(states) == {"delivered"} or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.5)
    finally:
        await db.close()
    assert set(states) == {"delivered"}, states


async def test_a_directory_applied_through_one_worker_is_in_force_in_all(
    tmp_path: Path, fresh_databases: FreshDatabases
) -> None:
    shared = await fresh_databases.url("postgresql")
    first = make_node(tmp_path, "ec.senae", shared)
    peer = make_node(tmp_path, "co.polfa", await fresh_databases.url("sqlite"))
    federation = introduce(first, peer)
    await first.start()
    second = replace(first, config=replace(first.config, port=free_port()), runner=None)
    await second.start()
    try:
        assert second.ctx.trust.version == 1
        current = SignedDirectory.from_bytes(federation.signed).directory
        signed = federation.sign(propose(next_version(current, Changes(), now_ms=now_ms())))
        assert await apply_directory(first.ctx, signed, actor="test")
        deadline = time.monotonic() + 10
        while second.ctx.trust.version != 2:
            assert time.monotonic() < deadline, "the other worker kept version 1"
            await asyncio.sleep(0.05)
    finally:
        await second.stop()
        await first.stop()


async def test_a_block_made_through_one_worker_holds_in_all(
    tmp_path: Path, fresh_databases: FreshDatabases
) -> None:
    shared = await fresh_databases.url("postgresql")
    first = make_node(tmp_path, "ec.senae", shared)
    peer = make_node(tmp_path, "co.polfa", await fresh_databases.url("sqlite"))
    introduce(first, peer)
    await first.start()
    second = replace(first, config=replace(first.config, port=free_port()), runner=None)
    await second.start()

    async def second_sees(blocked: bool) -> None:
        deadline = time.monotonic() + 10
        while await is_blocked(second.ctx, peer.agency) != blocked:
            assert time.monotonic() < deadline, "the other worker kept its old blocks"
            await asyncio.sleep(0.05)

    try:
        assert not await is_blocked(second.ctx, peer.agency)  # read, and held
        await block_agency(first.ctx, peer.agency, BlockKind.BLOCK, "leak", at_ms=1, actor="t")
        await second_sees(True)
        await lift_block(first.ctx, peer.agency, at_ms=2, actor="t")
        await second_sees(False)
    finally:
        await second.stop()
        await first.stop()
