"""``baliza backup`` of a running node and ``baliza restore`` into a fresh folder.

On both engines: every notice and every key of the node at the time of the
backup comes back, what happened after it does not (a notice published
later), and what was undone after it is back (a token revoked later is active
again: the runbook says to revoke it again). A restore refuses a folder that
holds a node, and a backup whose files changed.
"""

from __future__ import annotations

import asyncio
import os
import sys
from functools import partial
from pathlib import Path

import harness_path  # noqa: F401  (tests/node on the path)
from conftest import FreshDatabases
from node_harness import TestNode, introduce, make_node
from notice_json import container_for, publish_body
from sqlalchemy import select

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
