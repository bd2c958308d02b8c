"""A federation of real ``baliza serve`` processes on loopback, each behind a fault proxy.

Nodes are prepared the way an operator prepares them (configuration file,
encrypted keys, a directory signed by two of three administrators and pinned
by fingerprint, API tokens), but in this process, which is quicker than one
``baliza`` command per step. Then each runs as its own ``baliza serve``
process, so ``kill -9`` is a real kill -9: no finally block, no flush, no
graceful close of the database.

The directory gives every node's proxy URL, not the node's own port, so all
traffic between nodes crosses a ``FaultProxy`` the test controls. The test's
own API calls go straight to each node.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import aiohttp
from loopback_support import free_port as free_port  # shared with the other suites
from proxy import FaultProxy

from baliza.crypto import AgencyKeys, Suite
from baliza.crypto.directory import directory_fingerprint, propose, sign_proposal
from baliza.node.core.clock import now_ms
from baliza.node.core.config import NodeConfig
from baliza.node.core.keyring import PASSPHRASE_ENV, save_keys
from baliza.node.services.directory_build import found
from baliza.node.services.directory_sync import store_directory
from baliza.node.services.member_card import MemberCard
from baliza.node.services.tokens import issue_token
from baliza.node.storage import Database
from baliza.protocol.ids import AgencyId

PASSPHRASE = "fault suite passphrase"
YEAR_MS = 365 * 24 * 3600 * 1000
START_LIMIT_S = 60.0


@dataclass
class ProcessNode:
    """One agency node: its data folder, its ``baliza serve`` process and its proxy."""

    agency: AgencyId
    folder: Path
    port: int
    proxy: FaultProxy
    keys: AgencyKeys
    log_path: Path
    tokens: dict[str, str] = field(default_factory=dict)
    process: asyncio.subprocess.Process | None = None
    # Added to the process's environment (a skewed clock, say).
    env: dict[str, str] = field(default_factory=dict)
    log: IO[bytes] | None = None
    starts: int = 0
    # Empty: the SQLite file in the data folder (``database``).
    database_url: str = ""

    @property
    def api_url(self) -> str:
        """Where the test calls the node's API (directly, not through the proxy)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def database(self) -> Path:
        return self.folder / "baliza.db"

    @property
    def url(self) -> str:
        """The URL of the node's database, whichever the engine."""
        return self.database_url or f"sqlite+aiosqlite:///{self.database}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self) -> None:
        """Start ``baliza serve`` and wait until it answers ``/healthz``."""
        assert not self.running, f"{self.agency} is already running"
        if self.log is None:
            self.log = self.log_path.open("ab")
        self.starts += 1
        self.log.write(f"--- start {self.starts} ---\n".encode())
        self.log.flush()
        self.process = await asyncio.create_subprocess_exec(
            *(
                sys.executable,
                "-m",
                "baliza.node.cli.main",
                "serve",
                "--data-dir",
                str(self.folder),
            ),
            stdout=self.log,
            stderr=self.log,
            env={**os.environ, PASSPHRASE_ENV: PASSPHRASE, **self.env},
        )
        await self.wait_healthy()

    async def wait_healthy(self) -> None:
        deadline = time.monotonic() + START_LIMIT_S
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.returncode is not None:
                    raise AssertionError(f"{self.agency} exited: {self.log_tail()}")
                try:
                    async with session.get(self.api_url + "/healthz") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError(f"{self.agency} did not answer /healthz: {self.log_tail()}")

    async def kill(self) -> None:
        """``kill -9``: the process ends wherever it was."""
        if self.process is not None:
            if self.process.returncode is None:
                self.process.send_signal(signal.SIGKILL)
            await self.process.wait()
            self.process = None

    async def stop(self) -> None:
        """Stop the way an operator does (SIGTERM), kill -9 if it hangs."""
        if self.process is None:
            return
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            await self.kill()
        self.process = None

    async def close(self) -> None:
        """Kill the process if it still runs and close the log (test teardown)."""
        await self.kill()
        if self.log is not None:
            self.log.close()
            self.log = None

    def log_tail(self, lines: int = 15) -> str:
        path = self.log_path
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


async def _prepare(node: ProcessNode, signed: bytes, fingerprint: str) -> None:
    """Create the schema, pin the founding directory and create one token per role."""
    db = await Database.open(node.url)
    try:
        await db.upgrade()
        await store_directory(db, None, signed, actor="fault suite", fingerprint=fingerprint)
        for role in ("analyst", "publisher", "admin"):
            node.tokens[role] = await issue_token(db, f"fault {role}", role, now_ms())
    finally:
        await db.close()


async def found_cluster(
    root: Path,
    agencies: list[str],
    *,
    folders: dict[str, Path] | None = None,
    databases: dict[str, str] | None = None,
    **settings: int,
) -> dict[str, ProcessNode]:
    """Prepare one node per agency behind its own proxy; start the proxies, not the nodes.

    ``folders`` puts a node's data folder elsewhere (on a small file system);
    ``databases`` gives a node a database URL (PostgreSQL) instead of its
    SQLite file; ``settings`` override node.json values (backoff, pull
    interval, audit head cadence).
    """
    now = now_ms()
    nodes: dict[str, ProcessNode] = {}
    for agency in agencies:
        keys = AgencyKeys.generate(
            AgencyId(agency),
            Suite.HYBRID,
            valid_from_ms=now - YEAR_MS,
            valid_until_ms=now + YEAR_MS,
        )
        port = free_port()
        proxy = FaultProxy(port, name=agency)
        await proxy.start()
        folder = (folders or {}).get(agency, root / agency)
        config = NodeConfig(
            agency=AgencyId(agency),
            name=agency,
            data_dir=folder,
            port=port,
            public_url=proxy.url,
            backoff_base_ms=settings.get("backoff_base_ms", 50),
            backoff_cap_ms=settings.get("backoff_cap_ms", 400),
            pull_interval_ms=settings.get("pull_interval_ms", 3_600_000),
            database_url=(databases or {}).get(agency, ""),
            audit_head_every=settings.get("audit_head_every", 1000),
            audit_head_interval_ms=settings.get("audit_head_interval_ms", 60_000),
        )
        config.save()
        save_keys(folder, keys, PASSPHRASE.encode())
        log = root / f"{agency}.log"  # never on the small file system a test may fill
        nodes[agency] = ProcessNode(
            AgencyId(agency),
            folder,
            port,
            proxy,
            keys,
            log,
            database_url=(databases or {}).get(agency, ""),
        )
    admins = [
        AgencyKeys.generate(
            AgencyId(a), Suite.CLASSIC, valid_from_ms=now - 1000, valid_until_ms=now + YEAR_MS
        )
        for a in ("ec.admin", "co.admin", "es.admin")
    ]
    directory = found(
        federation="fault-federation",
        cards=[
            MemberCard(agency=n.agency, name=n.agency, url=n.proxy.url, keys=n.keys.public())
            for n in nodes.values()
        ],
        administrators=[a.public() for a in admins],
        threshold=2,
        now_ms=now,
        valid_days=30,
    )
    signed = propose(directory)
    for admin in admins[:2]:
        signed = sign_proposal(signed, admin)
    for node in nodes.values():
        await _prepare(node, signed, directory_fingerprint(signed))
    return nodes


async def close_cluster(nodes: dict[str, ProcessNode]) -> None:
    """Teardown: kill what still runs, stop the proxies."""
    for node in nodes.values():
        await node.close()
        await node.proxy.stop()
