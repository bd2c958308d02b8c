"""Real nodes on loopback for the node tests: real keys, real databases, real HTTP.

Each ``TestNode`` is the same aiohttp application ``baliza serve`` runs,
bound to a fixed loopback port so it can be stopped and started again (a
receiver that is down for a while) without its peers noticing anything but
connection errors.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aiohttp import web

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


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
