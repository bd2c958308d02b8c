"""The ``baliza`` command: real processes, real files, one-line errors, nothing lost to kill -9."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import aiohttp
import pytest
from node_harness import free_port
from notice_json import publish_body

from baliza.node.cli.client import ApiClient
from baliza.node.cli.main import main
from baliza.node.core.clock import now_ms
from baliza.node.core.keyring import load_keyring

PASS = "correct horse battery"


@pytest.fixture(autouse=True)
def passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BALIZA_PASSPHRASE", PASS)


def run(*args: str) -> tuple[int, str, str]:
    """Run ``baliza`` in a child process, as an operator would."""
    proc = subprocess.run(
        [sys.executable, "-m", "baliza.node.cli.main", *args],
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


@pytest.mark.slow  # a child process per command: ~30 s
def test_every_command_has_help() -> None:
    for command in (
        [],
        ["init"],
        ["serve"],
        ["publish"],
        ["feed"],
        ["status"],
        ["tokens", "create"],
        *(["users", a] for a in ("add", "list", "disable", "reset")),
        ["db", "upgrade"],
        ["demo"],
        *(["admin", "directory", a] for a in ("init", "propose", "sign", "apply", "show", "diff")),
        *(["admin", "keys", a] for a in ("generate", "rotate", "revoke", "list")),
        *(["admin", "peers", a] for a in ("block", "unblock", "list")),
        ["admin", "events"],
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


def apply_offline(node: Path, signed: Path, fingerprint: str | None = None) -> int:
    """``baliza admin directory apply --offline`` on a stopped node."""
    pin = ["--fingerprint", fingerprint] if fingerprint else []
    args = ["admin", "directory", "apply", "--offline", "--data-dir", str(node), *pin]
    return main([*args, str(signed)])


def found_federation(
    tmp_path: Path, nodes: list[Path], capsys: pytest.CaptureFixture[str]
) -> tuple[Path, str]:
    """Administrator keys, a founding proposal for ``nodes``, signed by 2 of 3."""
    admins = []
    for agency in ("ec.admin", "co.admin", "es.admin"):
        key = tmp_path / f"{agency}.key"
        assert main(["admin", "keys", "generate", "--agency", agency, "--out", str(key)]) == 0
        admins += ["--admin", str(key.with_suffix(".pub.json"))]
    proposal = tmp_path / "directory.bin"
    members = [arg for n in nodes for arg in ("--member", str(n / "public.json"))]
    capsys.readouterr()
    assert (
        main(
            [
                "admin",
                "directory",
                "init",
                "--federation",
                "test",
                *members,
                *admins,
                "--threshold",
                "2",
                "--out",
                str(proposal),
            ]
        )
        == 0
    )
    fingerprint = capsys.readouterr().out.strip().splitlines()[-1].removeprefix("fingerprint: ")
    for agency in ("ec.admin", "co.admin"):
        assert (
            main(
                [
                    "admin",
                    "directory",
                    "sign",
                    str(proposal),
                    "--key",
                    str(tmp_path / f"{agency}.key"),
                ]
            )
            == 0
        )
    return proposal, fingerprint


def test_directory_admission_checks_fingerprints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ctg = init(tmp_path, "co.polfa.ctg", free_port())
    alg = init(tmp_path, "es.aduanas.alg", free_port())
    # A card with another agency's keys, or whose fingerprint does not match: refused.
    public = json.loads((alg / "public.json").read_text())
    other = json.loads((ctg / "public.json").read_text())
    for name, tampered, reason in (
        ("swapped.json", dict(public, keys=other["keys"]), "[inconsistent]"),
        ("misprint.json", dict(public, fingerprint=other["fingerprint"]), "[key_id_mismatch]"),
    ):
        (tmp_path / name).write_text(json.dumps(tampered))
        capsys.readouterr()
        assert (
            main(
                [
                    "admin",
                    "directory",
                    "init",
                    "--federation",
                    "t",
                    "--member",
                    str(tmp_path / name),
                    "--admin",
                    "x",
                    "--threshold",
                    "1",
                    "--out",
                    str(tmp_path / "d"),
                ]
            )
            == 1
        )
        assert reason in capsys.readouterr().err
    proposal, fingerprint = found_federation(tmp_path, [ctg, alg], capsys)
    # The first directory must be pinned, and by its true fingerprint.
    capsys.readouterr()
    assert apply_offline(ctg, proposal) == 1
    assert "[unknown_key]" in capsys.readouterr().err
    assert apply_offline(ctg, proposal, "AAAA BBBB") == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error [" in err, err
    assert apply_offline(ctg, proposal, fingerprint) == 0
    assert main(["admin", "directory", "show", str(proposal)]) == 0
    shown = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert [m["agency"] for m in shown["members"]] == ["co.polfa.ctg", "es.aduanas.alg"]
    assert shown["signatures"] == 2 and shown["threshold"] == 2


def start(data: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "baliza.node.cli.main", "serve", "--data-dir", str(data)],
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
    proposal, fingerprint = found_federation(tmp_path, [gye, alg], capsys)
    for node in (gye, alg):
        assert apply_offline(node, proposal, fingerprint) == 0
    capsys.readouterr()
    tokens = {}
    for name, data in (("gye", gye), ("alg", alg)):
        assert (
            main(["tokens", "create", "--data-dir", str(data), "--name", "t", "--role", "admin"])
            == 0
        )
        tokens[name] = capsys.readouterr().out.strip().splitlines()[-1]
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
    assert "cocaine 412 kg" in out  # as the scenario says it, not 412,000,000 g
    # The sender verified the recipient's inclusion proof of the first notice ...
    assert "ec.polnac.gye    verified co.polfa.ctg's proof: " in out
    # ... and a node made to sign two heads of one size was caught by each of its peers.
    alarms = [line for line in out.splitlines() if "ALARM audit_equivocation" in line]
    assert len(alarms) == 4 and all("signed two heads of size" in a for a in alarms)
    data = Path(out.split("data in ", 1)[1].split()[0])
    assert not data.exists()  # keys and decrypted notices do not outlive the demo


def test_rotation_and_revocation_proposals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ctg = init(tmp_path, "co.polfa.ctg", free_port())
    alg = init(tmp_path, "es.aduanas.alg", free_port())
    v1, fingerprint = found_federation(tmp_path, [ctg, alg], capsys)
    old_card = json.loads((ctg / "public.json").read_text())
    assert main(["admin", "keys", "rotate", "--data-dir", str(ctg)]) == 0
    new_card = json.loads((ctg / "public.json").read_text())
    assert new_card["fingerprint"] != old_card["fingerprint"]
    assert len(list(ctg.glob("keys-*.enc"))) == 1  # the old set is kept for late envelopes
    keyring = load_keyring(ctg, PASS.encode())
    assert len(list(keyring)) == 2
    old_id = bytes(next(iter(keyring)).public().signing_key_id).hex()
    # Version 2: the new key added, the old one retired a day from now (overlap).
    v2 = tmp_path / "v2.bin"
    end = str(now_ms() + 24 * 3600 * 1000)
    capsys.readouterr()
    assert (
        main(
            [
                "admin",
                "directory",
                "propose",
                str(v1),
                "--add-key",
                str(ctg / "public.json"),
                "--retire-key",
                f"co.polfa.ctg:{old_id[:12]}@{end}",
                "--out",
                str(v2),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "version 2" in out
    # Version 3: the old key revoked as compromised.
    v3 = tmp_path / "v3.bin"
    assert (
        main(
            [
                "admin",
                "keys",
                "revoke",
                str(v2),
                "--revoke",
                f"co.polfa.ctg:{old_id[:12]}@now",
                "--out",
                str(v3),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["admin", "directory", "diff", str(v2), str(v3)]) == 0
    assert "KEY REVOKED: co.polfa.ctg" in capsys.readouterr().out
    # Unsigned, v2 does not apply; signed by two administrators it does, after v1.
    assert apply_offline(ctg, v1, fingerprint) == 0
    assert apply_offline(ctg, v2) == 1
    err = capsys.readouterr().err
    assert "[not_an_administrator]" in err or "[directory_threshold]" in err, err
    for admin in ("ec.admin", "co.admin"):
        assert (
            main(["admin", "directory", "sign", str(v2), "--key", str(tmp_path / f"{admin}.key")])
            == 0
        )
    assert apply_offline(ctg, v2) == 0
    assert "version 2 in force" in capsys.readouterr().out


def test_out_of_range_settings_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    node = init(tmp_path, "co.polfa.ctg", free_port())
    # The settings as an older node.json, which is read when there is no node.toml.
    config = tomllib.loads((node / "node.toml").read_text())
    (node / "node.toml").unlink()
    settings = (
        ("batch_size", 500),
        ("replay_window_ms", 0),
        ("port", -1),
        # Under a second, a lease could end before its push is even sent.
        ("delivery_lease_ms", 10),
    )
    for name, value in settings:
        (node / "node.json").write_text(json.dumps({**config, name: value}))
        capsys.readouterr()
        assert main(["db", "upgrade", "--data-dir", str(node)]) == 1
        err = capsys.readouterr().err
        assert "[bad_config]" in err and name in err, err


def test_a_revoked_token_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    node = init(tmp_path, "co.polfa.ctg", port)
    capsys.readouterr()
    assert (
        main(["tokens", "create", "--data-dir", str(node), "--name", "t", "--role", "admin"]) == 0
    )
    label, token = capsys.readouterr().out.strip().splitlines()
    assert label.startswith("admin token for t")
    assert main(["tokens", "revoke", "--data-dir", str(node), token.split("_")[1]]) == 0
    assert main(["tokens", "list", "--data-dir", str(node)]) == 0
    assert "revoked at" in capsys.readouterr().out
    assert main(["tokens", "revoke", "--data-dir", str(node), "nosuchtoken"]) == 1
    assert "[not_found]" in capsys.readouterr().err
    asyncio.run(refused_with(port, node, token))


async def refused_with(port: int, node: Path, token: str) -> None:
    server = start(node)
    try:
        await healthy(f"http://127.0.0.1:{port}")
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"http://127.0.0.1:{port}/api/v1/notices",
                headers={"Authorization": f"Bearer {token}"},
            ) as resp,
        ):
            assert resp.status == 401
            assert (await resp.json())["error"]["reason"] == "unauthenticated"
    finally:
        server.kill()
        server.wait()
