"""Node benchmark: ingest, publish, delivery latency and catch-up of real nodes on loopback.

Run ``.venv/bin/python bench/bench_node.py`` (a few minutes; ``--quick`` for
a smoke run, ``--no-profile`` to skip the profile, ``--postgres URL`` for the
PostgreSQL rows, default ``$BALIZA_TEST_POSTGRES_URL``). Prints markdown tables:

1. the floors, measured in this run on the node's core in tight loops:
   1 / ``open_envelope`` of a pre-sealed ~2 KB seizure notice (ingest's
   floor) and 1 / seal to 5 recipients (publish's floor); and the older
   floor, open plus one SQLite transaction per notice;
2. ingest through ``POST /fed/v1/inbox`` (``fedclient.push_batch``), batches
   of 1 (16 requests in flight, with and without group commit) and of 100
   (4 in flight), on SQLite and on PostgreSQL with 1 and 2 worker processes,
   each as a ratio to its floor;
3. publish through ``POST /api/v1/notices`` to 5 recipient peers that are in
   the directory but not running (delivery fails and backs off), both suites,
   and on PostgreSQL with 1 and 2 workers;
4. end-to-end latency from the publish call returning to the notice on the
   recipients' Server-Sent Event streams: two nodes, then four nodes each
   publishing to the three others (with the nodes' memory before and after);
   and catch-up of a backlog queued while the receiver was down, with the
   peak RSS of both nodes.

Every node is the application ``baliza serve`` runs, on 127.0.0.1, in a
forked process of its own; for (2) and (3) with one node process, that
process is pinned to one core and the load generator (this process) to the
other, so a figure is "what one core of node does". Absolute numbers vary
between machines and with load from other processes: compare ratios within
one run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import logging
import multiprocessing
import os
import platform
import pstats
import shutil
import socket
import statistics
import sys
import tempfile
import time
import uuid
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import cryptography
import statement_count
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.engine import Connection as DbConnection
from sqlalchemy.engine import make_url
from stdnum import iso6346 as stdnum_iso6346

from baliza.crypto import AgencyKeys, Suite, open_envelope, seal
from baliza.crypto.directory import directory_fingerprint, propose, sign_proposal
from baliza.node.cli.client import ApiClient
from baliza.node.core.clock import new_envelope_id, now_ms
from baliza.node.core.config import NodeConfig
from baliza.node.core.trust import Keyring, Peer
from baliza.node.http import app as app_module
from baliza.node.http.app import build_app
from baliza.node.http.appkeys import NODE
from baliza.node.services.delivery import DeliveryService
from baliza.node.services.directory_build import found
from baliza.node.services.directory_sync import apply_directory
from baliza.node.services.fedclient import new_session, push_batch
from baliza.node.services.group_commit import GroupCommit
from baliza.node.services.index import index_notice
from baliza.node.services.ingest_commit import StoreResult, StoreWrite, store_inbound
from baliza.node.services.member_card import MemberCard
from baliza.node.services.publications import Publication, store_publications
from baliza.node.services.tokens import issue_token
from baliza.node.storage import (
    Database,
    Direction,
    ReceivedEnvelope,
    Via,
    sqlite_url_for,
)
from baliza.node.storage.envelopes import SentEnvelope
from baliza.node.storage.notices import NoticeRecord
from baliza.node.storage.recipients import Addressee
from baliza.node.storage.sql import envelopes as envelope_rows
from baliza.node.storage.sql import notices as notice_rows
from baliza.protocol.envelope import Envelope, parse_envelope
from baliza.protocol.federation import Outcome
from baliza.protocol.handling import Handling, Tlp
from baliza.protocol.ids import AgencyId
from baliza.protocol.notices import encode_notice, notice_from_json

YEAR_MS = 365 * 24 * 3600 * 1000
HOST = "127.0.0.1"
CONCURRENCY = 4  # requests in flight from the load generator
# A live push carries one envelope per request; many peers push at once.
SINGLE_CONCURRENCY = 16
START_TIMEOUT_S = 60


@dataclass(frozen=True)
class Sizes:
    """How much work each measurement does (bounded: every loop is a count)."""

    reps: int
    floor: int
    ingest_1: int
    ingest_100: int
    publish: int
    rate: int
    seconds: int
    backlog: int


# Sized for a shared 2-core machine: a few minutes in all (see docs/benchmarks.md).
FULL = Sizes(
    reps=3, floor=150, ingest_1=200, ingest_100=500, publish=100, rate=20, seconds=10, backlog=3000
)
QUICK = Sizes(
    reps=1, floor=50, ingest_1=50, ingest_100=200, publish=40, rate=20, seconds=2, backlog=200
)


def container_of(agency: str) -> str:
    """A valid ISO 6346 container number of ``agency``'s own."""
    code = f"CSQU{zlib.crc32(agency.encode()) % 1_000_000:06d}"
    return code + stdnum_iso6346.calc_check_digit(code)


def seizure_json(agency: str) -> dict[str, Any]:
    """A ~2 KB (canonical encoding) seizure notice in its API JSON form."""
    text = (
        "Contenedor refrigerado de banano con destino Rotterdam vía Algeciras. "
        "Dos bolsos deportivos tras la puerta, precinto de alta seguridad "
        "duplicado; el perfil de riesgo señaló el cambio de consignatario "
        "cuarenta y ocho horas antes de la carga. "
    ) * 4
    return {
        "v": 1,
        "kind": "notice.seizure",
        "programme": "ccp",
        "unit": {"agency": agency, "name": "UVC Guayaquil"},
        "seized_ms": now_ms() - 3_600_000,
        "location": {"locode": "ECGYE"},
        "transport": "sea",
        "commodities": [
            {
                "category": "cocaine",
                "quantity": {"amount": 1_250_000, "unit": "g"},
                "description": "Bricks marked with a scorpion logo",
                "packaging": "50 bricks in 2 sports bags",
            },
            {
                "category": "currency",
                "quantity": {"amount": 4_500_000, "unit": "minor", "currency": "USD"},
            },
        ],
        "concealment": "rip_on_rip_off",
        "detection": "risk_profile",
        "conveyance": {
            # One container per sender: the same container, port and day from
            # two senders would be the same seizure, refused as a re-publication.
            "container": container_of(agency),
            "seals": ["EC123456"],
            "vessel": {"imo": "9074729", "name": "MSC Example", "flag": "PA"},
        },
        "route": {
            "loading": {"locode": "ECGYE"},
            "transit": [{"locode": "COCTG"}],
            "discharge": {"locode": "ESALG"},
            "destination": {"locode": "NLRTM"},
        },
        "nominal": {
            "companies": [
                {"role": "shipper", "name": "Frutas del Pacífico S.A.", "country": "EC"},
                {"role": "consignee", "name": "Fruit Import B.V.", "country": "NL"},
            ],
            "documents": [{"type": "bill_of_lading", "number": "MEDUEC123456"}],
        },
        "case_ref": "EC-2026/0042",
        "text": {"lang": "es", "text": text},
        "evaluation": {"scheme": "4x4", "source": "A", "information": 1},
        "requests": [{"action": "share_outcome"}],
    }


