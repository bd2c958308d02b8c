"""``baliza doctor`` on real nodes: all well, then one broken thing at a time.

The nodes run in this test's event loop, so doctor runs as a child process
(asynchronously) while they keep answering. The test process works under
umask 077, as ``baliza`` and the systemd unit do, so the files the nodes
create have the modes an installed node's have.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import harness_path  # noqa: F401  (tests/node on the path)
import pytest
from node_harness import TestNode, free_port, introduce, make_node
from notice_json import publish_body

from baliza.node.cli.doctor import Finding, clock_finding, own_clock
from baliza.node.core.keyring import save_keys

PASS = "correct horse battery"


@pytest.fixture(autouse=True)
def private_umask() -> Iterator[None]:
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


async def doctor(node: TestNode, *flags: str, **env: str) -> tuple[int, dict[str, str]]:
    """Run ``baliza doctor`` on the node's folder; its exit code and lines by check name."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "baliza.node.cli.main",
        "doctor",
        *flags,
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
        for check in ("config", "keys", "modes", "node", "database", "schema", "directory"):
            assert lines[check].startswith("ok"), (check, lines)
        assert lines["node"] == f"ok serving at http://127.0.0.1:{a.config.port}", lines
        assert lines["clock es.aduanas.alg"].endswith("(warn over 5 s)"), lines
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
        # Another agency's outage does not page this one: a warning, exit 0 ...
        code, lines = await doctor(a)
        assert code == 0, lines
        assert lines["peer es.aduanas.alg"].startswith("warn"), lines
        assert "unreachable" in lines["peer es.aduanas.alg"], lines
        assert lines["delivery es.aduanas.alg"].startswith("warn last error: "), lines
        # ... unless asked.
        code, lines = await doctor(a, "--fail-on-peers")
        assert code == 1, lines
        assert lines["peer es.aduanas.alg"].startswith("FAIL"), lines

        # Another service on the node's port is not the node.
        await b.start()
        code, lines = await doctor(a, BALIZA_PORT=str(b.config.port))
        assert code == 1, lines
        assert lines["node"].startswith(f"FAIL http://127.0.0.1:{b.config.port} answers"), lines
        assert "is not co.polfa.ctg (es.aduanas.alg)" in lines["node"], lines
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


async def test_a_missing_database_file_is_reported_and_not_created(tmp_path: Path) -> None:
    """The node's own SQLite file gone: every check line, no crash, no empty database."""
    a = on_disk(make_node(tmp_path, "co.polfa.ctg", ""))  # SQLite in the data folder
    await a.start()
    await a.stop()
    database = a.config.data_dir / "baliza.db"
    assert database.is_file()
    for path in a.config.data_dir.glob("baliza.db*"):
        path.unlink()
    code, lines = await doctor(a)
    assert code == 1, lines
    assert list(lines) == ["config", "settings", "keys", "disk", "modes", "node", "database"], lines
    assert lines["database"].startswith(f"FAIL database file missing: {database}"), lines
    assert "restore from backup" in lines["database"], lines
    assert "not answering" in lines["node"], lines
    assert not database.exists()  # doctor only reads
    assert list(a.config.data_dir.glob("baliza.db*")) == []


async def test_files_other_users_can_read_fail_with_the_remedy(tmp_path: Path) -> None:
    a = on_disk(make_node(tmp_path, "co.polfa.ctg", ""))
    await a.start()
    try:
        code, lines = await doctor(a)
        assert lines["modes"].startswith("ok"), lines
        database = a.config.data_dir / "baliza.db"
        database.chmod(0o644)  # as an old release left it
        code, lines = await doctor(a)
        assert code == 1, lines
        assert lines["modes"] == (
            f"FAIL readable by other users: {database} 0644; run `chmod -R go= {a.config.data_dir}`"
        ), lines
        database.chmod(0o600)
        a.config.data_dir.chmod(0o755)
        code, lines = await doctor(a)
        assert code == 1 and f"{a.config.data_dir} 0755" in lines["modes"], lines
        a.config.data_dir.chmod(0o700)
        code, lines = await doctor(a)
        assert stat.S_IMODE(database.stat().st_mode) == 0o600  # doctor changed nothing
        assert lines["modes"].startswith("ok"), lines
    finally:
        await a.stop()


def test_clock_lines_state_the_threshold_and_the_remedy() -> None:
    skew_ms = 300_000
    ok = clock_finding("es.aduanas.alg", 1_200, skew_ms, "warn")
    assert ok.line() == "ok    clock es.aduanas.alg: skew +1.2 s (warn over 5 s)"
    near = clock_finding("es.aduanas.alg", -9_000, skew_ms, "warn")
    assert near.status == "warn" and "over 5 s (refused at 300 s)" in near.detail
    far = clock_finding("es.aduanas.alg", 200_000, skew_ms, "warn")
    assert far.status == "warn"
    assert "over half of request_skew_ms (150 s; requests are refused at 300 s)" in far.detail
    assert "check NTP on both machines" in far.detail
    assert clock_finding("es.aduanas.alg", 200_000, skew_ms, "FAIL").status == "FAIL"
    # Every peer sees this node off the same way: ours is the wrong clock, a failure.
    base = [Finding("ok", "config", "x")]
    mine = own_clock(base, [-200_000, -210_000, -190_000], skew_ms)
    assert mine[-1].status == "FAIL" and mine[-1].check == "clock"
    assert "this node's clock is off by about +200 s" in mine[-1].detail
    assert own_clock(base, [-200_000, 200_000], skew_ms) == base  # they disagree
    assert own_clock(base, [-200_000], skew_ms) == base  # one peer cannot tell whose
