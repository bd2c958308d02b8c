"""A node's configuration: who it is, where it keeps its data, where it listens.

``baliza init`` writes ``node.toml`` into the data folder; every other command
reads it back, then applies ``BALIZA_<KEY>`` environment overrides (so a
container or a systemd unit can set one value without editing the file). TOML
because operators edit it by hand and the standard library reads it; secrets
(the key passphrase) never go in it. A folder made before ``node.toml``
existed still holds ``node.json``: it is read when there is no ``node.toml``,
and ``baliza config migrate`` rewrites it as TOML.

Every setting is checked at start and every problem is reported at once,
each naming the key, what is wrong and a value that would be accepted.
"""

from __future__ import annotations

import ipaddress
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from baliza.node.core.smtp import problems as smtp_problems
from baliza.node.core.smtp import toml_lines as smtp_toml
from baliza.protocol.errors import BalizaError, ReasonCode, UsageError
from baliza.protocol.federation import MAX_BATCH
from baliza.protocol.ids import AgencyId, agency_id

CONFIG_FILE = "node.toml"
LEGACY_CONFIG_FILE = "node.json"
KEYS_FILE = "keys.enc"
PUBLIC_FILE = "public.json"
PEERS_FILE = "peers.json"
ENV_PREFIX = "BALIZA_"
LOG_FORMATS = ("text", "json")
DAY_MS = 24 * 3_600_000
# A node bound to every address is reached on loopback from its own machine.
_LOOPBACK_FOR_WILDCARD = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104

# Integer settings: accepted range and an example for the error message.
# Settings that are lists of strings (TOML arrays; in the environment, comma-separated).
# ``nominal_recipients`` may also be absent, which is not the same as empty.
LIST_KEYS = frozenset(
    {
        "subscription_auto_admit_programmes",
        "subscription_auto_admit_partners",
        "nominal_recipients",
        "trusted_proxies",
    }
)