# --- nodes (the few lines of tests/node/node_harness.py this needs) ----------


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Node:
    """One agency node: its configuration, its keys and the directory it pins."""

    config: NodeConfig
    keys: AgencyKeys
    directory: tuple[bytes, str] | None = None

    @property
    def agency(self) -> AgencyId:
        return self.config.agency

    @property
    def url(self) -> str:
        return self.config.url

    @property
    def peer(self) -> Peer:
        return Peer(agency=self.agency, name=self.agency, url=self.url, keys=self.keys.public())

    @property
    def card(self) -> MemberCard:
        return MemberCard(
            agency=self.agency, name=self.agency, url=self.url, keys=self.keys.public()
        )

    def fresh(self, data_dir: Path) -> Node:
        """The same node (keys, port, directory) with an empty database in ``data_dir``."""
        data_dir.mkdir(parents=True)
        config = replace(self.config, data_dir=data_dir, database_url=sqlite_url_for(data_dir))
        return replace(self, config=config)


def make_node(base: Path, agency: str, suite: Suite) -> Node:
    now = now_ms()
    keys = AgencyKeys.generate(
        AgencyId(agency), suite, valid_from_ms=now - YEAR_MS // 4, valid_until_ms=now + YEAR_MS
    )
    config = NodeConfig(
        agency=AgencyId(agency),
        name=agency,
        data_dir=base / agency,
        host=HOST,
        port=free_port(),
        backoff_base_ms=50,
        backoff_cap_ms=400,
        pull_interval_ms=3_600_000,
        # Throughput is measured here, not admission (bench_flood.py measures that).
        peer_requests_per_s=1_000_000,
        peer_concurrent_bodies=64,
    )
    return Node(config=config, keys=keys).fresh(base / agency / "0")


def introduce(nodes: Sequence[Node]) -> None:
    """Found a federation of ``nodes`` (2 of 3 administrators sign); each pins it."""
    now = now_ms()
    admins = [
        AgencyKeys.generate(
            AgencyId(a), Suite.CLASSIC, valid_from_ms=now - 1000, valid_until_ms=now + YEAR_MS
        )
        for a in ("ec.admin", "co.admin", "es.admin")
    ]
    directory = found(
        federation="bench-federation",
        cards=[n.card for n in nodes],
        administrators=[a.public() for a in admins],
        threshold=2,
        now_ms=now,
        valid_days=30,
    )
    signed = propose(directory)
    for admin in admins[:2]:
        signed = sign_proposal(signed, admin)
    for node in nodes:
        node.directory = (signed, directory_fingerprint(signed))


# --- serving nodes in a child process -----------------------------------------


STAGE_TIMERS = [
    ("baliza.node.http.federation", "verify_request", "request signature check"),
    ("baliza.node.http.federation", "decode_batch", "batch decode"),
    ("baliza.node.services.ingest", "parse_envelope", "envelope parse"),
    ("baliza.node.services.ingest", "open_notice", "open_envelope (verify + decrypt)"),
    ("baliza.node.services.ingest", "index_notice", "index_notice (row + notice JSON)"),
    ("baliza.node.http.federation", "encode_results", "results encode"),
]
STORE = ("baliza.node.services.ingest_commit", "store_inbound", "store_inbound (write unit)")


