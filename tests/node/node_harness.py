"""Real nodes on loopback for the node tests: real keys, real databases, real HTTP.

Each ``TestNode`` is the same aiohttp application ``baliza serve`` runs,
bound to a fixed loopback port so it can be stopped and started again (a
receiver that is down for a while) without its peers noticing anything but
connection errors. The port comes from ``loopback_support.free_port``, which
no other process takes in the meantime.

``Cluster`` (the ``cluster`` fixture) makes the usual set: nodes on
databases migrated from the session's template, introduced to each other in
one federation, started, and stopped when the test ends.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web
from loopback_support import free_port as free_port  # tests import it from here
from sqlalchemy.engine import make_url

from baliza.crypto import AgencyKeys, Suite
from baliza.crypto.directory import directory_fingerprint, propose, sign_proposal
from baliza.node.cli.client import ApiClient
from baliza.node.core.clock import now_ms
from baliza.node.core.config import NodeConfig
from baliza.node.core.trust import Keyring, Peer
from baliza.node.http.app import build_app
from baliza.node.http.appkeys import DELIVERY, NODE
from baliza.node.http.server import NodeSite, node_runner
from baliza.node.services.context import NodeContext
from baliza.node.services.delivery import DeliveryService
from baliza.node.services.directory_build import found
from baliza.node.services.directory_sync import apply_directory
from baliza.node.services.member_card import MemberCard
from baliza.node.services.tokens import issue_token
from baliza.protocol.ids import AgencyId

YEAR_MS = 365 * 24 * 3600 * 1000
# The agencies of ``cluster(n)``, in order.
AGENCIES = ("ec.polnac.gye", "co.polfa.ctg", "es.aduanas.alg", "es.gc.mad", "pa.senan.pty")


@dataclass
class TestNode:
    """One agency node under test."""

    __test__ = False  # not a pytest class

    config: NodeConfig
    keys: AgencyKeys
    extra_keys: list[AgencyKeys] = field(default_factory=list)
    directory: tuple[bytes, str] | None = None  # signed founding directory, fingerprint
    runner: web.AppRunner | None = None
    site: NodeSite | None = None
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def agency(self) -> AgencyId:
        return self.config.agency

    @property
    def url(self) -> str:
        return self.config.url

    @property
    def peer(self) -> Peer:
        """How other nodes see this one."""
        return Peer(agency=self.agency, name=self.agency, url=self.url, keys=self.keys.public())

    @property
    def card(self) -> MemberCard:
        """The public card the node's operator gives the administrators."""
        return MemberCard(
            agency=self.agency, name=self.agency, url=self.url, keys=self.keys.public()
        )

    @property
    def ctx(self) -> NodeContext:
        assert self.runner is not None, "node is not running"
        return self.runner.app[NODE]

    @property
    def delivery(self) -> DeliveryService:
        assert self.runner is not None, "node is not running"
        return self.runner.app[DELIVERY]

    async def start(self) -> None:
        """Start serving on the node's port (again, after a stop)."""
        app = build_app(self.config, Keyring([self.keys, *self.extra_keys]))
        self.runner = node_runner(app, self.config)
        await self.runner.setup()
        self.site = NodeSite(
            self.runner, self.config.host, self.config.port, self.config.max_connections
        )
        await self.site.start()
        if self.directory is not None and self.ctx.trust.directory is None:
            signed, fingerprint = self.directory
            await apply_directory(self.ctx, signed, actor="test", fingerprint=fingerprint)
        if not self.tokens:
            for role in ("analyst", "publisher", "admin"):
                self.tokens[role] = await issue_token(self.ctx.db, f"test {role}", role, now_ms())

    async def stop(self) -> None:
        """Stop serving; the database keeps everything."""
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    def api(self, role: str = "publisher") -> ApiClient:
        """An API client holding a token of ``role``."""
        return ApiClient(self.url, self.tokens[role])


def make_node(
    tmp_path: Path, agency: str, database_url: str, *, suite: Suite = Suite.HYBRID, **settings: Any
) -> TestNode:
    """A node with fresh keys, fast retry timings and its own database."""
    now = now_ms()
    keys = AgencyKeys.generate(
        AgencyId(agency), suite, valid_from_ms=now - YEAR_MS // 4, valid_until_ms=now + YEAR_MS
    )
    config = NodeConfig(
        agency=AgencyId(agency),
        name=agency,
        data_dir=tmp_path / agency,
        port=free_port(),
        database_url=database_url,
        backoff_base_ms=50,
        backoff_cap_ms=400,
        pull_interval_ms=3_600_000,
    )
    config = replace(config, **settings) if settings else config
    return TestNode(config=config, keys=keys)


