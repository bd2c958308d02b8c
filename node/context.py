"""Everything a running node holds: identity, keys, peers, storage, live feed.

One object, built once at start-up and handed to the HTTP handlers through a
typed ``web.AppKey``; the operations (ingest, publish, deliver) are functions
over it in their own modules, so each reads on its own.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from baliza.crypto import AgencyKeys
from baliza.node.config import NodeConfig
from baliza.node.live import LiveFeed
from baliza.node.peers import PeerBook
from baliza.node.storage import Database


@dataclass(slots=True, kw_only=True)
class NodeContext:
    """The state of one running node."""

    config: NodeConfig
    keys: AgencyKeys
    peers: PeerBook
    db: Database
    live: LiveFeed = field(default_factory=LiveFeed)
    # One event per destination, set when something is queued for it.
    wakeups: dict[str, asyncio.Event] = field(default_factory=dict)
    metrics: dict[str, int] = field(default_factory=dict)

    @property
    def agency(self) -> str:
        """This node's agency id."""
        return self.config.agency

    def wakeup(self, destination: str) -> asyncio.Event:
        """The event a destination's courier waits on."""
        return self.wakeups.setdefault(destination, asyncio.Event())

    def count(self, name: str, by: int = 1) -> None:
        """Add to a Prometheus counter."""
        self.metrics[name] = self.metrics.get(name, 0) + by
