"""The ``baliza`` command: real processes, real files, one-line errors, nothing lost to kill -9."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from node_harness import free_port
from notice_json import publish_body

from baliza.node.cli import main
from baliza.node.client import ApiClient

PASS = "correct horse battery"


@pytest.fixture(autouse=True)
def passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BALIZA_PASSPHRASE", PASS)


def run(*args: str) -> tuple[int, str, str]:
    """Run ``baliza`` in a child process, as an operator would."""
    proc = subprocess.run(
        [sys.executable, "-m", "baliza.node.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


def init(tmp_path: Path, agency: str, port: int) -> Path:
    data = tmp_path / agency
    assert main(["init", "--data-dir", str(data), "--agency", agency, "--port", str(port)]) == 0
    return data


def test_every_command_has_help() -> None:
    for command in (
        [],
        ["init"],
        ["serve"],
        ["publish"],
        ["feed"],
        ["status"],
        ["tokens", "create"],
        ["peers", "add"],
        ["db", "upgrade"],
        ["demo"],
    ):
        code, out, _ = run(*command, "--help")
        assert code == 0 and "usage: baliza" in out, command


def test_errors_are_one_line_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = init(tmp_path, "co.polfa.ctg", free_port())
    keyfile = (data / "keys.enc").read_bytes()
    assert PASS.encode() not in keyfile and b"PRIVATE" not in keyfile
    capsys.readouterr()
    cases = [
        (["init", "--data-dir", str(data), "--agency", "co.polfa.ctg"], "[conflict]"),
        (["init", "--data-dir", str(tmp_path / "x"), "--agency", "Colombia"], "[bad_agency_id]"),
        (["serve", "--data-dir", str(tmp_path / "nothing")], "[bad_config]"),
        (["status", "--data-dir", str(data)], "[unauthenticated]"),
    ]
    for argv, reason in cases:
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and reason in err and "Traceback" not in err, err
    os.environ["BALIZA_PASSPHRASE"] = "wrong passphrase"
    assert main(["serve", "--data-dir", str(data)]) == 1
    assert "[bad_passphrase]" in capsys.readouterr().err


def test_peer_admission_checks_the_fingerprint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ctg = init(tmp_path, "co.polfa.ctg", free_port())
    alg = init(tmp_path, "es.aduanas.alg", free_port())
    public = json.loads((alg / "public.json").read_text())
    assert (
        main(
            [
                "peers",
                "add",
                "--data-dir",
                str(ctg),
                str(alg / "public.json"),
                "--fingerprint",
                "AAAA-BBBB",
            ]
        )
        == 1
    )
    assert "[key_id_mismatch]" in capsys.readouterr().err
    # A public key file whose keys were swapped no longer matches its fingerprint.
    tampered = dict(public, keys=json.loads((ctg / "public.json").read_text())["keys"])
    (tmp_path / "tampered.json").write_text(json.dumps(tampered))
    assert main(["peers", "add", "--data-dir", str(ctg), str(tmp_path / "tampered.json")]) == 1
    assert (
        main(
            [
                "peers",
                "add",
                "--data-dir",
                str(ctg),
                str(alg / "public.json"),
                "--fingerprint",
                public["fingerprint"],
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["peers", "list", "--data-dir", str(ctg)]) == 0
    assert "es.aduanas.alg" in capsys.readouterr().out


def start(data: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "baliza.node.cli", "serve", "--data-dir", str(data)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    )


async def healthy(url: str, limit_s: float = 30) -> None:
    deadline = time.monotonic() + limit_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url + "/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    pytest.fail(f"{url} did not start")


@pytest.mark.slow
def test_kill_9_of_the_sender_loses_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gye_port, alg_port = free_port(), free_port()
    gye = init(tmp_path, "ec.polnac.gye", gye_port)
    alg = init(tmp_path, "es.aduanas.alg", alg_port)
    assert main(["peers", "add", "--data-dir", str(gye), str(alg / "public.json")]) == 0
    assert main(["peers", "add", "--data-dir", str(alg), str(gye / "public.json")]) == 0
    capsys.readouterr()
    tokens = {}
    for name, data in (("gye", gye), ("alg", alg)):
        assert (
            main(["tokens", "create", "--data-dir", str(data), "--name", "t", "--role", "admin"])
            == 0
        )
        tokens[name] = capsys.readouterr().out.strip()
    asyncio.run(kill_and_restart(gye, alg, gye_port, alg_port, tokens))


async def kill_and_restart(
    gye: Path, alg: Path, gye_port: int, alg_port: int, tokens: dict[str, str]
) -> None:
    sender = start(gye)
    receiver: subprocess.Popen[bytes] | None = None
    try:
        await healthy(f"http://127.0.0.1:{gye_port}")
        api = ApiClient(f"http://127.0.0.1:{gye_port}", tokens["gye"])
        ids = [
            (await api.post("/api/v1/notices", publish_body("ec.polnac.gye", ["es.aduanas.alg"])))[
                "id"
            ]
            for _ in range(10)
        ]
        sender.send_signal(signal.SIGKILL)  # the receiver was never up: all 10 are pending
        sender.wait()
        receiver = start(alg)
        sender = start(gye)
        await healthy(f"http://127.0.0.1:{alg_port}")
        alg_api = ApiClient(f"http://127.0.0.1:{alg_port}", tokens["alg"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            page = await alg_api.get("/api/v1/notices", {"direction": "in"})
            if len(page["items"]) >= 10:
                break
            await asyncio.sleep(0.2)
        assert sorted(i["id"] for i in page["items"]) == sorted(ids)
    finally:
        for proc in (sender, receiver):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.mark.slow
def test_demo_check_passes() -> None:
    code, out, err = run("demo", "--check")
    assert code == 0, err
    assert "Check passed" in out
    assert "es.gc.mad" in out and "received from pa.senan.pty" in out
