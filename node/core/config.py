"""A node's configuration: who it is, where it keeps its data, where it listens.

``baliza init`` writes ``node.json`` into the data folder; every other command
reads it back. JSON because the operator edits it by hand and the standard
library reads and writes it; secrets (the key passphrase) never go in it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from baliza.protocol.errors import ReasonCode, UsageError
from baliza.protocol.federation import MAX_BATCH
from baliza.protocol.ids import AgencyId, agency_id

CONFIG_FILE = "node.json"
KEYS_FILE = "keys.enc"
PUBLIC_FILE = "public.json"
PEERS_FILE = "peers.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeConfig:
    """Settings of one node; times in milliseconds."""

    agency: AgencyId
    name: str
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8470
    public_url: str = ""
    database_url: str = ""
    # Envelopes created further from now than this are refused on push
    # (a replayed capture from last year is not news); pull/backfill is exempt.
    replay_window_ms: int = 7 * 24 * 3600 * 1000
    # Signed node-to-node requests older or newer than this are refused.
    request_skew_ms: int = 5 * 60 * 1000
    batch_size: int = 100
    backoff_base_ms: int = 500
    backoff_cap_ms: int = 60_000
    pull_interval_ms: int = 30_000
    # Workers sharing a PostgreSQL database lease outbox rows while pushing
    # them; a killed worker's rows are taken over after this long. Longer
    # than a push may take (fedclient's request timeout).
    delivery_lease_ms: int = 60_000
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The URL peers use to reach this node."""
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def db_url(self) -> str:
        """The SQLAlchemy URL; a SQLite file in the data folder by default."""
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'baliza.db'}"

    def save(self) -> None:
        """Write ``node.json`` into the data folder."""
        data = asdict(self)
        data["data_dir"] = str(self.data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / CONFIG_FILE).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, data_dir: Path) -> NodeConfig:
        """Read ``node.json``; raise ``UsageError`` naming the problem."""
        path = data_dir / CONFIG_FILE
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise UsageError(
                ReasonCode.BAD_CONFIG, f"{path} not found: run `baliza init` first"
            ) from None
        except (OSError, ValueError) as exc:
            raise UsageError(ReasonCode.BAD_CONFIG, f"{path}: {exc}") from None
        if not isinstance(data, dict):
            raise UsageError(ReasonCode.BAD_CONFIG, f"{path}: must hold a JSON object")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise UsageError(ReasonCode.BAD_CONFIG, f"{path}: unknown setting {unknown[0]!r}")
        try:
            data["agency"] = agency_id(data.get("agency"), "agency")
            data["data_dir"] = data_dir
            config = cls(**data)
        except TypeError as exc:
            raise UsageError(ReasonCode.BAD_CONFIG, f"{path}: {exc}") from None
        config.check(path)
        return config

    def check(self, where: object = CONFIG_FILE) -> None:
        """Refuse settings the node could not work with, naming the setting."""
        limits = {
            "batch_size": (1, MAX_BATCH),
            "port": (0, 65535),
            "backoff_base_ms": (1, 3_600_000),
            "backoff_cap_ms": (1, 24 * 3_600_000),
            "pull_interval_ms": (100, 24 * 3_600_000),
            "delivery_lease_ms": (1000, 24 * 3_600_000),
            "request_skew_ms": (1000, 3_600_000),
            "replay_window_ms": (60_000, 365 * 24 * 3_600_000),
        }
        for name, (lo, hi) in limits.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
                raise UsageError(
                    ReasonCode.BAD_CONFIG, f"{where}: {name} must be an integer in [{lo}, {hi}]"
                )
