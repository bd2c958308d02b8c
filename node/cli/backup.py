"""``baliza backup`` and ``baliza restore``: one consistent snapshot of a node, and back.

A backup is a folder: the database (SQLite's online backup API, which copies
a consistent state while the node keeps writing; ``pg_dump -Fc`` for
PostgreSQL), every key file, the settings and the member card, the
attachments (``attachments/``: the photos and documents notices list, which
are evidence its recipients fetch from this node and which the database does
not hold), and a ``manifest.json`` with each file's SHA-256. It is written
under a temporary name and renamed when complete, so a half-written backup
never looks like a backup. Restore checks the manifest (its shape, every
file, and that its schema is one this code knows), refuses a folder that
already holds a node and a PostgreSQL database that already holds a schema,
and on any failure leaves neither a folder nor files behind.

The backup holds decrypted notices (the database) in clear and the keys
encrypted under the passphrase; the passphrase is never in it.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from baliza.node.cli.schema import known_revision, schema_state
from baliza.node.cli.support import data_dir, undo_on_failure
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
ATTACHMENTS = "attachments"
# The names a manifest may list: plain files of the data folder, and
# attachments named by their content's hash. Nothing else, so a crafted
# manifest cannot make restore read or write outside the two folders.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*|attachments/[0-9a-f]{64}")


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


def _attachments(folder: Path) -> list[Path]:
    """The attachment files held (not the ``.upload-`` files still being written)."""
    store = folder / ATTACHMENTS
    if not store.is_dir():
        return []
    return sorted(
        p for p in store.iterdir() if p.is_file() and _NAME.fullmatch(f"{ATTACHMENTS}/{p.name}")
    )


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
    held = _attachments(config.data_dir)
    if held:
        (partial / ATTACHMENTS).mkdir(mode=0o700)
    for path in held:
        # Content-addressed and never rewritten: a copy made while the node
        # runs is whole (a file appears under its hash only once complete).
        shutil.copy2(path, partial / ATTACHMENTS / path.name)
    files = {
        p.relative_to(partial).as_posix(): _sha256(p)
        for p in sorted(partial.rglob("*"))
        if p.is_file()
    }
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


def _not_a_backup(backup: Path, why: str) -> UsageError:
    return UsageError(ReasonCode.BAD_CONFIG, f"{backup} is not a usable backup: {why}")


def read_manifest(backup: Path) -> dict[str, Any]:
    """The manifest, its shape checked, with every file checked against its SHA-256.

    A schema revision this code does not know (a backup written by a newer
    release) is refused here, before anything is written, not at ``serve``.
    """
    try:
        manifest = json.loads((backup / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise _not_a_backup(backup, str(exc)) from None
    if not isinstance(manifest, dict):
        raise _not_a_backup(backup, f"{MANIFEST} must hold a JSON object")
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        raise _not_a_backup(backup, f"{MANIFEST} has no 'files' table (name: SHA-256)")
    if manifest.get("database") not in (SQLITE_COPY, PG_DUMP) or manifest["database"] not in files:
        raise _not_a_backup(backup, f"{MANIFEST} names no database file it lists")
    for name in files:
        if _NAME.fullmatch(name) is None or name == MANIFEST:
            raise _not_a_backup(backup, f"{MANIFEST} lists {name!r}, not a file a backup holds")
    revision = manifest.get("schema_revision")
    if revision is not None and not known_revision(str(revision)):
        raise UsageError(
            ReasonCode.STORAGE_FAILED,
            f"{backup} holds a database at schema {revision}, which this code does not know:"
            " it was written by a newer Baliza; restore it with that release",
        )
    for name, digest in files.items():
        path = backup / name
        if not path.is_file() or _sha256(path) != digest:
            raise UsageError(ReasonCode.BAD_CONFIG, f"{path}: missing or altered since the backup")
    return manifest


def restore_backup(backup: Path, folder: Path, database_url: str = "") -> NodeConfig:
    """Bring a backup back into an empty ``folder`` (and an empty database); return its config.

    On any failure what this call created is removed again (the folder, if it
    did not exist; else the files it put there), so trying again is not met
    with "already holds a node"; a PostgreSQL restore runs in one transaction.
    """
    manifest = read_manifest(backup)
    if _node_files(folder) or (folder / "baliza.db").exists() or (folder / ATTACHMENTS).exists():
        raise UsageError(
            ReasonCode.CONFLICT, f"{folder} already holds a node: restore into a new folder"
        )
    with undo_on_failure(folder):
        return _restore_into(backup, manifest, folder, database_url)


def _restore_into(
    backup: Path, manifest: dict[str, Any], folder: Path, database_url: str
) -> NodeConfig:
    for name in manifest["files"]:
        if name not in (SQLITE_COPY, PG_DUMP):
            (folder / name).parent.mkdir(mode=0o700, exist_ok=True)
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
        restore = ["pg_restore", "--no-owner", "--no-privileges", "--single-transaction"]
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
    p = command(
        "backup", cmd_backup, "write a consistent backup (database, keys, settings, attachments)"
    )
    data(p)
    p.add_argument("--out", required=True, help="folder that receives the backup folders")
    p.add_argument("--keep", type=int, default=0, help="keep only the N newest (0: keep all)")
    p = command("restore", cmd_restore, "restore a backup into a new data folder")
    data(p)
    p.add_argument("backup", help="a backup folder written by baliza backup")
    p.add_argument("--database-url", help="an empty PostgreSQL database (PostgreSQL backups)")