INT_RANGES: dict[str, tuple[int, int]] = {
    "port": (0, 65535),
    "replay_window_ms": (60_000, 365 * DAY_MS),
    "request_skew_ms": (1000, 3_600_000),
    "batch_size": (1, MAX_BATCH),
    "backoff_base_ms": (1, 3_600_000),
    "backoff_cap_ms": (1, DAY_MS),
    "pull_interval_ms": (100, DAY_MS),
    "header_timeout_ms": (100, 600_000),
    "body_timeout_ms": (100, 3_600_000),
    "max_connections": (1, 1_000_000),
    "max_streams_per_token": (1, 10_000),
    "stream_write_timeout_ms": (100, 3_600_000),
    "peer_requests_per_s": (1, 1_000_000),
    "peer_concurrent_bodies": (1, 1000),
    "delivery_lease_ms": (1000, DAY_MS),
    "audit_head_every": (1, 1_000_000),
    "audit_head_interval_ms": (1000, DAY_MS),
    "audit_peer_check_ms": (0, DAY_MS),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeConfig:
    """Settings of one node; times in milliseconds."""

    agency: AgencyId
    name: str
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8470
    public_url: str = ""
    # Where officers open the console (the agency face, not the partner face):
    # WebAuthn security keys are bound to this origin and its host name.
    # Empty: http://localhost:<port>, for a node used on its own machine.
    console_url: str = ""
    database_url: str = ""
    # Envelopes created further from now than this are refused on push
    # (a replayed capture from last year is not news); pull/backfill is exempt.
    replay_window_ms: int = 7 * DAY_MS
    # Signed node-to-node requests older or newer than this are refused.
    request_skew_ms: int = 5 * 60 * 1000
    batch_size: int = 100
    backoff_base_ms: int = 500
    backoff_cap_ms: int = 60_000
    pull_interval_ms: int = 30_000
    # PEM file of the certificate authorities this node trusts when it calls
    # peers over https (an agency PKI, or a test CA); empty: the system's.
    tls_ca_file: str = ""
    # "text" for people, "json" for one JSON object per line (log shippers).
    log_format: str = "text"
    # Partner subscriptions asking only for these programmes, or from these
    # agencies, are admitted at once; any other is held for an administrator.
    subscription_auto_admit_programmes: list[str] = field(default_factory=list)
    subscription_auto_admit_partners: list[str] = field(default_factory=list)
    # Agencies and channels that may receive nominal data (persons, companies,
    # documents). None: every named recipient may, and no subscriber.
    nominal_recipients: list[str] | None = None
    # Guards against slow, stuck and flooding clients (see docs/threat-model.md):
    # a connection must complete each request's headers within header_timeout_ms
    # (also the idle keep-alive time), and its body within body_timeout_ms.
    header_timeout_ms: int = 20_000
    body_timeout_ms: int = 30_000
    max_connections: int = 1024
    # Live streams: at most this many per token; a follower that does not read
    # an event within stream_write_timeout_ms is cut off (it resumes later).
    max_streams_per_token: int = 4
    stream_write_timeout_ms: int = 30_000
    # Each member node: requests per second (bursts of twice that) to the
    # inbox, and how many of its bodies are read at once. An envelope it sends
    # that fails verification costs it one more request's worth.
    peer_requests_per_s: int = 50
    peer_concurrent_bodies: int = 2
    # Workers sharing a PostgreSQL database lease outbox rows while pushing
    # them; a killed worker's rows are taken over after this long. Longer
    # than a push may take (fedclient's request timeout).
    delivery_lease_ms: int = 60_000
    # Addresses or networks of the reverse proxies in front of this node: only
    # a connection from one of them may name the client in X-Forwarded-For /
    # X-Real-IP (per-address limits then key on the client, not the proxy).
    # Empty: every connection is its own client.
    trusted_proxies: list[str] = field(default_factory=list)
    # The audit log's head is signed after this many entries, or this long
    # after the last head if the log grew since (spec chapter 11).
    audit_head_every: int = 1000
    audit_head_interval_ms: int = 60_000
    # A courier checks a peer's signed head after a push at most this often.
    audit_peer_check_ms: int = 60_000
    extra: dict[str, str] = field(default_factory=dict)
    # The agency's mail relay for notification e-mail ([smtp], see core/smtp.py).
    smtp: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The URL peers use to reach this node."""
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def console_origin(self) -> str:
        """The console's origin as a browser names it: scheme, host and port, no path."""
        if not self.console_url:
            return f"http://localhost:{self.port}"
        parts = urlsplit(self.console_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def local_url(self) -> str:
        """Where this machine reaches the node itself: its bind address, never ``public_url``.

        In the documented deployment ``public_url`` is the proxy's partner face,
        which serves only ``/fed/v1/`` (the local API is 404 there) and may carry
        a certificate from a private CA; the CLI, doctor and local tooling call
        the listener directly. A wildcard bind address is reached on loopback.
        """
        host = _LOOPBACK_FOR_WILDCARD.get(self.host, self.host)
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def db_url(self) -> str:
        """The SQLAlchemy URL; a SQLite file in the data folder by default."""
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'baliza.db'}"

    def settings(self) -> dict[str, Any]:
        """The file's content: every key except the data folder (where the file is)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "data_dir"}

    def save(self) -> Path:
        """Write ``node.toml`` into the data folder."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / CONFIG_FILE
        path.write_text(to_toml(self.settings()))
        return path

    @classmethod
    def load(cls, data_dir: Path, environ: Mapping[str, str] | None = None) -> NodeConfig:
        """Read the data folder's file, apply ``BALIZA_*`` overrides, check everything."""
        path, data = read_file(data_dir)
        env = os.environ if environ is None else environ
        return from_settings(data_dir, data, str(path), env)

    def check(self, where: object = CONFIG_FILE) -> None:
        """Refuse settings the node could not work with, naming each setting."""
        problems = validate(self.settings())
        if problems:
            raise config_error(str(where), problems)


def read_file(data_dir: Path) -> tuple[Path, dict[str, Any]]:
    """The settings in ``node.toml``, or in ``node.json`` when there is no TOML file yet."""
    path = data_dir / CONFIG_FILE
    legacy = data_dir / LEGACY_CONFIG_FILE
    try:
        if path.exists() or not legacy.exists():
            with path.open("rb") as handle:
                return path, tomllib.load(handle)
        data = json.loads(legacy.read_text())
    except FileNotFoundError:
        raise UsageError(
            ReasonCode.BAD_CONFIG, f"{path} not found: run `baliza init` first"
        ) from None
    except (OSError, ValueError) as exc:  # TOMLDecodeError and JSONDecodeError are ValueErrors
        where = path if path.exists() else legacy
        raise UsageError(ReasonCode.BAD_CONFIG, f"{where}: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(ReasonCode.BAD_CONFIG, f"{legacy}: must hold a JSON object")
    data.pop("data_dir", None)  # node.json repeated the folder it lives in
    return legacy, data


def env_overrides(environ: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Settings named ``BALIZA_<KEY>`` in the environment, and problems reading them."""
    found: dict[str, Any] = {}
    problems: list[str] = []
    for name in DEFAULTS:
        if name in ("extra", "smtp"):
            continue
        var = ENV_PREFIX + name.upper()
        if var not in environ:
            continue
        raw = environ[var]
        if name in LIST_KEYS:
            found[name] = [item.strip() for item in raw.split(",") if item.strip()]
        elif name in INT_RANGES:
            try:
                found[name] = int(raw)
            except ValueError:
                problems.append(f"{var}: {raw!r} is not an integer (e.g. {var}={DEFAULTS[name]})")
        else:
            found[name] = raw
    return found, problems


def from_settings(
    data_dir: Path, data: dict[str, Any], where: str, environ: Mapping[str, str]
) -> NodeConfig:
    """Build a checked config from file settings and environment overrides."""
    overrides, problems = env_overrides(environ)
    merged = {**data, **overrides}
    for problem in validate(merged):
        key = problem.split(":", 1)[0]
        if key in overrides:  # say where the value came from
            problem = f"{key} (set by {ENV_PREFIX}{key.upper()}){problem[len(key) :]}"
        problems.append(problem)
    if problems:
        raise config_error(where, problems)
    merged["agency"] = AgencyId(merged["agency"])
    return NodeConfig(data_dir=data_dir, **merged)


def config_error(where: str, problems: list[str]) -> UsageError:
    """One error listing every problem, each with its key and an accepted example."""
    count = f"{len(problems)} problems: " if len(problems) > 1 else ""
    return UsageError(ReasonCode.BAD_CONFIG, f"{where}: {count}{'; '.join(problems)}")


def validate(data: Mapping[str, Any]) -> list[str]:
    """Every problem with these settings, one sentence each; empty when all is well."""
    problems = []
    for key in sorted(set(data) - set(DEFAULTS)):
        problems.append(f"{key}: unknown setting (known: {', '.join(sorted(DEFAULTS))})")
    for key in ("agency", "name"):
        if key not in data:
            problems.append(f'{key}: missing (e.g. {key} = "{EXAMPLES[key]}")')
    for key in sorted(LIST_KEYS & set(data)):
        value = data[key]
        if value is None and key == "nominal_recipients":
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(f'{key}: must be a list of strings (e.g. {key} = ["{EXAMPLES[key]}"])')
    for key, value in data.items():
        if key not in DEFAULTS or key in INT_RANGES or key in LIST_KEYS or key in ("extra", "smtp"):
            continue
        if not isinstance(value, str):
            problems.append(f'{key}: must be a string (e.g. {key} = "{EXAMPLES[key]}")')
    for key, (lo, hi) in INT_RANGES.items():
        value = data.get(key, DEFAULTS[key])
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            problems.append(
                f"{key}: must be an integer in [{lo}, {hi}], not {value!r}"
                f" (e.g. {key} = {DEFAULTS[key]})"
            )
    problems += _check_strings(data)
    if "smtp" in data:
        problems += smtp_problems(data["smtp"])
    extra = data.get("extra", {})
    if not isinstance(extra, dict) or not all(isinstance(v, str) for v in extra.values()):
        problems.append('extra: must be a table of strings (e.g. [extra] site = "north")')
    return problems


def _check_strings(data: Mapping[str, Any]) -> list[str]:
    problems = []
    agency = data.get("agency")
    if isinstance(agency, str):
        try:
            agency_id(agency, "agency")
        except BalizaError as exc:
            problems.append(f'agency: {exc.detail} (e.g. agency = "{EXAMPLES["agency"]}")')
    url = data.get("public_url", "")
    if isinstance(url, str) and url and not url.startswith(("https://", "http://")):
        problems.append(
            f'public_url: must start with https:// (e.g. public_url = "{EXAMPLES["public_url"]}")'
        )
    console = data.get("console_url", "")
    if isinstance(console, str) and console and not console.startswith(("https://", "http://")):
        problems.append(
            "console_url: must start with https://"
            f' (e.g. console_url = "{EXAMPLES["console_url"]}")'
        )
    db = data.get("database_url", "")
    if isinstance(db, str) and db and not db.startswith(("sqlite", "postgresql")):
        problems.append(
            "database_url: must be a sqlite or postgresql URL"
            f' (e.g. database_url = "{EXAMPLES["database_url"]}")'
        )
    ca = data.get("tls_ca_file", "")
    if isinstance(ca, str) and ca and not Path(ca).is_file():
        problems.append(
            f"tls_ca_file: {ca} is not a readable file"
            f' (e.g. tls_ca_file = "{EXAMPLES["tls_ca_file"]}")'
        )
    proxies = data.get("trusted_proxies", [])
    if isinstance(proxies, list):
        for entry in proxies:
            try:
                ipaddress.ip_network(str(entry).strip(), strict=False)
            except ValueError:
                problems.append(
                    f"trusted_proxies: {entry!r} is not an address or network"
                    f' (e.g. trusted_proxies = ["{EXAMPLES["trusted_proxies"]}"])'
                )
    log_format = data.get("log_format", "text")
    if isinstance(log_format, str) and log_format not in LOG_FORMATS:
        problems.append('log_format: must be "text" or "json" (e.g. log_format = "json")')
    return problems


def to_toml(settings: Mapping[str, Any]) -> str:
    """Flat settings (and the ``extra`` table) as TOML, with a line of help per key."""
    lines = ["# Baliza node settings; every key is described in docs/operations.md.", ""]
    for key, value in settings.items():
        if (
            key not in ("extra", "smtp") and value is not None
        ):  # TOML has no null: absent means unset
            lines.append(f"{key} = {_toml_value(value)}")
    extra = settings.get("extra") or {}
    if extra:
        lines += ["", "[extra]"]
        lines += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in sorted(extra.items())]
    lines += smtp_toml(settings.get("smtp") or {})
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return json.dumps(value)  # a JSON array of strings is a valid TOML array
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"cannot write {value!r} as a TOML setting")
    # A JSON string with ASCII escapes is a valid TOML basic string.
    return str(value) if isinstance(value, int) else json.dumps(value)


def _default(spec: Any) -> Any:
    if spec.default is not MISSING:
        return spec.default
    if spec.default_factory is not MISSING:
        return spec.default_factory()
    return None  # required: agency, name


DEFAULTS: dict[str, Any] = {f.name: _default(f) for f in fields(NodeConfig) if f.name != "data_dir"}
EXAMPLES = {
    "agency": "co.polfa.ctg",
    "name": "POLFA Cartagena",
    "host": "127.0.0.1",
    "public_url": "https://baliza.polfa.example",
    "console_url": "https://baliza.polfa.internal",
    "database_url": "postgresql://baliza@db.internal/baliza",
    "tls_ca_file": "/etc/ssl/certs/ca-certificates.crt",
    "log_format": "json",
    "subscription_auto_admit_programmes": "ccp",
    "subscription_auto_admit_partners": "es.aduanas.alg",
    "nominal_recipients": "es.aduanas.alg",
    "trusted_proxies": "127.0.0.1",
}
