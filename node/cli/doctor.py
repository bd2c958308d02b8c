"""``baliza doctor``: what an operator checks before blaming the network, one line each.

Each check prints ``ok``, ``warn`` or ``FAIL``, its name and what it found
(settings that weaken security are warnings, one per setting);
the exit code is 1 when any check failed, 0 otherwise, so a monitoring system
can run it. It reads the node's files and database directly (the node may be
stopped), asks the node itself on its own listener, and calls each peer's
public ``/healthz`` (reachability, and clock skew from the ``Date`` header)
and, signed with the node's key, its ``/fed/v1/directory`` (is either node
behind?). Nothing it prints carries a secret.

It only reads: it never creates a database (a missing SQLite file is a
failed check, "restore from backup"), never migrates, never changes a mode.
What is wrong at a partner is a warning, not a failure, unless
``--fail-on-peers`` asks: an agency's monitoring must not page its staff for
another agency's outage.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import ssl
import stat
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path

import aiohttp
from sqlalchemy.engine import make_url

from baliza.crypto import AgencyKeys
from baliza.crypto.directory import TrustedDirectory
from baliza.node.cli.schema import schema_state
from baliza.node.cli.support import PASSPHRASE_HELP, data_dir, opt_path
from baliza.node.core.clock import now_ms
from baliza.node.core.config import CONFIG_FILE, NodeConfig
from baliza.node.core.keyring import load_keyring, read_passphrase
from baliza.node.core.trust import Keyring, NodeAddress, Peer, TrustView
from baliza.node.core.weak_settings import weak_settings
from baliza.node.services.directory_sync import load_directory
from baliza.node.services.fedclient import fetch_directory
from baliza.node.services.views.peers import delivery_errors
from baliza.node.storage import Database
from baliza.protocol.errors import BalizaError

DAY_MS = 24 * 3_600_000
KEY_WARN_DAYS = 60
DIRECTORY_WARN_DAYS = 14
DISK_FAIL_BYTES = 512 << 20
DISK_WARN_FRACTION = 0.10
PEER_TIMEOUT_S = 10
CLOCK_WARN_MS = 5000


@dataclass(frozen=True, slots=True)
class Finding:
    """The result of one check."""

    status: str  # "ok", "warn" or "FAIL"
    check: str
    detail: str

    def line(self) -> str:
        return f"{self.status:4}  {self.check}: {self.detail}"


def _days(ms: int) -> str:
    return f"{ms / DAY_MS:.0f} days"


def check_settings(config: NodeConfig) -> list[Finding]:
    """Settings the node accepts but that weaken security: one warning each."""
    weak = weak_settings(config)
    if not weak:
        return [Finding("ok", "settings", "none weakens security")]
    return [Finding("warn", f"setting {w.split(':', 1)[0]}", w.split(": ", 1)[1]) for w in weak]


def check_keys(folder: Path, passphrase_file: Path | None) -> tuple[Finding, Keyring | None]:
    """Every key file opens with the passphrase; the newest is not about to expire."""
    try:
        keyring = load_keyring(folder, read_passphrase(passphrase_file))
    except BalizaError as err:
        return Finding("FAIL", "keys", f"[{err.reason}] {err.detail}"), None
    sets = list(keyring)
    left = keyring.newest.public().valid_until_ms - now_ms()
    detail = f"{len(sets)} key set(s) open; the newest expires in {_days(left)}"
    if left <= 0:
        return Finding("FAIL", "keys", detail + ": rotate now (baliza admin keys rotate)"), keyring
    return Finding("warn" if left < KEY_WARN_DAYS * DAY_MS else "ok", "keys", detail), keyring


def check_disk(folder: Path) -> Finding:
    """Free space where the data folder lives."""
    usage = shutil.disk_usage(folder)
    detail = f"{usage.free >> 20} MiB free of {usage.total >> 20} MiB"
    if usage.free < DISK_FAIL_BYTES:
        return Finding("FAIL", "disk", detail)
    return Finding(
        "warn" if usage.free < usage.total * DISK_WARN_FRACTION else "ok", "disk", detail
    )


def sqlite_file(config: NodeConfig) -> Path | None:
    """The SQLite file the node uses, or None on PostgreSQL."""
    url = make_url(config.db_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        return None
    return Path(url.database)


def check_sqlite_file(config: NodeConfig) -> Finding | None:
    """A SQLite database file that is not there is a loss, not a fresh start.

    Opening it would create an empty one, which ``serve`` then refuses as a
    schema to upgrade, and ``db upgrade`` would make it a node with no
    notices, tokens or directory. Nothing is opened: the remedy is the backup.
    """
    path = sqlite_file(config)
    if path is None or path.is_file():
        return None
    return Finding(
        "FAIL",
        "database",
        f"database file missing: {path}; restore from backup (baliza restore, see"
        " docs/operations.md, 'Backup and restore'); do not run `baliza db upgrade`,"
        " which would start an empty node",
    )


# What is secret in the data folder: the database (notices in clear), the key
# files, the attachments. node.toml may hold a database password.
_PRIVATE_GLOBS = ("baliza.db*", "keys*.enc", CONFIG_FILE, "attachments", "attachments/*")


def check_modes(config: NodeConfig) -> Finding:
    """The data folder and its secret files are the node user's alone.

    A folder made by an older release, or files copied with a permissive
    umask, may leave decrypted notices readable by every local user: that is
    a failure, with the command that repairs it.
    """
    folder = config.data_dir
    paths = [folder, *sorted({p for pattern in _PRIVATE_GLOBS for p in folder.glob(pattern)})]
    sqlite = sqlite_file(config)
    if sqlite is not None and sqlite.parent != folder:
        paths += sorted(sqlite.parent.glob(sqlite.name + "*"))
    open_to_others = []
    foreign = []
    for path in paths:
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue  # a -wal file that went away meanwhile
        if stat.S_IMODE(info.st_mode) & 0o077:
            open_to_others.append(f"{path} {stat.S_IMODE(info.st_mode):04o}")
        if info.st_uid != os.geteuid():
            foreign.append(str(path))
    if open_to_others:
        return Finding(
            "FAIL",
            "modes",
            "readable by other users: "
            + ", ".join(open_to_others[:5])
            + (f" and {len(open_to_others) - 5} more" if len(open_to_others) > 5 else "")
            + f"; run `chmod -R go= {folder}`",
        )
    if foreign:
        return Finding(
            "warn",
            "modes",
            f"not owned by the user running doctor (uid {os.geteuid()}): "
            + ", ".join(foreign[:5])
            + "; run baliza commands as the node's user, and chown what root left",
        )
    return Finding(
        "ok", "modes", f"{folder} and its secret files are private to uid {os.geteuid()}"
    )


async def check_self(session: aiohttp.ClientSession, config: NodeConfig) -> Finding:
    """The node itself answers on its own listener, and it is this node that answers."""
    url = config.local_url + "/healthz"
    try:
        async with session.get(url) as resp:
            body = await resp.json(content_type=None) if resp.status in (200, 503) else {}
            status = resp.status
    except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
        return Finding(
            "FAIL",
            "node",
            f"not answering at {config.local_url} ({type(exc).__name__}): is it running?"
            " (systemctl status baliza; journalctl -u baliza)",
        )
    agency = body.get("agency") if isinstance(body, dict) else None
    if agency != config.agency:
        return Finding(
            "FAIL",
            "node",
            f"{config.local_url} answers HTTP {status} but is not {config.agency}"
            f" ({agency or 'not a Baliza node'}): another service holds the port",
        )
    if status != 200:
        return Finding("FAIL", "node", f"{config.local_url} answers HTTP {status}: {body}")
    return Finding("ok", "node", f"serving at {config.local_url}")


async def check_database(config: NodeConfig) -> tuple[list[Finding], Database | None]:
    """Reachability and migration level; the open database for the checks after it.

    The database is handed on only when its schema is the code's: the checks
    after it read tables an older or empty schema does not have.
    """
    missing = check_sqlite_file(config)
    if missing is not None:
        return [missing], None
    try:
        db = await Database.open(config.db_url)
    except BalizaError as err:
        return [Finding("FAIL", "database", f"[{err.reason}] {err.detail}")], None
    state = await schema_state(db)
    found = [Finding("ok", "database", f"{db.dialect} answers")]
    if not state.current_is_head:
        await db.close()
        return [*found, Finding("FAIL", "schema", state.text)], None
    return [*found, Finding("ok", "schema", state.text)], db


async def check_directory(
    db: Database, config: NodeConfig
) -> tuple[Finding, list[NodeAddress], TrustView]:
    """A directory is in force and not about to expire; the peers it lists."""
    directory = await load_directory(db)
    trust = TrustView(config.agency, directory)
    if directory is None:
        return Finding("FAIL", "directory", "none applied: baliza admin directory apply"), [], trust
    doc = directory.directory
    left = doc.expires_ms - now_ms()
    detail = f"version {doc.version} of {doc.federation}, expires in {_days(left)}"
    peers = [
        NodeAddress(agency=m.agency, url=m.node_url)
        for m in doc.members
        if m.agency != config.agency
    ]
    if left <= 0:
        expired = Finding("FAIL", "directory", detail + ": expired, every envelope is refused")
        return expired, peers, trust
    status = "warn" if left < DIRECTORY_WARN_DAYS * DAY_MS else "ok"
    return Finding(status, "directory", detail), peers, trust


async def compare_directory(
    session: aiohttp.ClientSession, keys: AgencyKeys, peer: Peer, ours: int
) -> Finding:
    """Whether the peer holds the same directory version (a signed request, as the node makes)."""
    name = f"directory {peer.agency}"
    try:
        theirs = TrustedDirectory.restore(await fetch_directory(session, keys, peer)).directory
    except BalizaError as err:
        return Finding("warn", name, f"could not compare: [{err.reason}] {err.detail}")
    if theirs.version > ours:
        return Finding(
            "warn",
            name,
            f"the peer holds version {theirs.version}, this node {ours}: the node"
            " pulls it every pull_interval_ms; if it stays behind, apply it by hand",
        )
    if theirs.version < ours:
        return Finding("warn", name, f"the peer is behind: version {theirs.version}, ours {ours}")
    return Finding("ok", name, f"same version {ours}")


def clock_finding(agency: str, skew: int, skew_ms: int, problem: str) -> Finding:
    """One peer's clock against ours, with the thresholds and what to do past them.

    ``problem`` is the status past half of ``request_skew_ms`` (``warn``, or
    ``FAIL`` under ``--fail-on-peers``): either clock may be the wrong one.
    """
    name, said = f"clock {agency}", f"skew {skew / 1000:+.1f} s"
    if abs(skew) > skew_ms // 2:
        return Finding(
            problem,
            name,
            f"{said}, over half of request_skew_ms ({skew_ms // 2000} s; requests are"
            f" refused at {skew_ms // 1000} s): check NTP on both machines"
            " (timedatectl; chronyc tracking); if every peer shows it, ours is wrong",
        )
    if abs(skew) > CLOCK_WARN_MS:
        return Finding(
            "warn",
            name,
            f"{said}, over {CLOCK_WARN_MS // 1000} s (refused at {skew_ms // 1000} s):"
            " check NTP on both machines (timedatectl)",
        )
    return Finding("ok", name, f"{said} (warn over {CLOCK_WARN_MS // 1000} s)")


def own_clock(findings: list[Finding], skews: list[int], skew_ms: int) -> list[Finding]:
    """When every peer (two or more) sees our clock off the same way, ours is the wrong one."""
    if len(skews) < 2 or not all(abs(s) > skew_ms // 2 for s in skews):
        return findings
    if not (all(s > 0 for s in skews) or all(s < 0 for s in skews)):
        return findings
    off = -sorted(skews)[len(skews) // 2] / 1000
    return [
        *findings,
        Finding(
            "FAIL",
            "clock",
            f"this node's clock is off by about {off:+.0f} s (every peer agrees; requests"
            f" are refused at {skew_ms // 1000} s): fix NTP here (timedatectl set-ntp true;"
            " chronyc tracking)",
        ),
    ]


async def check_peer(
    session: aiohttp.ClientSession,
    peer: NodeAddress,
    last_error: str | None,
    skew_ms: int,
    problem: str = "warn",
) -> tuple[list[Finding], int | None]:
    """The peer's /healthz answers; its clock agrees with ours; its last delivery error.

    What is wrong there is ``problem`` (``warn``, or ``FAIL`` when asked);
    returns the findings and the measured skew (None without an answer).
    """
    name = f"peer {peer.agency}"
    findings = []
    try:
        sent = time.time()
        async with session.get(peer.url.rstrip("/") + "/healthz") as resp:
            received = time.time()
            date = resp.headers.get("Date", "")
            if resp.status != 200:
                findings.append(Finding(problem, name, f"{peer.url} answers HTTP {resp.status}"))
            else:
                findings.append(Finding("ok", name, f"{peer.url} answers"))
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        findings.append(
            Finding(problem, name, f"{peer.url} unreachable: {type(exc).__name__} {exc}")
        )
        date = ""
    skew = None
    if date:
        # Date has one-second resolution: compare with the middle of the exchange.
        theirs = parsedate_to_datetime(date).timestamp()
        skew = round((theirs + 0.5 - (sent + received) / 2) * 1000)
        findings.append(clock_finding(peer.agency, skew, skew_ms, problem))
    if last_error:
        findings.append(Finding("warn", f"delivery {peer.agency}", f"last error: {last_error}"))
    return findings, skew


async def diagnose(
    config: NodeConfig, passphrase_file: Path | None, *, fail_on_peers: bool = False
) -> list[Finding]:
    """Run every check in order; later checks are skipped when what they need failed."""
    findings = [Finding("ok", "config", f"{config.agency} in {config.data_dir}")]
    findings += check_settings(config)
    keys, keyring = await asyncio.to_thread(check_keys, config.data_dir, passphrase_file)
    findings.append(keys)
    findings.append(check_disk(config.data_dir))
    findings.append(check_modes(config))
    context = ssl.create_default_context(cafile=config.tls_ca_file or None)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=context),
        timeout=aiohttp.ClientTimeout(total=PEER_TIMEOUT_S),
    ) as session:
        findings.append(await check_self(session, config))
        found, db = await check_database(config)
        findings += found
        if db is None:
            return findings
        try:
            directory, peers, trust = await check_directory(db, config)
            findings.append(directory)
            errors = await delivery_errors(db)
        finally:
            await db.close()
        problem = "FAIL" if fail_on_peers else "warn"
        checks: list[Awaitable[tuple[list[Finding], int | None]]] = [
            check_peer(session, peer, errors.get(peer.agency), config.request_skew_ms, problem)
            for peer in peers
        ]
        skews = []
        for result, skew in await asyncio.gather(*checks):
            findings += result
            if skew is not None:
                skews.append(skew)
        findings = own_clock(findings, skews, config.request_skew_ms)
        if keyring is not None and trust.directory is not None:
            ours = trust.directory.directory.version
            signing = keyring.for_signing(trust.directory, now_ms())
            compared = [
                compare_directory(session, signing, peer, ours) for peer in trust.peers(now_ms())
            ]
            findings += await asyncio.gather(*compared)
    return findings


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check the node, its files, database, directory and peers; exit 1 on any failure."""
    try:
        config = NodeConfig.load(data_dir(args))
    except BalizaError as err:
        print(Finding("FAIL", "config", f"[{err.reason}] {err.detail}").line())
        return 1
    findings = asyncio.run(
        diagnose(config, opt_path(args.passphrase_file), fail_on_peers=args.fail_on_peers)
    )
    for finding in findings:
        print(finding.line())
    return 1 if any(f.status == "FAIL" for f in findings) else 0


def add_doctor_command(
    command: Callable[..., argparse.ArgumentParser],
    data: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Register ``baliza doctor``."""
    p = command(
        "doctor", cmd_doctor, "check keys, modes, disk, the node, database, directory, peers, clock"
    )
    data(p)
    p.add_argument(
        "--fail-on-peers",
        action="store_true",
        help="exit 1 when a partner is unreachable or its clock is off (default: a warning)",
    )
    p.add_argument("--passphrase-file", help=PASSPHRASE_HELP)
