"""Everything a running node holds: identity, keys, trust, storage, live feed.

One object, built once at start-up and handed to the HTTP handlers through a
typed ``web.AppKey``; the operations (ingest, publish, deliver, apply a
directory) are functions over it in their own modules, so each reads on its
own. ``trust`` is replaced whole when a new directory version is applied, so
a request sees either the old or the new federation, never a mix.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from baliza.crypto import AgencyKeys
from baliza.node.core.clock import now_ms
from baliza.node.core.config import NodeConfig
from baliza.node.core.live import LiveFeed
from baliza.node.core.metrics import HISTOGRAMS, Histogram, Labels
from baliza.node.core.trust import Keyring, Peer, TrustView
from baliza.node.services.group_commit import GroupCommit
from baliza.node.services.ingest_commit import StoreResult, StoreWrite
from baliza.node.services.publications import Publication
from baliza.node.services.trust_admin import BlockList
from baliza.node.services.written import Written
from baliza.node.storage import Database
from baliza.protocol.ids import AgencyId


@dataclass(slots=True, kw_only=True)
class NodeContext:
    """The state of one running node."""

    config: NodeConfig
    keyring: Keyring
    trust: TrustView
    db: Database
    # Publications share transactions (group commit); see services/publications.py.
    publications: GroupCommit[Publication, Written]
    # Inbound envelopes of concurrent requests share transactions too.
    stores: GroupCommit[StoreWrite, StoreResult]
    live: LiveFeed = field(default_factory=LiveFeed)
    # Local blocks and pauses, held in memory (services/trust_admin.py).
    blocks: BlockList = field(default_factory=BlockList)
    # One event per destination, set when something is queued for it.
    wakeups: dict[str, asyncio.Event] = field(default_factory=dict)
    metrics: dict[str, int] = field(default_factory=dict)
    # Counters with labels (refusals by reason and peer), and histograms of
    # durations; written out by http/observability.py.
    labelled: dict[str, dict[Labels, int]] = field(default_factory=dict)
    histograms: dict[str, Histogram] = field(
        default_factory=lambda: {name: Histogram(bounds) for name, bounds in HISTOGRAMS.items()}
    )
    # Locks by name, for work one process must not do twice at once.
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    # Called after a new directory version is in force (the delivery service
    # starts couriers for new members); set by whoever owns those tasks.
    on_trust_change: list[Callable[[], None]] = field(default_factory=list)
    # Called with (sender, envelope id) of notices just received and stored
    # that list attachments (the attachment fetcher starts on their content).
    on_notices_stored: list[Callable[[list[tuple[str, str]]], None]] = field(default_factory=list)

    @property
    def agency(self) -> AgencyId:
        """This node's agency id."""
        return self.config.agency

    def signing_keys(self) -> AgencyKeys:
        """The key set to sign with now: the newest one the directory vouches for."""
        return self.keyring.for_signing(self.trust.directory, now_ms())

    def peers(self) -> list[Peer]:
        """The partner nodes as the directory in force lists them now."""
        return self.trust.peers(now_ms())

    def set_trust(self, trust: TrustView) -> None:
        """Put a new trust snapshot in force and tell whoever listens."""
        self.trust = trust
        for callback in self.on_trust_change:
            callback()

    def wakeup(self, destination: str) -> asyncio.Event:
        """The event a destination's courier waits on."""
        return self.wakeups.setdefault(destination, asyncio.Event())

    def count(self, name: str, by: int = 1) -> None:
        """Add to a Prometheus counter."""
        self.metrics[name] = self.metrics.get(name, 0) + by

    def count_labelled(self, name: str, labels: Labels, by: int = 1) -> None:
        """Add to a Prometheus counter with labels (label names in a fixed order)."""
        series = self.labelled.setdefault(name, {})
        series[labels] = series.get(labels, 0) + by

    def observe(self, name: str, seconds: float) -> None:
        """Count one observation of a histogram that ``core/metrics.HISTOGRAMS`` declares."""
        self.histograms[name].observe(seconds)
