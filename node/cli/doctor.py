"""``baliza doctor``: what an operator checks before blaming the network, one line each.

Each check prints ``ok``, ``warn`` or ``FAIL``, its name and what it found;
the exit code is 1 when any check failed, 0 otherwise, so a monitoring system
can run it. It reads the node's files and database directly (the node may be
stopped) and calls each peer's public ``/healthz`` (reachability, and clock
skew from the ``Date`` header) and, signed with the node's key, its
``/fed/v1/directory`` (is either node behind?). Nothing it prints carries a
secret.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path

import aiohttp

from baliza.crypto import AgencyKeys
from baliza.crypto.directory import TrustedDirectory
from baliza.node.cli.schema import schema_state
from baliza.node.cli.support import PASSPHRASE_HELP, data_dir, opt_path
from baliza.node.core.clock import now_ms
from baliza.node.core.config import NodeConfig
from baliza.node.core.keyring import load_keyring, read_passphrase
from baliza.node.core.trust import Keyring, NodeAddress, Peer, TrustView
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


async def check_database(config: NodeConfig) -> tuple[list[Finding], Database | None]:
    """Reachability and migration level; the open database for the checks after it."""
    try:
        db = await Database.open(config.db_url)
    except BalizaError as err:
        return [Finding("FAIL", "database", f"[{err.reason}] {err.detail}")], None
    state = await schema_state(db)
    status = "ok" if state.current_is_head else "FAIL"
    return [
        Finding("ok", "database", f"{db.dialect} answers"),
        Finding(status, "schema", state.text),
    ], db


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


async def check_peer(
    session: aiohttp.ClientSession, peer: NodeAddress, last_error: str | None, skew_ms: int
) -> list[Finding]:
    """The peer's /healthz answers; its clock agrees with ours; its last delivery error."""
    name = f"peer {peer.agency}"
    findings = []
    try:
        sent = time.time()
        async with session.get(peer.url.rstrip("/") + "/healthz") as resp:
            received = time.time()
            date = resp.headers.get("Date", "")
            if resp.status != 200:
                findings.append(Finding("FAIL", name, f"{peer.url} answers HTTP {resp.status}"))
            else:
                findings.append(Finding("ok", name, f"{peer.url} answers"))
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        findings.append(
            Finding("FAIL", name, f"{peer.url} unreachable: {type(exc).__name__} {exc}")
        )
        date = ""
    if date:
        # Date has one-second resolution: compare with the middle of the exchange.
        theirs = parsedate_to_datetime(date).timestamp()
        skew = round((theirs + 0.5 - (sent + received) / 2) * 1000)
        status = "FAIL" if abs(skew) > skew_ms // 2 else "warn" if abs(skew) > 5000 else "ok"
        findings.append(Finding(status, f"clock {peer.agency}", f"skew {skew / 1000:+.1f} s"))
    if last_error:
        findings.append(Finding("warn", f"delivery {peer.agency}", f"last error: {last_error}"))
    return findings


async def diagnose(config: NodeConfig, passphrase_file: Path | None) -> list[Finding]:
    """Run every check in order; later checks are skipped when what they need failed."""
    findings = [Finding("ok", "config", f"{config.agency} in {config.data_dir}")]
    keys, keyring = await asyncio.to_thread(check_keys, config.data_dir, passphrase_file)
    findings.append(keys)
    findings.append(check_disk(config.data_dir))
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
    context = ssl.create_default_context(cafile=config.tls_ca_file or None)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=context),
        timeout=aiohttp.ClientTimeout(total=PEER_TIMEOUT_S),
    ) as session:
        checks: list[Awaitable[list[Finding]]] = [
            check_peer(session, peer, errors.get(peer.agency), config.request_skew_ms)
            for peer in peers
        ]
        for result in await asyncio.gather(*checks):
            findings += result
        if keyring is not None and trust.directory is not None:
            ours = trust.directory.directory.version
            signing = keyring.for_signing(trust.directory, now_ms())
            compared = [
                compare_directory(session, signing, peer, ours) for peer in trust.peers(now_ms())
            ]
            findings += await asyncio.gather(*compared)
    return findings


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check the node's keys, disk, database, directory and peers; exit 1 on any failure."""
    try:
        config = NodeConfig.load(data_dir(args))
    except BalizaError as err:
        print(Finding("FAIL", "config", f"[{err.reason}] {err.detail}").line())
        return 1
    findings = asyncio.run(diagnose(config, opt_path(args.passphrase_file)))
    for finding in findings:
        print(finding.line())
    return 1 if any(f.status == "FAIL" for f in findings) else 0


def add_doctor_command(
    command: Callable[..., argparse.ArgumentParser],
    data: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Register ``baliza doctor``."""
    p = command("doctor", cmd_doctor, "check keys, database, directory, peers, clock and disk")
    data(p)
    p.add_argument("--passphrase-file", help=PASSPHRASE_HELP)
