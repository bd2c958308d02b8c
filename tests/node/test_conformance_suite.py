"""``baliza conformance`` end to end: green against a real Baliza node, red against a wrong one.

The first test does what docs/conformance.md tells an operator to do, each
step a ``baliza`` process: create a node (SQLite, and PostgreSQL), let the
suite found its federation, apply the directory pinned by the printed
fingerprint, start the node, send member A the notice with its attachment,
and run the suite through the command line; every check must pass and the
JUnit file must count them all. The second runs the suite against a small
aiohttp server that accepts whatever it is sent (a deliberately wrong
target), and requires the suite to say so, check by check.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import msgpack
import pytest
from aiohttp import web
from loopback_support import free_port

from baliza.crypto import AgencyKeys, Suite
from baliza.node.cli.main import main
from baliza.node.conformance.kit import DIRECTORY_FILE, ROLES, Kit
from baliza.node.conformance.prepare import prepare
from baliza.node.conformance.suite import all_checks
from baliza.node.core.clock import now_ms
from baliza.protocol.canonical import encode
from baliza.protocol.federation import MEDIA_TYPE

PASS = "conformance passphrase"
TARGET = "es.aduanas.alg"
LINE = re.compile(r"^(PASS|FAIL)  (\d\d(?: §\d+)?)\s+(\S+)\s")


def baliza(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``baliza`` in a child process, as the target's operator would."""
    return subprocess.run(
        [sys.executable, "-m", "baliza.node.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "BALIZA_PASSPHRASE": PASS},
        check=False,
    )


def ok(*args: str) -> str:
    proc = baliza(*args)
    assert proc.returncode == 0, f"baliza {' '.join(args)}: {proc.stderr}{proc.stdout}"
    return proc.stdout


async def conformance(*args: str) -> tuple[int, list[str]]:
    """``baliza conformance ...`` in a child process; exit code and output lines."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "baliza.node.cli.main",
        "conformance",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 180)
    assert proc.returncode is not None
    return proc.returncode, out.decode().splitlines()


def outcomes(lines: list[str]) -> dict[str, str]:
    """Check name -> PASS or FAIL, from the suite's output."""
    found = {}
    for text in lines:
        match = LINE.match(text)
        if match:
            found[match.group(3)] = match.group(1)
    return found


def listed_checks() -> list[str]:
    """The name of every check the suite has."""
    return [c.name for c in all_checks()]


async def healthy(url: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    async with aiohttp.ClientSession() as session:
        while loop.time() < deadline:
            try:
                async with session.get(url + "/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    pytest.fail(f"{url} did not start")


def junit(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    return root


@pytest.mark.slow  # a child process per operator step
@pytest.mark.timeout(300)  # eight of them, each importing Baliza afresh
async def test_the_suite_passes_against_a_baliza_node(tmp_path: Path, database_url: str) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data, kit = tmp_path / "node", tmp_path / "kit"
    ok("init", "--data-dir", str(data), "--agency", TARGET, "--port", str(port),
       "--database-url", database_url)  # fmt: skip

    # The suite founds the federation and says what the operator must do.
    steps = ok("conformance", "--prepare", str(data / "public.json"), "--as", str(kit))
    fingerprint = re.search(r"Directory fingerprint: ([A-Z2-7 ]+)\n", steps)
    assert fingerprint is not None
    assert f"baliza publish {kit}/notice.json --to {ROLES['a']}" in steps
    assert (kit / "STEPS.txt").read_text() == steps

    # Step 1, node stopped: the directory pinned by the fingerprint printed.
    ok("admin", "directory", "apply", str(kit / DIRECTORY_FILE), "--offline",
       "--fingerprint", fingerprint.group(1), "--data-dir", str(data))  # fmt: skip
    token = ok("tokens", "create", "--data-dir", str(data), "--name", "ops", "--role", "admin")
    token = token.strip().splitlines()[-1]
    node = subprocess.Popen(  # noqa: ASYNC220  (started once; the test then awaits it over HTTP)
        [sys.executable, "-m", "baliza.node.cli.main", "serve", "--data-dir", str(data)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "BALIZA_PASSPHRASE": PASS},
    )
    try:
        await healthy(url)
        # Step 2: member A is sent a notice with an attachment.
        ok("publish", str(kit / "notice.json"), "--to", ROLES["a"],
           "--attach", str(kit / "attachment.txt"), "--url", url, "--token", token)  # fmt: skip
        # Step 3: the suite, twice (a second run must find the node as the first left it).
        report = tmp_path / "conformance.xml"
        for _ in range(2):
            code, lines = await conformance(url, "--as", str(kit), "--junit", str(report))
            results = outcomes(lines)
            failed = [t for t in lines if t.startswith(("FAIL", "      ->"))]
            assert code == 0 and not failed, "\n".join(failed or lines[-5:])
    finally:
        node.terminate()
        try:
            # A loaded CI machine once took more than 30 s to see the node out.
            node.wait(90)
        except subprocess.TimeoutExpired:
            node.kill()  # never leave it running into the next test
            node.wait(10)
            raise

    names = listed_checks()
    assert sorted(results) == sorted(names) and set(results.values()) == {"PASS"}
    areas = {n.split(".")[0] for n in names}
    assert len(names) >= 80 and len(areas) == 7
    assert lines[-1] == f"{len(names)} checks in 7 areas: {len(names)} passed, 0 failed — CONFORMS"
    root = junit(report)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == (
        str(len(names)),
        "0",
        "0",
    )
    suites = root.findall("testsuite")
    assert sorted(s.get("name", "") for s in suites) == sorted(areas)
    cases = root.findall("testsuite/testcase")
    assert len(cases) == len(names) and not root.findall(".//failure")
    assert all(re.fullmatch(r"\S+ \[\d\d( §\d+)?\]", c.get("name", "")) for c in cases)


# -- a target that does not conform ------------------------------------------------------


def _card(tmp_path: Path, port: int) -> Path:
    now = now_ms()
    keys = AgencyKeys.generate(
        TARGET, Suite.CLASSIC, valid_from_ms=now - 1000, valid_until_ms=now + 10**10
    )
    card = {
        "agency": TARGET,
        "name": "A careless implementation",
        "url": f"http://127.0.0.1:{port}",
        "keys": keys.public().to_bytes().hex(),
    }
    path = tmp_path / "public.json"
    path.write_text(json.dumps(card))
    return path


def _id_of(raw: bytes) -> dict[str, str]:
    """The envelope id in a header, read without any check; nothing if it cannot be found."""
    try:
        signed = msgpack.unpackb(msgpack.unpackb(raw)["signed"])
        return {"id": str(msgpack.unpackb(signed["header"])["id"])}
    except Exception:
        return {}


def careless_target(directory: bytes) -> web.Application:
    """A node that checks nothing: every request is fine, every envelope accepted.

    Its one refusal has the right reason code and the wrong status, so the
    suite must compare both.
    """

    async def get_directory(request: web.Request) -> web.Response:
        if request.headers.get("Content-Encoding", "identity") != "identity":
            body = {"error": {"reason": "unsupported_media", "detail": "compressed"}}
            return web.json_response(body, status=400)
        return web.Response(body=directory, content_type=MEDIA_TYPE)

    async def inbox(request: web.Request) -> web.Response:
        try:  # whatever it is sent, it takes: not even the batch is checked
            envelopes = list(msgpack.unpackb(await request.read())["envelopes"])
        except Exception:
            envelopes = [b""]
        results = [
            {"index": i, "outcome": "accepted", **_id_of(raw)} for i, raw in enumerate(envelopes)
        ]
        return web.Response(body=encode({"results": results}), content_type=MEDIA_TYPE)

    app = web.Application(client_max_size=64 << 20)
    app.router.add_get("/fed/v1/directory", get_directory)
    app.router.add_post("/fed/v1/inbox", inbox)
    return app


@asynccontextmanager
async def serving(app: web.Application, port: int) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.mark.slow  # the suite runs as a child process
async def test_the_suite_fails_a_target_that_does_not_conform(tmp_path: Path) -> None:
    port = free_port()
    kit = tmp_path / "kit"
    prepare(_card(tmp_path, port), kit, "http://127.0.0.1:9")
    Kit.load(kit)  # the folder reads back
    report = tmp_path / "careless.xml"
    async with serving(careless_target((kit / DIRECTORY_FILE).read_bytes()), port) as url:
        code, lines = await conformance(
            url, "--as", str(kit), "--only", "requests", "--only", "envelopes",
            "--junit", str(report),
        )  # fmt: skip
    results = outcomes(lines)
    assert code == 1
    # What it does right passes: signed requests answered, a valid envelope accepted.
    for name in ("requests.signed-request-accepted", "envelopes.accepted"):
        assert results[name] == "PASS", name
    # Everything it should refuse is reported, with what it did instead.
    for name in (
        "requests.unsigned",
        "requests.stale-past",
        "requests.not-a-member",
        "requests.forged-origin",
        "requests.oversize-body",
        "envelopes.duplicate",
        "envelopes.bad-signature",
        "envelopes.not-a-recipient",
        "envelopes.unknown-version",
        "envelopes.non-canonical",
        "envelopes.stale",
        "envelopes.receipt",
    ):
        assert results[name] == "FAIL", name
    reasons = "\n".join(lines)
    assert "requests.unsigned" in reasons and "expected HTTP 401 unauthenticated, got HTTP 200" in (
        reasons
    )
    # The right code with the wrong status is no pass.
    assert results["requests.compressed"] == "FAIL"
    assert "expected HTTP 415 unsupported_media, got HTTP 400" in reasons
    assert "expected refused bad_signature, got accepted" in reasons
    failed = sorted(n for n, r in results.items() if r == "FAIL")
    assert lines[-1].endswith(f"{len(failed)} failed — DOES NOT CONFORM")
    root = junit(report)
    assert root.get("failures") == str(len(failed))
    assert root.get("tests") == str(len(results))
    failing_cases = [
        c.get("name", "").split()[0]
        for c in root.findall("testsuite/testcase")
        if c.find("failure") is not None
    ]
    assert sorted(failing_cases) == failed


def test_list_names_every_check_with_its_section(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conformance", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) >= 80
    assert all(re.match(r"^\d\d( §\d+)?\s+[a-z]+\.[a-z0-9-]+\s+\S", t) for t in lines), lines[:3]
    assert main(["conformance", "--list", "--only", "channels"]) == 0
    only = capsys.readouterr().out.splitlines()
    assert only and all(" channels." in t for t in only)
    with pytest.raises(SystemExit) as wrong:
        main(["conformance", "--list", "--only", "nonsense"])
    assert wrong.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_a_run_without_its_keys_folder_is_one_line_of_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["conformance", "http://127.0.0.1:9", "--as", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("baliza: error [bad_config]") and "--prepare" in err
    assert err.count("\n") == 1


def test_the_document_lists_every_check_with_its_section() -> None:
    text = (Path(__file__).parents[2] / "docs" / "conformance.md").read_text()
    listed = text.split("## Every check", 1)[1]
    rows = re.findall(r"^\| `([a-z]+\.[a-z0-9-]+)` \| ([^|]+) \| ([^|]+) \|$", listed, re.M)
    documented = {name: (section.strip(), title.strip()) for name, section, title in rows}
    assert documented == {c.name: (c.section, c.title) for c in all_checks()}


def test_the_suite_is_a_black_box() -> None:
    """It builds messages with protocol/ and crypto/ and talks HTTP: nothing of a node's insides."""
    folder = Path(__file__).parents[2] / "node" / "conformance"
    allowed = (
        "baliza.protocol",
        "baliza.crypto",
        "baliza.node.conformance",
        "baliza.node.core.clock",
    )
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for name in names:
                if name.startswith("baliza"):
                    assert name.startswith(allowed), f"{path.name} imports {name}"
                assert not name.startswith(("sqlalchemy", "aiosqlite", "asyncpg")), path.name