def _install_stage_timers() -> dict[str, list[float]]:
    """Wrap the ingest pipeline's steps (in this process only) to time them."""
    spent: dict[str, list[float]] = {}
    for module_name, name, label in STAGE_TIMERS:
        module = sys.modules[module_name]
        original = getattr(module, name)
        cell = spent.setdefault(label, [0, 0.0])

        def timed_call(*a: Any, _f: Any = original, _c: list[float] = cell, **k: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return _f(*a, **k)
            finally:
                _c[0] += 1
                _c[1] += time.perf_counter() - t0

        setattr(module, name, timed_call)
    # The write unit runs on the database's writer thread; it is timed there.
    module_name, name, label = STORE
    module = sys.modules[module_name]
    original_store = getattr(module, name)
    store_cell = spent.setdefault(label, [0, 0.0])

    def timed_store(*a: Any, **k: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return original_store(*a, **k)
        finally:
            store_cell[0] += 1
            store_cell[1] += time.perf_counter() - t0

    setattr(module, name, timed_store)
    return spent


class _DropClosedStream(logging.Filter):
    """Hide the traceback of an SSE follower that left (a known node log line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionResetError)


async def _no_couriers(self: DeliveryService) -> None:
    """Stand-in for ``DeliveryService.start``: no courier or puller runs (a diagnostic)."""


def _one_commit_per_request(db: Database) -> GroupCommit[StoreWrite, StoreResult]:
    """Stand-in for ``ingest_commit``: every request commits alone (what group commit saves)."""
    return GroupCommit(db, store_inbound, max_batch=1)


async def _serve_async(
    nodes: list[Node],
    conn: Connection,
    profile_path: str | None,
    couriers: bool,
    group_commit: bool = True,
) -> None:
    logging.getLogger("baliza.node.http.errors").addFilter(_DropClosedStream())
    spent = _install_stage_timers()
    if not couriers:
        DeliveryService.start = _no_couriers  # type: ignore[method-assign]
    if not group_commit:
        setattr(app_module, "ingest_commit", _one_commit_per_request)  # noqa: B010
    runners: list[web.AppRunner] = []
    tokens: dict[str, str] = {}
    for node in nodes:
        runner = web.AppRunner(build_app(node.config, Keyring([node.keys])), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, node.config.host, node.config.port).start()
        runners.append(runner)
        ctx = runner.app[NODE]
        if node.directory is not None and ctx.trust.directory is None:
            signed, fingerprint = node.directory
            await apply_directory(ctx, signed, actor="bench", fingerprint=fingerprint)
        tokens[node.agency] = await issue_token(ctx.db, "bench", "publisher", now_ms())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_reader(conn.fileno(), stop.set)
    profiler = cProfile.Profile() if profile_path else None
    conn.send(tokens)
    if profiler is not None:
        profiler.enable()
    await stop.wait()
    if profiler is not None and profile_path is not None:
        profiler.disable()
        profiler.dump_stats(profile_path)
    loop.remove_reader(conn.fileno())
    conn.recv()
    for runner in reversed(runners):
        await runner.cleanup()
    conn.send(spent)


def _serve(
    nodes: list[Node],
    conn: Connection,
    cpus: set[int] | None,
    profile_path: str | None,
    couriers: bool,
    group_commit: bool,
) -> None:
    if cpus is not None:
        os.sched_setaffinity(0, cpus)
    asyncio.run(_serve_async(nodes, conn, profile_path, couriers, group_commit))


def _stat_cpu(path: Path) -> float:
    fields = path.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (Linux /proc)."""
    return _stat_cpu(Path(f"/proc/{pid}/stat"))


def main_thread_cpu_seconds(pid: int) -> float:
    """CPU seconds of the process's main thread (the event loop; the rest is SQLite's)."""
    return _stat_cpu(Path(f"/proc/{pid}/task/{pid}/stat"))


ALL_CPUS = set(range(os.cpu_count() or 1))
SERVER_CPUS = {max(ALL_CPUS)} if len(ALL_CPUS) > 1 else None
LOADER_CPUS = ALL_CPUS - SERVER_CPUS if SERVER_CPUS else None


@dataclass
class Served:
    """Nodes running in a child process: their tokens, its pid, and (after) stage times."""

    tokens: dict[str, str]
    pid: int
    stages: dict[str, list[float]]


@contextlib.contextmanager
def serving(
    nodes: list[Node],
    *,
    pinned: bool = True,
    profile_path: str | None = None,
    couriers: bool = True,
    group_commit: bool = True,
) -> Iterator[Served]:
    """Run ``nodes`` in a forked process; ``stages`` is filled in when it stops.

    Fork before any event loop runs in this process: the child starts its own.
    """
    fork = multiprocessing.get_context("fork")
    mine, theirs = fork.Pipe()
    cpus = SERVER_CPUS if pinned else ALL_CPUS
    process = fork.Process(
        target=_serve,
        args=(nodes, theirs, cpus, profile_path, couriers, group_commit),
        daemon=True,
    )
    process.start()
    try:
        if not mine.poll(START_TIMEOUT_S):
            raise RuntimeError("nodes did not start")
        assert process.pid is not None
        served = Served(tokens=mine.recv(), pid=process.pid, stages={})
        yield served
    finally:
        with contextlib.suppress(OSError, EOFError):
            mine.send("stop")
            if mine.poll(30):
                served.stages = mine.recv()
        process.join(30)
        if process.is_alive():
            process.terminate()
            process.join(5)


@contextlib.contextmanager
def loader_pinned(pinned: bool) -> Iterator[None]:
    """Keep this process (the load generator) off the node's core while measuring."""
    if not pinned or LOADER_CPUS is None:
        yield
        return
    os.sched_setaffinity(0, LOADER_CPUS)
    try:
        yield
    finally:
        os.sched_setaffinity(0, ALL_CPUS)


# --- measurements -------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One timed run: notices handled, wall seconds, CPU seconds of node and loader."""

    count: int
    wall_s: float
    node_cpu_s: float
    node_main_cpu_s: float
    loader_cpu_s: float
    stages: dict[str, list[float]] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.count / self.wall_s


def sealed(sender: AgencyKeys, recipients: Sequence[AgencyKeys], n: int) -> list[Envelope]:
    """``n`` envelopes from ``sender``, each a fresh seal of the same notice."""
    notice = notice_from_json(seizure_json(sender.agency))
    return [
        seal(
            notice,
            sender=sender,
            recipients=[k.public() for k in recipients],
            handling=Handling(tlp=Tlp.AMBER),
            envelope_id=new_envelope_id(),
            created_ms=now_ms(),
        )
        for _ in range(n)
    ]


def _store_one(connection: DbConnection, received: ReceivedEnvelope, record: NoticeRecord) -> None:
    envelope_rows.insert_received(connection, [received])
    notice_rows.insert_notices(connection, [record])


async def floor_once(
    receiver: Node, sender: AgencyKeys, envelopes: list[Envelope], data_dir: Path
) -> tuple[float, float, float]:
    """Open each envelope and store it in its own transaction; (notices/s, open µs, insert µs)."""
    db = await Database.open(sqlite_url_for(data_dir))  # the caller made data_dir
    await db.upgrade()
    sender_public = sender.public()
    opening = storing = 0.0
    try:
        for envelope in envelopes:
            t0 = time.perf_counter()
            notice = open_envelope(envelope, recipient=receiver.keys, sender=sender_public)
            t1 = time.perf_counter()
            now = now_ms()
            record = index_notice(envelope, notice, Direction.IN, now).row  # not timed
            header = envelope.header
            t2 = time.perf_counter()
            received = ReceivedEnvelope(
                id=envelope.id,
                sender=header.sender,
                sender_key=bytes(header.sender_key),
                kind=header.kind.value,
                created_ms=header.created_ms,
                received_ms=now,
                via=Via.PUSH,
                raw=envelope.raw,
            )
            await db.run(partial(_store_one, received=received, record=record), write=True)
            t3 = time.perf_counter()
            opening += t1 - t0
            storing += t3 - t2
    finally:
        await db.close()
    n = len(envelopes)
    return n / (opening + storing), opening / n * 1e6, storing / n * 1e6


async def push_all(
    sender: Node, receiver: Peer | Sequence[Peer], raws: list[bytes], batch: int
) -> int:
    """Push ``raws`` in batches; return how many were accepted.

    CONCURRENCY requests in flight, SINGLE_CONCURRENCY for batches of one;
    with several receivers (workers of one agency) the requests alternate.
    """
    batches = iter([raws[i : i + batch] for i in range(0, len(raws), batch)])
    receivers = [receiver] if isinstance(receiver, Peer) else list(receiver)
    in_flight = SINGLE_CONCURRENCY if batch == 1 else CONCURRENCY

    async with new_session() as session:

        async def worker(to: Peer) -> int:
            accepted = 0
            for chunk in batches:
                results = await push_batch(session, sender.keys, to, chunk)
                accepted += sum(r.outcome == Outcome.ACCEPTED for r in results)
            return accepted

        return sum(
            await asyncio.gather(*(worker(receivers[i % len(receivers)]) for i in range(in_flight)))
        )


def timed(pid: int | Sequence[int], load: Any) -> Run:
    """Run the coroutine ``load`` (returning a count) and time it, with both CPU times.

    With several node processes (workers), their CPU times are added up.
    """
    pids = [pid] if isinstance(pid, int) else list(pid)
    node0 = sum(cpu_seconds(p) for p in pids)
    main0 = sum(main_thread_cpu_seconds(p) for p in pids)
    loader0, t0 = time.process_time(), time.perf_counter()
    count = asyncio.run(load)
    wall = time.perf_counter() - t0
    return Run(
        count,
        wall,
        sum(cpu_seconds(p) for p in pids) - node0,
        sum(main_thread_cpu_seconds(p) for p in pids) - main0,
        time.process_time() - loader0,
    )


def ingest_run(
    sender: Node,
    receiver: Node,
    raws: list[bytes],
    batch: int,
    data_dir: Path,
    *,
    group_commit: bool = True,
) -> Run:
    """One receiver with an empty database takes ``raws`` through its inbox."""
    with (
        serving([receiver.fresh(data_dir)], group_commit=group_commit) as served,
        loader_pinned(True),
    ):
        run = timed(served.pid, push_all(sender, receiver.peer, raws, batch))
    if run.count != len(raws):
        raise RuntimeError(f"only {run.count} of {len(raws)} envelopes accepted")
    return replace(run, stages=served.stages)


async def post_notices(
    node: Node | Sequence[Node],
    token: str | Sequence[str],
    recipients: list[str],
    n: int,
    *,
    rate: float | None = None,
) -> list[tuple[str, float]]:
    """POST ``n`` notices to the node's API; return (envelope id, time the call returned).

    Without ``rate``, CONCURRENCY calls are in flight; with it, one call starts
    every 1/rate seconds whatever the others do.
    """
    nodes = [node] if isinstance(node, Node) else list(node)
    tokens = [token] if isinstance(token, str) else list(token)
    body = {
        "notice": seizure_json(nodes[0].agency),
        "recipients": recipients,
        "handling": {"tlp": "amber"},
    }
    done: list[tuple[str, float]] = []
    turn = iter(range(1 << 62))
    async with aiohttp.ClientSession() as session:

        async def one() -> None:
            # Alternate between the agency's workers (one address in front of them).
            i = next(turn) % len(nodes)
            headers = {"Authorization": f"Bearer {tokens[i]}"}
            async with session.post(
                nodes[i].url + "/api/v1/notices", json=body, headers=headers
            ) as resp:
                answer = await resp.json()
                if resp.status != 201:
                    raise RuntimeError(f"publish refused: {answer}")
            done.append((str(answer["id"]), time.perf_counter()))

        if rate is None:
            left = iter(range(n))

            async def worker() -> None:
                for _ in left:
                    await one()

            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        else:
            start = time.perf_counter()
            tasks = []
            for i in range(n):
                await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
                tasks.append(asyncio.create_task(one()))
            await asyncio.gather(*tasks)
    return done


async def count_posts(
    node: Node | Sequence[Node], token: str | Sequence[str], recipients: list[str], n: int
) -> int:
    return len(await post_notices(node, token, recipients, n))


# --- PostgreSQL: one database, one or more worker processes -------------------


async def _pg_admin(server: str, statement: str) -> None:
    url = make_url(server)
    connection = await asyncpg.connect(
        host=url.host,
        port=url.port,
        user=url.username,
        password=url.password,
        database=url.database,
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextlib.contextmanager
def pg_database(server: str) -> Iterator[str]:
    """A fresh PostgreSQL database on ``server``, dropped afterwards; its URL."""
    name = f"baliza_bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(server, f'CREATE DATABASE "{name}"'))
    try:
        yield (
            make_url(server)
            .set(drivername="postgresql+asyncpg", database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        asyncio.run(_pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def workers_of(node: Node, database_url: str, count: int, data_dir: Path) -> list[Node]:
    """``count`` worker processes of ``node``'s agency on one database, each on its own port."""
    return [
        replace(
            node,
            config=replace(
                node.config,
                database_url=database_url,
                data_dir=data_dir / f"w{i}",
                port=node.config.port if i == 0 else free_port(),
            ),
        )
        for i in range(count)
    ]


@contextlib.contextmanager
def serving_workers(workers: list[Node], *, couriers: bool = True) -> Iterator[list[Served]]:
    """Each worker in its own process, started one after the other (one core if alone)."""
    with contextlib.ExitStack() as stack:
        served = []
        for worker in workers:
            worker.config.data_dir.mkdir(parents=True, exist_ok=True)
            served.append(
                stack.enter_context(serving([worker], pinned=len(workers) == 1, couriers=couriers))
            )
        stack.enter_context(loader_pinned(len(workers) == 1))
        yield served


def pg_ingest_runs(
    sender: Node,
    receiver: Node,
    raws: list[bytes],
    batch: int,
    server: str,
    count: int,
    reps: int,
    data_dir: Path,
) -> list[Run]:
    """Ingest into ``count`` workers of the receiver sharing a fresh PostgreSQL database."""
    runs = []
    for rep in range(reps):
        with pg_database(server) as url:
            workers = workers_of(receiver, url, count, data_dir / f"pg-in{batch}-{count}-{rep}")
            with serving_workers(workers) as served:
                runs.append(
                    timed(
                        [s.pid for s in served],
                        push_all(sender, [w.peer for w in workers], raws, batch),
                    )
                )
        if runs[-1].count != len(raws):
            raise RuntimeError(f"only {runs[-1].count} of {len(raws)} envelopes accepted")
    return runs


def pg_publish_runs(
    nodes: list[Node], sizes: Sizes, server: str, count: int, data_dir: Path
) -> list[Run]:
    """The first node's ``count`` workers publish to the 5 others (down), one database."""
    recipients: list[str] = [n.agency for n in nodes[1:]]
    runs = []
    with pg_database(server) as url:
        workers = workers_of(nodes[0], url, count, data_dir / f"pg-pub-{count}")
        with serving_workers(workers) as served:
            tokens = [s.tokens[workers[0].agency] for s in served]
            asyncio.run(count_posts(workers, tokens, recipients, 5))  # warm up
            for _ in range(sizes.reps):
                runs.append(
                    timed(
                        [s.pid for s in served],
                        count_posts(workers, tokens, recipients, sizes.publish),
                    )
                )
    return runs


# --- cryptographic floors --------------------------------------------------------


def open_floor_us(receiver: AgencyKeys, sender: AgencyKeys, envelopes: list[Envelope]) -> float:
    """µs per ``open_envelope`` in a tight loop: the least ingest must do per notice."""
    public = sender.public()
    t0 = time.perf_counter()
    for envelope in envelopes:
        open_envelope(envelope, recipient=receiver, sender=public)
    return (time.perf_counter() - t0) / len(envelopes) * 1e6


def seal_floor_us(sender: AgencyKeys, recipients: Sequence[AgencyKeys], n: int) -> float:
    """µs per seal to ``recipients`` in a tight loop: the least publish must do per notice."""
    t0 = time.perf_counter()
    sealed(sender, recipients, n)
    return (time.perf_counter() - t0) / n * 1e6


def publish_runs(
    nodes: list[Node], sizes: Sizes, data_dir: Path, *, couriers: bool = True
) -> list[Run]:
    """The first node publishes to the 5 others, which are not running."""
    publisher = nodes[0].fresh(data_dir)
    recipients: list[str] = [n.agency for n in nodes[1:]]
    runs = []
    with serving([publisher], couriers=couriers) as served, loader_pinned(True):
        token = served.tokens[publisher.agency]
        asyncio.run(count_posts(publisher, token, recipients, 5))  # warm up
        for _ in range(sizes.reps):
            runs.append(timed(served.pid, count_posts(publisher, token, recipients, sizes.publish)))
    return runs


async def stored_seq(client: ApiClient) -> str:
    """The node's newest sequence number: a stream opened after it sends new notices only."""
    page = await client.get("/api/v1/notices", {"latest": "1", "limit": "1"})
    return str(page["items"][-1]["seq"]) if page["items"] else "0"


async def latency_load(
    sender: Node, receiver: Node, tokens: dict[str, str], sizes: Sizes
) -> list[float]:
    """Publish at a fixed rate at ``sender``; ms from call return to SSE arrival at ``receiver``."""
    arrived: dict[str, float] = {}
    n = sizes.rate * sizes.seconds
    follower = ApiClient(receiver.url, tokens[receiver.agency])
    after = await stored_seq(follower)
    follow = asyncio.create_task(
        follower.follow(
            {"after": after},
            lambda item: arrived.__setitem__(str(item["id"]), time.perf_counter()),
            stop_after=n,
        )
    )
    await asyncio.sleep(0.5)  # the stream is open before the first notice
    posted = await post_notices(
        sender, tokens[sender.agency], [receiver.agency], n, rate=sizes.rate
    )
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(follow, 30)
    missing = [eid for eid, _ in posted if eid not in arrived]
    if missing:
        raise RuntimeError(f"{len(missing)} notices never arrived")
    return [(arrived[eid] - t) * 1000 for eid, t in posted]


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory of a process (``VmHWM``: its peak), MB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


async def mesh_load(
    nodes: list[Node], tokens: dict[str, str], rate: int, seconds: int
) -> tuple[list[float], int]:
    """Each node in turn publishes to the 3 others at ``rate``/s in all; ms from the
    publish call returning to each recipient's live stream, and how many never arrived."""
    arrived: dict[str, dict[str, float]] = {n.agency: {} for n in nodes}
    n = rate * seconds

    def on_item(agency: str) -> Any:
        return lambda item: arrived[agency].setdefault(str(item["id"]), time.perf_counter())

    clients = [ApiClient(node.url, tokens[node.agency]) for node in nodes]
    cursors = [await stored_seq(client) for client in clients]
    follows = [
        asyncio.create_task(client.follow({"after": after}, on_item(node.agency)))
        for client, after, node in zip(clients, cursors, nodes, strict=True)
    ]
    await asyncio.sleep(0.5)  # every stream is open before the first notice
    posted: list[tuple[str, str, float]] = []  # (id, sender, time the call returned)
    async with aiohttp.ClientSession() as session:

        async def one(i: int) -> None:
            sender = nodes[i % len(nodes)]
            body = {
                "notice": seizure_json(sender.agency),
                "recipients": [o.agency for o in nodes if o is not sender],
                "handling": {"tlp": "amber"},
            }
            headers = {"Authorization": f"Bearer {tokens[sender.agency]}"}
            async with session.post(
                sender.url + "/api/v1/notices", json=body, headers=headers
            ) as resp:
                answer = await resp.json()
                if resp.status != 201:
                    raise RuntimeError(f"publish refused: {answer}")
            posted.append((str(answer["id"]), sender.agency, time.perf_counter()))

        start = time.perf_counter()
        tasks = []
        for i in range(n):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    expected = [(eid, o.agency, t) for eid, s, t in posted for o in nodes if o.agency != s]
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline:
        if all(eid in arrived[to] for eid, to, _ in expected):
            break
        await asyncio.sleep(0.1)
    for task in follows:
        task.cancel()
    await asyncio.gather(*follows, return_exceptions=True)
    latencies = [(arrived[to][eid] - t) * 1000 for eid, to, t in expected if eid in arrived[to]]
    return latencies, len(expected) - len(latencies)


async def queue_backlog(sender: Node, receiver: Node, count: int) -> None:
    """Store ``count`` sealed notices in ``sender``'s outbox for ``receiver`` (it is down)."""
    db = await Database.open(sender.config.db_url)
    await db.upgrade()
    notice = notice_from_json(seizure_json(sender.agency))
    try:
        for start in range(0, count, 100):
            items = []
            for envelope in sealed(
                sender.keys, [receiver.keys, sender.keys], min(100, count - start)
            ):
                indexed = index_notice(envelope, notice, Direction.OUT, envelope.header.created_ms)
                items.append(
                    Publication(
                        envelope=SentEnvelope(
                            id=envelope.id,
                            kind=envelope.header.kind.value,
                            created_ms=envelope.header.created_ms,
                            recipients=(Addressee(receiver.agency, "named"),),
                            raw=envelope.raw,
                        ),
                        notice=indexed.row,
                    )
                )
            await db.run(partial(store_publications, items=items), write=True)
    finally:
        await db.close()


async def count_received(receiver: Node, expected: int, limit_s: float) -> int:
    """Wait until ``receiver`` holds ``expected`` inbound notices (or ``limit_s``); how many."""
    deadline = time.perf_counter() + limit_s
    got = 0
    while time.perf_counter() < deadline:
        got = await _inbound(receiver)
        if got >= expected:
            break
        await asyncio.sleep(0.2)
    return got


async def _inbound(receiver: Node) -> int:
    db = await Database.open(receiver.config.db_url)
    try:
        return int(
            await db.run(
                lambda c: c.execute(
                    text("SELECT count(*) FROM notices WHERE direction = 'in'")
                ).scalar(),
                write=False,
            )
            or 0
        )
    finally:
        await db.close()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# --- profile ----------------------------------------------------------------


def profile_report(path: str, total_notices: int) -> list[str]:
    """The five functions with the most self time (cProfile, node main thread)."""
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]]
    raw = pstats.Stats(path).stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values())
    lines = ["| function (self time) | calls | µs per notice | share |", "|---|---:|---:|---:|"]
    top = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)
    shown = 0
    for (file, line, name), (_, calls, tottime, _, _) in top:
        if "poll" in name or "select" in name:
            continue  # the event loop waiting for I/O, not work
        where = f" ({Path(file).name}:{line})" if line else ""
        lines.append(
            f"| `{name}`{where} | {calls:,} | {tottime / total_notices * 1e6:,.0f} | "
            f"{tottime / total:.0%} |"
        )
        shown += 1
        if shown == 5:
            break
    return lines


# Where a node's main-thread time goes, by the code it runs in. Built-in
# functions (C code: the cryptography bindings, sqlite3, msgpack) are named
# by what they belong to, or else counted where they were called from.
AREAS = (
    ("cryptography", ("cryptography", "/crypto/", "_rust", "openssl", "hashlib", "_hmac")),
    ("SQLAlchemy", ("sqlalchemy",)),
    ("SQLite hand-off (aiosqlite, sqlite_link)", ("aiosqlite", "sqlite_link", "sqlite3")),
    ("HTTP (aiohttp, yarl, multidict)", ("aiohttp", "yarl", "multidict")),
    ("protocol (codec, validation, JSON forms)", ("/protocol/", "msgpack", "json")),
    ("node: storage repositories", ("/node/storage/",)),
    ("node: services", ("/node/services/",)),
    ("node: HTTP handlers and middleware", ("/node/http/",)),
    ("node: other", ("/node/",)),
    ("asyncio and the event loop", ("asyncio", "selectors")),
)


def _area(file: str, name: str) -> str | None:
    where = f"{file} {name}" if file == "~" else file
    for area, marks in AREAS:
        if any(mark in where for mark in marks):
            return area
    return None


def area_report(path: str, total_notices: int) -> list[str]:
    """Main-thread CPU per notice by area (cProfile self time; idle waiting left out)."""
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]]
    raw = pstats.Stats(path).stats  # type: ignore[attr-defined]
    spent: dict[str, float] = {}
    for (file, _line, name), (_, _, tottime, _, callers) in raw.items():
        if file == "~" and ("poll" in name or "select" in name):
            continue
        area = _area(file, name)
        if area is None and file == "~" and callers:
            # A built-in nobody claims: charge it to its callers' areas.
            calls = sum(c[2] for c in callers.values()) or 1.0
            for (cfile, _cline, cname), c in callers.items():
                caller_area = _area(cfile, cname) or "other"
                spent[caller_area] = spent.get(caller_area, 0.0) + tottime * c[2] / calls
            continue
        spent[area or "other"] = spent.get(area or "other", 0.0) + tottime
    total = sum(spent.values())
    lines = ["| area (node main thread) | µs per notice | share |", "|---|---:|---:|"]
    for area, seconds in sorted(spent.items(), key=lambda kv: kv[1], reverse=True):
        lines.append(f"| {area} | {seconds / total_notices * 1e6:,.0f} | {seconds / total:.0%} |")
    lines.append(f"| **all** | {total / total_notices * 1e6:,.0f} | 100% |")
    return lines


