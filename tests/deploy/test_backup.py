"""``baliza backup`` of a running node and ``baliza restore`` into a fresh folder.

On both engines: every notice, every key and every attachment of the node at
the time of the backup comes back (a restored sender serves its photos to
recipients again), what happened after it does not (a notice published
later), and what was undone after it is back (a token revoked later is active
again: the runbook says to revoke it again). A restore refuses a folder that
holds a node, a backup whose files changed, a manifest without files or
naming paths outside the folder, and a backup from a newer release; a failed
restore leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import harness_path  # noqa: F401  (tests/node on the path)
import pytest
from conftest import FreshDatabases
from node_harness import TestNode, introduce, make_node
from notice_json import container_for, publish_body
from sqlalchemy import select

from baliza.node.cli.backup import write_backup
from baliza.node.core.clock import now_ms
from baliza.node.core.config import NodeConfig
from baliza.node.core.keyring import load_keyring, save_keys
from baliza.node.services.tokens import withdraw_token
from baliza.node.storage import Database
from baliza.node.storage.models import NoticeRow
from baliza.node.storage.sql import tokens as token_rows

PASS = "correct horse battery"


async def baliza(*args: str) -> tuple[int, str, str]:
    """The ``baliza`` command as a child process (the nodes keep running meanwhile)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "baliza.node.cli.main",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "BALIZA_PASSPHRASE": PASS},
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def notice_ids(url: str) -> set[str]:
    db = await Database.open(url)
    try:
        return await db.run(
            lambda c: set(c.execute(select(NoticeRow.envelope_id)).scalars()), write=False
        )
    finally:
        await db.close()


async def token_active(url: str, token: str) -> bool:
    db = await Database.open(url)
    try:
        found = await db.run(
            partial(token_rows.token_by_id, token_id=token.split("_")[1]), write=False
        )
        assert found is not None
        return found.active
    finally:
        await db.close()


async def wait_for_notices(node: TestNode, count: int) -> None:
    for _ in range(300):  # bounded wait for deliveries
        page = await node.api("analyst").get("/api/v1/notices", {"limit": "100"})
        if len(page["items"]) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{node.agency} holds fewer than {count} notices")


async def test_restore_brings_back_every_notice_and_key(
    tmp_path: Path, database_engine: str, fresh_databases: FreshDatabases
) -> None:
    a = make_node(tmp_path, "co.polfa.ctg", await fresh_databases.url(database_engine))
    b = make_node(tmp_path, "es.aduanas.alg", await fresh_databases.url("sqlite"))
    a.config.save()
    save_keys(a.config.data_dir, a.keys, PASS.encode())
    introduce(a, b)
    await a.start()
    await b.start()
    try:
        for n in range(3):
            body = publish_body(b.agency, [a.agency], grams=1000 + n)
            await b.api().post("/api/v1/notices", body)
        body = publish_body(a.agency, [b.agency], container=container_for(a.agency))
        await a.api().post("/api/v1/notices", body)
        await wait_for_notices(a, 4)
        before = await notice_ids(a.config.db_url)
        assert len(before) == 4

        code, out, err = await baliza(
            "backup", "--data-dir", str(a.config.data_dir), "--out", str(tmp_path / "backups")
        )
        assert code == 0, err
        backup = Path(out.split("backup written to ", 1)[1].strip())

        # After the backup: one more notice, and a token revoked.
        body = publish_body(a.agency, [b.agency], container=container_for(a.agency), grams=7)
        later = await a.api().post("/api/v1/notices", body)
        analyst = a.tokens["analyst"].split("_")[1]
        await withdraw_token(a.ctx.db, analyst, now_ms(), actor="test")
    finally:
        await a.stop()
        await b.stop()

    restored = tmp_path / "restored"
    target = []
    if database_engine == "postgresql":
        target = ["--database-url", await fresh_databases.url("postgresql")]
    code, out, err = await baliza("restore", "--data-dir", str(restored), *target, str(backup))
    assert code == 0, err
    config = NodeConfig.load(restored, environ={})
    assert config.agency == a.agency and config.data_dir == restored
    if database_engine == "sqlite":
        assert config.db_url.endswith(f"{restored}/baliza.db")
    keys = load_keyring(restored, PASS.encode()).newest
    assert keys.public().fingerprint() == a.keys.public().fingerprint()
    assert await notice_ids(config.db_url) == before
    assert later["id"] not in before
    assert await token_active(config.db_url, a.tokens["analyst"])

    # The restored node passes its own checks of schema and keys.
    code, out, _ = await baliza("doctor", "--data-dir", str(restored))
    assert "ok    schema: at" in out and "ok    keys:" in out, out

    # A second restore into the same folder is refused; so is an altered backup.
    code, _, err = await baliza("restore", "--data-dir", str(restored), *target, str(backup))
    assert code == 1 and "[conflict]" in err, err
    (backup / "node.toml").write_text((backup / "node.toml").read_text() + "# edited\n")
    code, _, err = await baliza("restore", "--data-dir", str(tmp_path / "other"), str(backup))
    assert code == 1 and "altered since the backup" in err, err