def sqlite_file(node: TestNode) -> Path:
    """The SQLite file of ``node``'s database (for tests that open it beside the node)."""
    url = make_url(node.config.database_url)
    assert url.get_backend_name() == "sqlite" and url.database, "not a SQLite file"
    return Path(url.database)


@dataclass
class Federation:
    """The administrators of a test federation (three keys, two must sign)."""

    admins: list[AgencyKeys]
    signed: bytes

    def sign(self, proposal: bytes, signers: int = 2) -> bytes:
        """Have the first ``signers`` administrators sign ``proposal``."""
        for admin in self.admins[:signers]:
            proposal = sign_proposal(proposal, admin)
        return proposal


def introduce(*nodes: TestNode, valid_days: int = 30) -> Federation:
    """Found a federation of ``nodes``: a directory signed by 2 of 3 administrators.

    Each node pins it by fingerprint when it starts, as an operator would.
    """
    now = now_ms()
    admins = [
        AgencyKeys.generate(
            AgencyId(agency), Suite.CLASSIC, valid_from_ms=now - 1000, valid_until_ms=now + YEAR_MS
        )
        for agency in ("ec.admin", "co.admin", "es.admin")
    ]
    directory = found(
        federation="test-federation",
        cards=[n.card for n in nodes],
        administrators=[a.public() for a in admins],
        threshold=2,
        now_ms=now,
        valid_days=valid_days,
    )
    federation = Federation(admins=admins, signed=b"")
    federation.signed = federation.sign(propose(directory))
    for node in nodes:
        node.directory = (federation.signed, directory_fingerprint(federation.signed))
    return federation


class DatabaseFactory(Protocol):
    """``FreshDatabases.url``: a new database on an engine, migrated if asked."""

    def __call__(self, engine: str = "sqlite", *, migrated: bool = False) -> Awaitable[str]: ...


class Cluster:
    """Sets of nodes for one test, each on a migrated database of its own.

    ``await cluster(3, "postgresql")`` makes Guayaquil, Cartagena and
    Algeciras (``AGENCIES`` in order), founds their federation and starts
    them; ``await cluster([GYE, ALG], start=[ALG])`` names the agencies and
    starts only some. Everything it started is stopped by ``stop_all``.
    """

    def __init__(self, folder: Path, databases: DatabaseFactory) -> None:
        self._folder = folder
        self._databases = databases
        self.nodes: list[TestNode] = []
        self.federation: Federation | None = None

    async def __call__(
        self,
        agencies: int | Sequence[str] = 3,
        engine: str | Sequence[str] = "sqlite",
        *,
        start: bool | Iterable[str] = True,
        per_node: Mapping[str, Mapping[str, Any]] | None = None,
        **settings: Any,
    ) -> list[TestNode]:
        """Make, introduce and start nodes; return them in the order named.

        ``engine`` is one engine for all, or one per agency. ``settings``
        apply to every node's ``NodeConfig``, ``per_node[agency]`` to one.
        ``start`` is True (all), False (none) or the agencies to start.
        """
        names = list(AGENCIES[:agencies]) if isinstance(agencies, int) else list(agencies)
        engines = [engine] * len(names) if isinstance(engine, str) else list(engine)
        if len(engines) != len(names):
            raise ValueError("one engine, or one per agency")
        nodes = []
        for agency, on in zip(names, engines, strict=True):
            url = await self._databases(on, migrated=True)
            more = {**settings, **(per_node or {}).get(agency, {})}
            nodes.append(make_node(self._folder, agency, url, **more))
        self.federation = introduce(*nodes)
        self.nodes.extend(nodes)
        wanted = set(names) if start is True else set() if start is False else set(start)
        for node in nodes:
            if node.agency in wanted:
                await node.start()
        return nodes

    async def stop_all(self) -> None:
        """Stop every node this cluster made (stopping a stopped node does nothing)."""
        for node in reversed(self.nodes):
            await node.stop()