def stage_report(runs_by_batch: dict[int, list[Run]]) -> list[str]:
    """µs per notice in each step of ingest, and the node's CPU per notice."""
    batches = sorted(runs_by_batch)
    lines = [
        "| ingest step, µs per notice (median) | "
        + " | ".join(f"batch {b}" for b in batches)
        + " |",
        "|---|" + "---:|" * len(batches),
    ]

    def per_notice(value: Any) -> str:
        cells = []
        for b in batches:
            runs = runs_by_batch[b]
            cells.append(f"{statistics.median(value(r) / r.count * 1e6 for r in runs):,.0f}")
        return " | ".join(cells)

    labels = [label for _, _, label in STAGE_TIMERS]
    for label in labels:
        lines.append(f"| {label} | {per_notice(lambda r, k=label: r.stages[k][1])} |")

    def synced(r: Run) -> float:
        return sum(r.stages[k][1] for k in labels)

    lines.append(f"| **sum of the steps above** | {per_notice(synced)} |")
    lines.append(f"| {STORE[2]} | {per_notice(lambda r: r.stages[STORE[2]][1])} |")
    lines.append(f"| node CPU, event-loop thread | {per_notice(lambda r: r.node_main_cpu_s)} |")
    lines.append(
        "| node CPU, other threads (aiosqlite/SQLite) | "
        f"{per_notice(lambda r: r.node_cpu_s - r.node_main_cpu_s)} |"
    )
    lines.append(
        "| event-loop CPU outside the steps (HTTP, SQLAlchemy, asyncio) | "
        f"{per_notice(lambda r: r.node_main_cpu_s - synced(r))} |"
    )
    lines.append(f"| wall time per notice | {per_notice(lambda r: r.wall_s)} |")
    return lines