async def test_backup_keeps_only_the_newest(tmp_path: Path) -> None:
    a = make_node(tmp_path, "co.polfa.ctg", f"sqlite+aiosqlite:///{tmp_path}/a.db")
    a.config.save()
    save_keys(a.config.data_dir, a.keys, PASS.encode())
    db = await Database.open(a.config.db_url)
    await db.upgrade()
    await db.close()
    out_root = tmp_path / "backups"
    for _ in range(3):
        args = ["backup", "--data-dir", str(a.config.data_dir), "--out", str(out_root)]
        code, _, err = await baliza(*args, "--keep", "2")
        assert code == 0, err
        await asyncio.sleep(1.1)  # backup folders are named to the second
    assert len(list(out_root.iterdir())) == 2


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256)) * 8
SHA = hashlib.sha256(JPEG).hexdigest()


async def fetch_photo(node: TestNode, eid: str) -> tuple[int, bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{node.url}/api/v1/notices/{eid}/attachments/{SHA}",
            headers={"Authorization": f"Bearer {node.tokens['analyst']}"},
        ) as resp,
    ):
        return resp.status, await resp.read()


async def test_a_restored_node_serves_its_attachments_to_recipients(
    tmp_path: Path, database_engine: str, fresh_databases: FreshDatabases
) -> None:
    a = make_node(tmp_path, "co.polfa.ctg", await fresh_databases.url(database_engine))
    b = make_node(tmp_path, "es.aduanas.alg", await fresh_databases.url("sqlite"))
    a.config.save()
    save_keys(a.config.data_dir, a.keys, PASS.encode())
    introduce(a, b)
    await a.start()
    await b.start()
    try:
        stored = await a.api().post_bytes("/api/v1/attachments", JPEG, "image/jpeg")
        body = publish_body(a.agency, [b.agency], container=container_for(a.agency))
        body["notice"]["attachments"] = [{**stored, "filename": "doors.jpg"}]
        seizure = (await a.api().post("/api/v1/notices", body))["id"]
        await wait_for_notices(b, 1)
        code, out, err = await baliza(
            "backup", "--data-dir", str(a.config.data_dir), "--out", str(tmp_path / "backups")
        )
        assert code == 0, err
        backup = Path(out.split("backup written to ", 1)[1].strip())
        manifest = json.loads((backup / "manifest.json").read_text())
        assert manifest["files"][f"attachments/{SHA}"] == SHA
    finally:
        await a.stop()
    # The sender's machine is lost; it comes back from the backup, elsewhere.
    restored = tmp_path / "restored"
    target = []
    if database_engine == "postgresql":
        target = ["--database-url", await fresh_databases.url("postgresql")]
    code, _, err = await baliza("restore", "--data-dir", str(restored), *target, str(backup))
    assert code == 0, err
    assert (restored / "attachments" / SHA).read_bytes() == JPEG
    assert stat.S_IMODE((restored / "attachments").stat().st_mode) == 0o700
    back = TestNode(config=NodeConfig.load(restored, environ={}), keys=a.keys)
    await back.start()
    try:
        assert await fetch_photo(back, seizure) == (200, JPEG)
        # A recipient that lost its copy (or never fetched it) gets it from the restored node.
        for stale in (b.config.data_dir / "attachments").glob("*"):
            stale.unlink()
        assert await fetch_photo(b, seizure) == (200, JPEG)
    finally:
        await back.stop()
        await b.stop()


