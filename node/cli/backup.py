"""``baliza backup`` and ``baliza restore``: one consistent snapshot of a node, and back.

A backup is a folder: the database (SQLite's online backup API, which copies
a consistent state while the node keeps writing; ``pg_dump -Fc`` for
PostgreSQL), every key file, the settings and the member card, and a
``manifest.json`` with each file's SHA-256. It is written under a temporary
name and renamed when complete, so a half-written backup never looks like a
backup. Restore checks the manifest, refuses a folder that already holds a
node, and refuses a PostgreSQL database that already holds a schema.

The backup holds decrypted notices (the database) in clear and the keys
encrypted under the passphrase; the passphrase is never in it.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from baliza.node.cli.schema import schema_state
from baliza.node.cli.support import data_dir
from baliza.node.core.clock import now_ms
from baliza.node.core.config import (
    CONFIG_FILE,
    KEYS_FILE,
    LEGACY_CONFIG_FILE,
    PUBLIC_FILE,
    NodeConfig,
)
from baliza.node.storage import Database
from baliza.protocol.errors import ReasonCode, UsageError

MANIFEST = "manifest.json"
SQLITE_COPY = "database.sqlite"
PG_DUMP = "database.pgdump"
PREFIX = "baliza-backup-"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_sqlite(config: NodeConfig) -> bool:
    return make_url(config.db_url).get_backend_name() == "sqlite"


def _libpq_url(url: str) -> str:
    """The URL for pg_dump/pg_restore: no SQLAlchemy driver suffix."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run(args: list[str], what: str) -> None:
    tool = shutil.which(args[0])
    if tool is None:
        raise UsageError(ReasonCode.BAD_CONFIG, f"{args[0]} not found: install postgresql-client")
    # A fixed PostgreSQL tool with arguments built here; no shell.
    done = subprocess.run(  # noqa: S603
        [tool, *args[1:]], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        complaint = done.stderr.strip().splitlines()[-1:] or ["no message"]
        raise UsageError(ReasonCode.STORAGE_FAILED, f"{what} failed: {complaint[0]}")


def _node_files(folder: Path) -> list[Path]:
    names = [CONFIG_FILE, LEGACY_CONFIG_FILE, KEYS_FILE, PUBLIC_FILE]
    files = [folder / n for n in names if (folder / n).exists()]
    return files + sorted(folder.glob("keys-*.enc"))


async def _revision(config: NodeConfig) -> str | None:
    db = await Database.open(config.db_url)
    try:
        return (await schema_state(db)).current
    finally:
        await db.close()


def write_backup(config: NodeConfig, out_root: Path) -> Path:
    """Write one backup folder under ``out_root``; return its path."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    final = out_root / f"{PREFIX}{config.agency}-{stamp}"
    partial = final.with_name(final.name + ".partial")
    if final.exists():
        raise UsageError(ReasonCode.CONFLICT, f"{final} exists: one backup per second")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True, mode=0o700)
    revision = asyncio.run(_revision(config))
    if _is_sqlite(config):
        source = sqlite3.connect(str(make_url(config.db_url).database))
        target = sqlite3.connect(partial / SQLITE_COPY)
        try:
            with target:
                source.backup(target)
        finally:
            target.close()
            source.close()
        database = SQLITE_COPY
    else:
        database = PG_DUMP
        dump = ["pg_dump", "-Fc", "--no-owner", "--no-privileges", "-f", str(partial / PG_DUMP)]
        _run([*dump, _libpq_url(config.db_url)], "pg_dump")
    for path in _node_files(config.data_dir):
        shutil.copy2(path, partial / path.name)
    files = {p.name: _sha256(p) for p in sorted(partial.iterdir())}
    manifest = {
        "agency": config.agency,
        "created_ms": now_ms(),
        "database": database,
        "schema_revision": revision,
        "files": files,
    }
    (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    partial.rename(final)
    return final


def prune(out_root: Path, agency: str, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest complete backups of ``agency``; return the deleted."""
    backups = sorted(out_root.glob(f"{PREFIX}{agency}-*[0-9]Z"))
    doomed = backups[:-keep] if keep > 0 else []
    for path in doomed:
        shutil.rmtree(path)
    return doomed


def read_manifest(backup: Path) -> dict[str, Any]:
    """The manifest, with every file checked against its SHA-256."""
    try:
        manifest: dict[str, Any] = json.loads((backup / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(ReasonCode.BAD_CONFIG, f"{backup} is not a backup: {exc}") from None
    for name, digest in manifest["files"].items():
        path = backup / name
        if not path.is_file() or _sha256(path) != digest:
            raise UsageError(ReasonCode.BAD_CONFIG, f"{path}: missing or altered since the backup")
    return manifest


def restore_backup(backup: Path, folder: Path, database_url: str = "") -> NodeConfig:
    """Bring a backup back into an empty ``folder`` (and an empty database); return its config."""
    manifest = read_manifest(backup)
    if _node_files(folder) or (folder / "baliza.db").exists():
        raise UsageError(
            ReasonCode.CONFLICT, f"{folder} already holds a node: restore into a new folder"
        )
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name in manifest["files"]:
        if name not in (SQLITE_COPY, PG_DUMP):
            shutil.copy2(backup / name, folder / name)
    config = NodeConfig.load(folder, environ={})
    if manifest["database"] == SQLITE_COPY:
        # Always into the new folder: a database_url naming the old file is dropped,
        # so a restore never writes over the database it is meant to replace.
        config = replace(config, database_url="")
        shutil.copy2(backup / SQLITE_COPY, folder / "baliza.db")
    else:
        config = replace(config, database_url=database_url or config.database_url)
        if asyncio.run(_revision(config)) is not None:
            raise UsageError(
                ReasonCode.CONFLICT, "the target database already holds a schema: use an empty one"
            )
        restore = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error"]
        _run([*restore, "-d", _libpq_url(config.db_url), str(backup / PG_DUMP)], "pg_restore")
    if (folder / LEGACY_CONFIG_FILE).exists():
        (folder / LEGACY_CONFIG_FILE).unlink()
    config.save()
    return config


def cmd_backup(args: argparse.Namespace) -> int:
    """Write a consistent backup of the node; keep the newest ``--keep``."""
    config = NodeConfig.load(data_dir(args))
    out_root = Path(args.out).resolve()
    path = write_backup(config, out_root)
    print(f"backup written to {path}")
    for old in prune(out_root, config.agency, args.keep):
        print(f"  removed old backup {old.name}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Restore a backup into a new data folder (and an empty database)."""
    config = restore_backup(Path(args.backup).resolve(), data_dir(args), args.database_url or "")
    print(f"restored {config.agency} into {config.data_dir}")
    print("  read docs/operations.md, 'What a restore brings back', before starting it")
    return 0


def add_backup_commands(
    command: Callable[..., argparse.ArgumentParser],
    data: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Register ``baliza backup`` and ``baliza restore``."""
    p = command("backup", cmd_backup, "write a consistent backup (database, keys, settings)")
    data(p)
    p.add_argument("--out", required=True, help="folder that receives the backup folders")
    p.add_argument("--keep", type=int, default=0, help="keep only the N newest (0: keep all)")
    p = command("restore", cmd_restore, "restore a backup into a new data folder")
    data(p)
    p.add_argument("backup", help="a backup folder written by baliza backup")
    p.add_argument("--database-url", help="an empty PostgreSQL database (PostgreSQL backups)")
