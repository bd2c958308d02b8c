"""``baliza doctor`` on real nodes: all well, then one broken thing at a time.

The nodes run in this test's event loop, so doctor runs as a child process
(asynchronously) while they keep answering.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import harness_path  # noqa: F401  (tests/node on the path)
from node_harness import TestNode, free_port, introduce, make_node
from notice_json import publish_body

from baliza.node.core.keyring import save_keys

PASS = "correct horse battery"


async def doctor(node: TestNode, **env: str) -> tuple[int, dict[str, str]]:
    """Run ``baliza doctor`` on the node's folder; its exit code and lines by check name."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "baliza.node.cli.main",
        "doctor",
        "--data-dir",
        str(node.config.data_dir),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "BALIZA_PASSPHRASE": PASS, **env},
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert not err, err
    lines = {}
    for line in out.decode().splitlines():
        status, rest = line.split(maxsplit=1)
        check, detail = rest.split(": ", 1)
        lines[check] = f"{status} {detail}"
    assert proc.returncode is not None
    return proc.returncode, lines


def on_disk(node: TestNode) -> TestNode:
    """Give a harness node what an installed node has on disk: node.toml and key files."""
    node.config.save()
    save_keys(node.config.data_dir, node.keys, PASS.encode())
    return node


async def test_a_healthy_node_passes_and_each_broken_thing_fails(tmp_path: Path) -> None:
    a = on_disk(make_node(tmp_path, "co.polfa.ctg", f"sqlite+aiosqlite:///{tmp_path}/a.db"))
    b = on_disk(make_node(tmp_path, "es.aduanas.alg", f"sqlite+aiosqlite:///{tmp_path}/b.db"))
    introduce(a, b)
    await a.start()
    await b.start()
    try:
        code, lines = await doctor(a)
        assert code == 0, lines
        for check in ("config", "keys", "database", "schema", "directory"):
            assert lines[check].startswith("ok"), (check, lines)
        assert lines["peer es.aduanas.alg"].startswith("ok"), lines
        assert lines["clock es.aduanas.alg"].startswith("ok skew"), lines
        assert lines["directory es.aduanas.alg"] == "ok same version 1", lines
        assert "delivery es.aduanas.alg" not in lines

        # A wrong passphrase.
        code, lines = await doctor(a, BALIZA_PASSPHRASE="not the passphrase")
        assert code == 1 and lines["keys"].startswith("FAIL [bad_passphrase]"), lines

        # A database that does not answer.
        code, lines = await doctor(
            a, BALIZA_DATABASE_URL=f"postgresql://x@127.0.0.1:{free_port()}/x"
        )
        assert code == 1 and lines["database"].startswith("FAIL [storage_failed]"), lines

        # The peer is down, and a notice for it could not be delivered.
        await b.stop()
        await a.api().post("/api/v1/notices", publish_body(a.agency, [b.agency]))
        for _ in range(200):  # bounded: the courier's first attempt fails at once
            status = await a.api("analyst").get("/api/v1/status", {})
            if "failing" in str(status):
                break
            await asyncio.sleep(0.05)
        code, lines = await doctor(a)
        assert code == 1, lines
        assert lines["peer es.aduanas.alg"].startswith("FAIL"), lines
        assert "unreachable" in lines["peer es.aduanas.alg"], lines
        assert lines["delivery es.aduanas.alg"].startswith("warn last error: "), lines
    finally:
        await a.stop()
        await b.stop()


async def test_a_node_without_a_directory_fails_the_directory_check(tmp_path: Path) -> None:
    a = on_disk(make_node(tmp_path, "co.polfa.ctg", f"sqlite+aiosqlite:///{tmp_path}/a.db"))
    await a.start()
    try:
        code, lines = await doctor(a)
    finally:
        await a.stop()
    assert code == 1
    assert lines["directory"] == "FAIL none applied: baliza admin directory apply", lines


async def test_a_broken_config_is_one_failed_check(tmp_path: Path) -> None:
    a = on_disk(make_node(tmp_path, "co.polfa.ctg", f"sqlite+aiosqlite:///{tmp_path}/a.db"))
    code, lines = await doctor(a, BALIZA_PORT="eighty")
    assert code == 1 and list(lines) == ["config"], lines
    assert "BALIZA_PORT" in lines["config"]


async def test_settings_that_weaken_security_are_warned_one_by_one(tmp_path: Path) -> None:
    a = on_disk(make_node(tmp_path, "co.polfa.ctg", f"sqlite+aiosqlite:///{tmp_path}/a.db"))
    await a.start()  # its database, migrated
    await a.stop()
    _, lines = await doctor(a)
    assert lines["settings"] == "ok none weakens security", lines
    # The four settings of issue 17 (item 14), each taken silently before.
    _, lines = await doctor(
        a,
        BALIZA_HOST="0.0.0.0",
        BALIZA_PUBLIC_URL="http://baliza.polfa.example",
        BALIZA_REQUEST_SKEW_MS="3600000",
        BALIZA_PEER_REQUESTS_PER_S="1000000",
    )
    assert "settings" not in lines, lines
    for key in ("host", "public_url", "request_skew_ms", "peer_requests_per_s"):
        assert lines[f"setting {key}"].startswith("warn "), (key, lines)
    assert "every interface" in lines["setting host"]
    assert "not https" in lines["setting public_url"]