def sqlite_backup(tmp_path: Path) -> Path:
    """A backup of a stopped node on SQLite, written by the command."""
    node = make_node(tmp_path, "co.polfa.ctg", f"sqlite+aiosqlite:///{tmp_path}/n.db")
    node.config.save()
    save_keys(node.config.data_dir, node.keys, PASS.encode())

    async def migrate() -> None:
        db = await Database.open(node.config.db_url)
        await db.upgrade()
        await db.close()

    asyncio.run(migrate())
    config = NodeConfig.load(node.config.data_dir, environ={})
    return write_backup(config, tmp_path / "backups")


def rewrite_manifest(backup: Path, change: Callable[[dict[str, Any]], None]) -> None:
    manifest = json.loads((backup / "manifest.json").read_text())
    change(manifest)
    (backup / "manifest.json").write_text(json.dumps(manifest))


def restore(backup: Path, folder: Path) -> tuple[int, str]:
    command = [sys.executable, "-m", "baliza.node.cli.main", "restore"]
    proc = subprocess.run(
        [*command, "--data-dir", str(folder), str(backup)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.returncode, proc.stderr


def test_a_manifest_without_files_or_naming_outside_paths_is_refused(tmp_path: Path) -> None:
    backup = sqlite_backup(tmp_path)
    target = tmp_path / "restored"
    original = (backup / "manifest.json").read_text()
    rewrite_manifest(backup, lambda m: m.pop("files"))
    code, err = restore(backup, target)
    assert code == 1 and "manifest.json has no 'files' table" in err, err
    assert "internal error" not in err and not target.exists()
    # A crafted manifest cannot make restore write outside the data folder.
    (backup / "manifest.json").write_text(original)
    (tmp_path / "planted").write_text("x")
    escape = "../../planted"
    rewrite_manifest(
        backup, lambda m: m["files"].update({escape: hashlib.sha256(b"x").hexdigest()})
    )
    code, err = restore(backup, target / "deep")
    assert code == 1 and "not a file a backup holds" in err, err
    assert not target.exists()


def test_a_backup_from_a_newer_release_is_refused_at_restore(tmp_path: Path) -> None:
    backup = sqlite_backup(tmp_path)
    rewrite_manifest(backup, lambda m: m.update(schema_revision="9999"))
    target = tmp_path / "restored"
    code, err = restore(backup, target)
    assert code == 1 and "[storage_failed]" in err and "written by a newer Baliza" in err, err
    assert not target.exists()


@pytest.mark.postgres
async def test_a_failed_restore_leaves_nothing_behind_and_can_be_retried(
    tmp_path: Path, fresh_databases: FreshDatabases
) -> None:
    a = make_node(tmp_path, "co.polfa.ctg", await fresh_databases.url("postgresql"))
    a.config.save()
    save_keys(a.config.data_dir, a.keys, PASS.encode())
    await a.start()
    await a.stop()
    code, out, err = await baliza(
        "backup", "--data-dir", str(a.config.data_dir), "--out", str(tmp_path / "backups")
    )
    assert code == 0, err
    backup = Path(out.split("backup written to ", 1)[1].strip())
    target = tmp_path / "restored"
    # Into a database that already holds a schema: refused, after the files were copied.
    used = await fresh_databases.url("postgresql", migrated=True)
    code, _, err = await baliza(
        "restore", "--data-dir", str(target), "--database-url", used, str(backup)
    )
    assert code == 1 and "[conflict]" in err, err
    assert not target.exists()
    # An existing empty folder (systemd's StateDirectory) is left empty, not removed.
    target.mkdir(mode=0o700)
    code, _, err = await baliza(
        "restore", "--data-dir", str(target), "--database-url", used, str(backup)
    )
    assert code == 1 and list(target.iterdir()) == [], err
    empty = await fresh_databases.url("postgresql")
    code, _, err = await baliza(
        "restore", "--data-dir", str(target), "--database-url", empty, str(backup)
    )
    assert code == 0, err
    assert NodeConfig.load(target, environ={}).agency == a.agency
