"""Upgrades: serve refuses a schema older or newer than the code, naming what to run.

A database written at the previous release's migration head (0001) is
upgraded by ``baliza db upgrade`` with its data kept, after which the node
starts (and logs JSON lines with a request id when asked to).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from proxy_support import free_port
from sqlalchemy import text

from baliza.node.cli.main import main
from baliza.node.cli.schema import code_heads
from baliza.node.core.config import NodeConfig
from baliza.node.storage import Database

PASS = "correct horse battery"
PREVIOUS_HEAD = "0001"
SERVE = [sys.executable, "-m", "baliza.node.cli.main", "serve"]


@pytest.fixture(autouse=True)
def passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BALIZA_PASSPHRASE", PASS)


@pytest.fixture
def node(tmp_path: Path) -> Path:
    folder = tmp_path / "node"
    args = ["init", "--data-dir", str(folder), "--agency", "co.polfa.ctg"]
    assert main([*args, "--port", str(free_port())]) == 0
    return folder


async def at_revision(folder: Path, revision: str, *statements: str) -> None:
    """Move the node's database to ``revision`` and run SQL written for that schema."""
    db = await Database.open(NodeConfig.load(folder, environ={}).db_url)
    try:
        await db.downgrade(revision)
        async with db.engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await db.close()


def serve_refusal(folder: Path, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["serve", "--data-dir", str(folder)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "[storage_failed]" in err, err
    return err


def test_serve_refuses_a_database_without_schema(
    node: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(at_revision(node, "base"))
    assert "run `baliza db upgrade`" in serve_refusal(node, capsys)


def test_serve_refuses_a_database_from_a_newer_release(
    node: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    future = "UPDATE alembic_version SET version_num = '9999'"
    asyncio.run(at_revision(node, code_heads()[0], future))
    err = serve_refusal(node, capsys)
    assert "at 9999, which this code does not know" in err and "newer" in err, err
    # db upgrade cannot help either: it refuses rather than guessing.
    assert main(["db", "upgrade", "--data-dir", str(node)]) == 1
    assert "written by a newer Baliza" in capsys.readouterr().err


def serve_until_healthy(folder: Path) -> tuple[subprocess.Popen[str], int]:
    port = NodeConfig.load(folder, environ={}).port
    proc = subprocess.Popen(
        [*SERVE, "--data-dir", str(folder), "--log-format", "json", "-v"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    for _ in range(600):  # bounded: up to a minute for key derivation and start-up
        if proc.poll() is not None:
            raise AssertionError(f"serve exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("serve did not listen")


def test_a_database_at_the_previous_head_is_upgraded_and_keeps_its_data(
    node: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A token row written with the 0001 schema, as the previous release would have.
    old_row = (
        "INSERT INTO api_tokens (id, name, role, token_hash, created_ms)"
        " VALUES ('oldtoken00000001', 'from 0001', 'analyst', x'00', 1)"
    )
    asyncio.run(at_revision(node, PREVIOUS_HEAD, old_row))
    if PREVIOUS_HEAD not in code_heads():
        assert f"at {PREVIOUS_HEAD}, older than" in serve_refusal(node, capsys)
    assert main(["db", "upgrade", "--data-dir", str(node)]) == 0
    head = code_heads()[0]
    said = capsys.readouterr().out
    if head != PREVIOUS_HEAD:  # it says what it did, not "up to date"
        assert said.strip() == f"database migrated from {PREVIOUS_HEAD} to {head}", said
    assert main(["db", "upgrade", "--data-dir", str(node)]) == 0
    said = capsys.readouterr().out
    assert said.strip() == f"database already at {head}, the code's head: nothing to migrate"
    assert main(["tokens", "list", "--data-dir", str(node)]) == 0
    assert "oldtoken00000001" in capsys.readouterr().out

    proc, port = serve_until_healthy(node)
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/healthz", headers={"X-Request-Id": "probe-0123456789"}
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.status == 200
            assert resp.headers["X-Request-Id"] == "probe-0123456789"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any(
        line.get("request_id") == "probe-0123456789" and line.get("path") == "/healthz"
        for line in lines
    ), err