# --- main -------------------------------------------------------------------


def cpu_cells(runs: list[Run]) -> str:
    node = statistics.median(r.node_cpu_s / r.wall_s for r in runs)
    loader = statistics.median(r.loader_cpu_s / r.wall_s for r in runs)
    return f"{node:.0%} | {loader:.0%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run, a few seconds")
    parser.add_argument("--no-profile", action="store_true", help="skip the profiled ingest")
    parser.add_argument(
        "--counts-only",
        action="store_true",
        help="only count statements, transactions and thread trips per notice",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BALIZA_TEST_POSTGRES_URL", ""),
        help="PostgreSQL server URL for the 1- and 2-worker runs (default: "
        "$BALIZA_TEST_POSTGRES_URL; none: SQLite only)",
    )
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    began = time.perf_counter()
    command = " ".join([".venv/bin/python", "bench/bench_node.py", *sys.argv[1:]])
    print(f"Command: `{command}`\n")
    print(
        f"Machine: nproc {os.cpu_count()}, Python {platform.python_version()}, "
        f"cryptography {cryptography.__version__}, aiohttp {aiohttp.__version__}, "
        f"{platform.machine()}; nodes pinned to CPU {SERVER_CPUS}, load generator to "
        f"{LOADER_CPUS}; {CONCURRENCY} requests in flight; SQLite WAL, synchronous=FULL\n"
    )
    base = Path(tempfile.mkdtemp(prefix="baliza-bench-"))
    rows: list[str] = []

    # Hybrid federation: a sender, a receiver, and 4 more to publish to.
    agencies = ("ec.senae.gye", "es.aduanas.alg", "co.polfa.ctg", "nl.douane.rtm")
    hybrid = [make_node(base, a, Suite.HYBRID) for a in (*agencies, "pa.ana.pty", "be.douane.anr")]
    introduce(hybrid)
    sender, receiver = hybrid[0], hybrid[1]
    t0 = time.perf_counter()
    envelopes = sealed(sender.keys, [receiver.keys, sender.keys], sizes.ingest_100)
    seal_s = time.perf_counter() - t0
    raws = [e.raw for e in envelopes]
    plain = len(encode_notice(notice_from_json(seizure_json(sender.agency))))
    print(
        f"Notice: seizure, {plain:,} B canonical; envelope to receiver + sender, "
        f"{len(raws[0]):,} B, hybrid-v1 (sealed {len(raws)} in {seal_s:.1f} s)\n"
    )

    # 0. Statements, transactions and thread trips per notice (in this process).
    fresh = receiver.fresh(base / "counts")
    ingest_counts, publish_counts = statement_count.measure(
        fresh.config,
        fresh.keys,
        fresh.directory,
        sender.keys,
        sender.peer,
        fresh.peer,
        raws[:51],
        {
            "notice": seizure_json(fresh.agency),
            "recipients": [sender.agency],
            "handling": {"tlp": "amber"},
        },
    )
    print(
        "| per notice, SQLite, one live follower | statements | transactions | thread trips |\n"
        "|---|---:|---:|---:|"
    )
    for label, c in (
        ("ingest, one envelope per request, one request at a time", ingest_counts),
        ("publish to 1 recipient, one at a time", publish_counts),
    ):
        print(f"| {label} | {c.statements:.1f} | {c.transactions:.1f} | {c.trips:.1f} |")
    print()
    if args.counts_only:
        shutil.rmtree(base, ignore_errors=True)
        return

    # 1. The floor, in this process, on one core.
    floors = []
    parsed = [parse_envelope(r) for r in raws[: sizes.floor]]
    with loader_pinned(True):
        for rep in range(sizes.reps):
            (base / f"f{rep}").mkdir()
            floors.append(asyncio.run(floor_once(receiver, sender.keys, parsed, base / f"f{rep}")))
    floor = statistics.median(f[0] for f in floors)
    open_us = statistics.median(f[1] for f in floors)
    insert_us = statistics.median(f[2] for f in floors)
    rows.append(
        f"| old floor: open_envelope ({open_us:,.0f} µs) + 1 transaction per notice "
        f"({insert_us:,.0f} µs), no HTTP | {floor:,.0f} | {sizes.reps}×{sizes.floor} | | | |"
    )
    # The cryptographic floors the goals are stated against (tight loops, one core).
    five = [n.keys for n in hybrid[1:6]]
    with loader_pinned(True):
        opens = [open_floor_us(receiver.keys, sender.keys, parsed) for _ in range(sizes.reps)]
        seals = [seal_floor_us(sender.keys, five, sizes.floor // 3) for _ in range(sizes.reps)]
    open_floor = 1e6 / statistics.median(opens)
    seal_floor = 1e6 / statistics.median(seals)
    rows.append(
        f"| **floor: 1 / open_envelope** ({statistics.median(opens):,.0f} µs, tight loop) | "
        f"{open_floor:,.0f} | {sizes.reps}×{sizes.floor} | 1.00 | | |"
    )
    rows.append(
        f"| **floor: 1 / seal to 5**, hybrid ({statistics.median(seals):,.0f} µs, tight loop) | "
        f"{seal_floor:,.0f} | {sizes.reps}×{sizes.floor // 3} | 1.00 | | |"
    )

    # 2. Ingest over HTTP, a fresh receiver database each run.
    ingest: dict[int, list[Run]] = {}
    for batch, n in ((1, sizes.ingest_1), (100, sizes.ingest_100)):
        ingest[batch] = [
            ingest_run(sender, receiver, raws[:n], batch, base / f"in{batch}-{rep}")
            for rep in range(sizes.reps)
        ]
        rate = statistics.median(r.rate for r in ingest[batch])
        flight = SINGLE_CONCURRENCY if batch == 1 else CONCURRENCY
        rows.append(
            f"| ingest `POST /fed/v1/inbox`, batches of {batch} ({flight} in flight), hybrid, "
            f"SQLite | {rate:,.0f} | {sizes.reps}×{n} | {rate / open_floor:.2f} | "
            f"{cpu_cells(ingest[batch])} |"
        )
        if batch == 1:
            alone = [
                ingest_run(
                    sender, receiver, raws[:n], 1, base / f"in1-alone-{rep}", group_commit=False
                )
                for rep in range(sizes.reps)
            ]
            rate = statistics.median(r.rate for r in alone)
            rows.append(
                f"| ingest, batches of 1 ({flight} in flight), hybrid, SQLite, group commit off "
                f"(one transaction per request) | {rate:,.0f} | {sizes.reps}×{n} | "
                f"{rate / open_floor:.2f} | {cpu_cells(alone)} |"
            )
        if args.postgres:
            for count in (1, 2):
                runs = pg_ingest_runs(
                    sender, receiver, raws[:n], batch, args.postgres, count, sizes.reps, base
                )
                rate = statistics.median(r.rate for r in runs)
                rows.append(
                    f"| ingest, batches of {batch} ({flight} in flight), hybrid, PostgreSQL, "
                    f"{count} worker{'s' if count > 1 else ''} | {rate:,.0f} | {sizes.reps}×{n} | "
                    f"{rate / open_floor:.2f} | {cpu_cells(runs)} |"
                )

    # 3. Publish to 5 recipients that are not running, both suites.
    classic = [make_node(base / "classic", n.agency, Suite.CLASSIC) for n in hybrid]
    introduce(classic)
    cases = [("hybrid", hybrid, True), ("classic", classic, True), ("hybrid", hybrid, False)]
    for label, nodes, couriers in cases:
        runs = publish_runs(nodes, sizes, base / f"pub-{label}-{couriers}", couriers=couriers)
        rate = statistics.median(r.rate for r in runs)
        what = "5 recipients (down)" if couriers else "5 recipients, couriers not started"
        ratio = f"{rate / seal_floor:.2f}" if label == "hybrid" else ""
        rows.append(
            f"| publish `POST /api/v1/notices`, {what}, {label}, SQLite | {rate:,.0f} | "
            f"{sizes.reps}×{sizes.publish} | {ratio} | {cpu_cells(runs)} |"
        )
    if args.postgres:
        for count in (1, 2):
            runs = pg_publish_runs(hybrid, sizes, args.postgres, count, base)
            rate = statistics.median(r.rate for r in runs)
            rows.append(
                f"| publish, 5 recipients (down), hybrid, PostgreSQL, {count} worker"
                f"{'s' if count > 1 else ''} | {rate:,.0f} | {sizes.reps}×{sizes.publish} | "
                f"{rate / seal_floor:.2f} | {cpu_cells(runs)} |"
            )

    print(
        "| path | notices/s (median) | runs × notices | ratio to its floor | node CPU "
        "(1 core = 100%) | load generator CPU |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    print()
    print("\n".join(stage_report(ingest)))

    # 4. End-to-end latency: two nodes, each in its own process (not pinned).
    a, b = hybrid[0].fresh(base / "e2e-a"), hybrid[1].fresh(base / "e2e-b")
    with serving([b], pinned=False) as at_b, serving([a], pinned=False) as at_a:
        latencies = asyncio.run(latency_load(a, b, {**at_a.tokens, **at_b.tokens}, sizes))
    print(
        f"\n| end-to-end, publish call returned → on the receiver's SSE stream, hybrid, "
        f"{sizes.rate}/s for {sizes.seconds} s | p50 ms | p99 ms | max ms |"
    )
    print("|---|---:|---:|---:|")
    print(
        f"| {len(latencies)} notices, 1 recipient, both nodes running | "
        f"{percentile(latencies, 50):.1f} | {percentile(latencies, 99):.1f} | "
        f"{max(latencies):.1f} |"
    )

    # 4b. Four nodes, each notice to the 3 others, memory before and after.
    mesh = [n.fresh(base / f"mesh-{i}") for i, n in enumerate(hybrid[:4])]
    with contextlib.ExitStack() as stack:
        at = [stack.enter_context(serving([m], pinned=False)) for m in mesh]
        tokens: dict[str, str] = {
            m.agency: s.tokens[m.agency] for m, s in zip(mesh, at, strict=True)
        }
        before = sum(rss_mb(s.pid) for s in at)
        latencies, lost = asyncio.run(mesh_load(mesh, tokens, sizes.rate, sizes.seconds))
        after = sum(rss_mb(s.pid) for s in at)
    print(
        f"\n| end-to-end, 4 nodes, each notice to the 3 others, {sizes.rate}/s for "
        f"{sizes.seconds} s | p50 ms | p99 ms | max ms | lost | RSS of the 4 nodes, MB, "
        "before → after |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    print(
        f"| {len(latencies)} arrivals | {percentile(latencies, 50):.1f} | "
        f"{percentile(latencies, 99):.1f} | {max(latencies):.1f} | {lost} | "
        f"{before:.0f} → {after:.0f} |"
    )

    # 4c. Catch-up: a backlog queued while the receiver was down, pushed (and pulled) at once.
    a, b = hybrid[0].fresh(base / "cu-a"), hybrid[1].fresh(base / "cu-b")
    asyncio.run(queue_backlog(a, b, sizes.backlog))
    with serving([b], pinned=False) as at_b, serving([a], pinned=False) as at_a:
        t0 = time.perf_counter()
        got = asyncio.run(count_received(b, sizes.backlog, 600))
        took = time.perf_counter() - t0
        peaks = rss_mb(at_a.pid, "VmHWM"), rss_mb(at_b.pid, "VmHWM")
    print(
        "\n| catch-up, hybrid, receiver back after a backlog was queued | notices | s | "
        "notices/s | s per 100,000 (linear) | peak RSS sender, MB | peak RSS receiver, MB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(
        f"| both nodes unpinned (2 cores shared) | {got:,} of {sizes.backlog:,} | {took:.1f} | "
        f"{got / took:,.0f} | {100_000 / (got / took):,.0f} | {peaks[0]:.0f} | {peaks[1]:.0f} |"
    )

    # 5. Where ingest of batches of 100 spends its time (cProfile in the node process).
    if not args.no_profile:
        path = str(base / "ingest.prof")
        n = sizes.ingest_100
        with serving([receiver.fresh(base / "prof")], profile_path=path), loader_pinned(True):
            asyncio.run(push_all(sender, receiver.peer, raws[:n], 100))
        print(f"\nProfile: ingest of {n} notices in batches of 100 (cProfile, main thread)\n")
        print("\n".join(profile_report(path, n)))

    shutil.rmtree(base, ignore_errors=True)
    print(f"\nTotal {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
