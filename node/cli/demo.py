"""``baliza demo``: a federation of five agency nodes on loopback, and a case.

Each agency is its own ``baliza serve`` process with its own SQLite database
and its own keys, made with the same commands an operator would use (init,
peers add, tokens create). The scenario follows one container of cocaine
from Guayaquil to Algeciras via Cartagena, and one air courier from Panama
to Madrid. ``--check`` then proves, from the outside, that every notice
reached exactly its recipients, verified and decrypted, and that an agency
that was not addressed cannot open the envelope even when it holds the bytes,
that a recipient proves to the sender it logged the envelope (an inclusion
proof under its signed tree head), and that a node made to sign two heads of
the same size is refused and raised as an alarm by its peers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

import aiohttp

from baliza.crypto import open_envelope
from baliza.node.cli.demo_agency import Agency
from baliza.node.cli.demo_audit import play_audit
from baliza.node.cli.demo_channels import play_channels
from baliza.node.cli.demo_photo import attach_photo, check_photos
from baliza.node.cli.demo_scenario import STEPS, Step
from baliza.node.cli.demo_sharing import POLICY_ENV, play_sharing
from baliza.node.core.keyring import load_keys
from baliza.protocol.envelope import parse_envelope
from baliza.protocol.errors import BalizaError

START_TIMEOUT_S = 60
DELIVERY_TIMEOUT_S = 60


AGENCIES = [
    ("ec.polnac.gye", "Policía Nacional, port control unit Guayaquil", "Guayaquil (ECGYE)"),
    ("co.polfa.ctg", "POLFA, port control unit Cartagena", "Cartagena (COCTG)"),
    ("pa.senan.pty", "Airport interdiction task force, Tocumen", "Panamá Tocumen (PTY)"),
    ("es.aduanas.alg", "Vigilancia Aduanera, port unit Algeciras", "Algeciras (ESALG)"),
    ("es.gc.mad", "Guardia Civil, Madrid-Barajas airport", "Madrid-Barajas (MAD)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# The ``baliza`` entry point, handed in by the command that starts the demo
# (the CLI imports the demo, so the demo must not import the CLI back).
CliMain = Callable[[Sequence[str]], int]


def _run_cli(cli: CliMain, *args: str) -> None:
    code = cli(list(args))
    if code != 0:
        raise SystemExit(f"demo: `baliza {' '.join(args)}` failed")


def _capture_cli(cli: CliMain, *args: str) -> str:
    import io
    from contextlib import redirect_stdout

    buffer = io.StringIO()
    with redirect_stdout(buffer):
        _run_cli(cli, *args)
    return buffer.getvalue().strip()


def setup(root: Path, base_port: int, cli: CliMain) -> list[Agency]:
    """Create every node as an operator would: init, exchange keys, tokens."""
    agencies = []
    for i, (agency, name, where) in enumerate(AGENCIES):
        port = base_port + i if base_port else _free_port()
        a = Agency(agency=agency, name=name, where=where, port=port, data_dir=root / agency)
        _capture_cli(
            cli,
            "init",
            "--data-dir",
            str(a.data_dir),
            "--agency",
            agency,
            "--name",
            name,
            "--port",
            str(port),
        )
        agencies.append(a)
    federation_ceremony(root, agencies, cli)
    for a in agencies:
        for role in ("publisher", "analyst", "admin"):
            a.tokens[role] = _capture_cli(
                cli,
                "tokens",
                "create",
                "--data-dir",
                str(a.data_dir),
                "--name",
                f"demo {role}",
                "--role",
                role,
            ).splitlines()[-1]
        a.token = a.tokens["publisher"]
    return agencies


ADMINISTRATORS = ("ec.polnac.gye", "co.polfa.ctg", "es.aduanas.alg")


def federation_ceremony(root: Path, agencies: list[Agency], cli: CliMain) -> str:
    """Found the federation as its administrators would: keys, proposal, 2 of 3 sign, apply.

    Three agencies hold an administrator key each (kept apart from their node
    keys, as they would be on an offline machine); two signatures suffice.
    Every node pins the founding directory by its fingerprint.
    """
    admin_dir = root / "administrators"
    admin_dir.mkdir()
    pubs = []
    for agency in ADMINISTRATORS:
        key = admin_dir / f"{agency}.key"
        _capture_cli(cli, "admin", "keys", "generate", "--agency", agency, "--out", str(key))
        pubs += ["--admin", str(key.with_suffix(".pub.json"))]
    proposal = admin_dir / "directory-v1.bin"
    members = [arg for a in agencies for arg in ("--member", str(a.data_dir / "public.json"))]
    out = _capture_cli(
        cli,
        "admin",
        "directory",
        "init",
        "--federation",
        "latam-eu-ports",
        *members,
        *pubs,
        "--threshold",
        "2",
        "--out",
        str(proposal),
    )
    fingerprint = out.splitlines()[-1].removeprefix("fingerprint: ")
    for agency in ADMINISTRATORS[:2]:
        _capture_cli(
            cli,
            "admin",
            "directory",
            "sign",
            str(proposal),
            "--key",
            str(admin_dir / f"{agency}.key"),
        )
    for a in agencies:
        _capture_cli(
            cli,
            "admin",
            "directory",
            "apply",
            "--offline",
            "--data-dir",
            str(a.data_dir),
            "--fingerprint",
            fingerprint,
            str(proposal),
        )
    print(f"  directory v1 signed by {ADMINISTRATORS[0]} and {ADMINISTRATORS[1]} (2 of 3)")
    print(f"  directory fingerprint: {fingerprint}")
    return fingerprint


async def _wait_healthy(agencies: list[Agency]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    async with aiohttp.ClientSession() as session:
        for a in agencies:
            while True:
                if a.process is not None and a.process.poll() is not None:
                    raise SystemExit(f"demo: node {a.agency} exited with {a.process.returncode}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with session.get(a.url + "/healthz") as resp:
                        if resp.status == 200:
                            break
                if time.monotonic() > deadline:
                    raise SystemExit(f"demo: node {a.agency} did not start")
                await asyncio.sleep(0.1)


def start(agencies: list[Agency], log_dir: Path) -> None:
    """Start one ``baliza serve`` process per agency."""
    for a in agencies:
        log = (log_dir / f"{a.agency}.log").open("wb")
        a.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "baliza.node.cli.main", "serve", "--data-dir", str(a.data_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **POLICY_ENV},
        )


def stop(agencies: list[Agency]) -> None:
    """Stop every node process."""
    for a in agencies:
        if a.process is not None and a.process.poll() is None:
            a.process.terminate()
    for a in agencies:
        if a.process is not None:
            try:
                a.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                a.process.kill()


async def play(agencies: list[Agency], steps: list[Step]) -> None:
    """Publish each step's notice from its agency, printing what happens."""
    by_id = {a.agency: a for a in agencies}
    for step in steps:
        sender = by_id[step.sender]
        body = step.body({k: v for a in agencies for k, v in a.published.items()})
        if step.attach:
            await attach_photo(sender, step, body)
        result = await sender.api().post("/api/v1/notices", body)
        sender.published[step.key] = result["id"]
        print(f"  {step.sender:16} -> {', '.join(step.recipients):32} {step.title}")
        await asyncio.sleep(0.2)


async def wait_delivered(agencies: list[Agency], steps: list[Step]) -> bool:
    """Wait until every recipient holds every notice addressed to it."""
    by_id = {a.agency: a for a in agencies}
    deadline = time.monotonic() + DELIVERY_TIMEOUT_S
    while time.monotonic() < deadline:
        missing = 0
        for step in steps:
            eid = by_id[step.sender].published[step.key]
            for r in step.recipients:
                try:
                    await by_id[r].api().get(f"/api/v1/notices/{eid}", {})
                except BalizaError:
                    missing += 1
        if missing == 0:
            return True
        await asyncio.sleep(0.3)
    return False


async def verify(agencies: list[Agency], steps: list[Step], passphrase: bytes) -> list[str]:
    """Check from outside that each notice reached exactly its recipients."""
    problems: list[str] = []
    by_id = {a.agency: a for a in agencies}
    keys = {a.agency: load_keys(a.data_dir, passphrase) for a in agencies}
    for step in steps:
        sender = by_id[step.sender]
        eid = sender.published[step.key]
        raw = await sender.api().get_bytes(f"/api/v1/notices/{eid}/envelope")
        envelope = parse_envelope(raw)
        for a in agencies:
            if a.agency == step.sender:
                continue
            holds = True
            try:
                await a.api().get(f"/api/v1/notices/{eid}", {})
            except BalizaError:
                holds = False
            meant = a.agency in step.recipients
            if holds != meant:
                problems.append(f"{step.key}: {a.agency} {'has' if holds else 'lacks'} it")
            try:
                open_envelope(envelope, recipient=keys[a.agency], sender=keys[step.sender].public())
                readable = True
            except BalizaError:
                readable = False
            if readable != meant:
                problems.append(f"{step.key}: {a.agency} {'can' if readable else 'cannot'} open it")
        delivery = await sender.api().get(f"/api/v1/notices/{eid}/delivery", {})
        for row in delivery["recipients"]:
            if row["state"] != "delivered":
                problems.append(f"{step.key}: delivery to {row['destination']} is {row['state']}")
    return problems


async def report(agencies: list[Agency]) -> None:
    """Print, per agency, what it received, with hits, and where to look."""
    for a in agencies:
        page = await a.api().get("/api/v1/notices", {"direction": "in", "limit": "50"})
        print(f"\n{a.agency} — {a.name}\n  {a.url}/api/v1/notices")
        if not page["items"]:
            print("  received nothing (it was not addressed)")
        for item in page["items"]:
            full = await a.api().get(f"/api/v1/notices/{item['id']}", {})
            # A person read it: say so to its sender (reading alone writes nothing).
            read = f"/api/v1/notices/{item['id']}/read?sender={item['sender']}"
            await a.api().post(read, {})
            print(f"  received from {item['sender']}: verified, decrypted — {item['summary']}")
            for hit in full["hits"]:
                print(f"      hit: {hit['ref'][0]} {hit['ref'][1]} also in {hit['summary']}")


async def delivery_seen_by_senders(agencies: list[Agency], steps: list[Step]) -> list[str]:
    """Print, per notice, what its sender sees: delivered and read, per recipient.

    ``report`` opened every received notice through the API and marked it
    read, so each recipient node has sent a signed read receipt back; wait
    for them to arrive.
    """
    by_id = {a.agency: a for a in agencies}
    deadline = time.monotonic() + DELIVERY_TIMEOUT_S
    while True:
        rows = []
        for step in steps:
            sender = by_id[step.sender]
            eid = sender.published[step.key]
            state = await sender.api().get(f"/api/v1/notices/{eid}/delivery", {})
            rows.append((step, state["recipients"]))
        unread = [
            f"{step.key}: no read receipt from {r['destination']}"
            for step, recipients in rows
            for r in recipients
            if r["read_ms"] is None
        ]
        if not unread or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.3)
    print("\nAs the senders see it:")
    for step, recipients in rows:
        parts = [
            f"{r['destination']} {r['state']}{', read' if r['read_ms'] else ''}" for r in recipients
        ]
        print(f"  {step.sender:16} {step.key:12} {'; '.join(parts)}")
    return unread


class Terminated(BaseException):
    """SIGTERM or SIGHUP: the demo was told to end by its environment, not by the person.

    A ``BaseException``, like ``KeyboardInterrupt``, so that no ``except
    Exception`` on the way absorbs it before the nodes are stopped.
    """

    def __init__(self, signal_number: int) -> None:
        super().__init__(signal_number)
        self.signal_number = signal_number


# The signals a service manager, ``kill`` or a closed terminal send.
_ENDING = (signal.SIGTERM, signal.SIGHUP)


def _raise_terminated(signal_number: int, _frame: object) -> None:
    raise Terminated(signal_number)


def run_demo(*, check: bool, keep: bool, base_port: int, cli: CliMain) -> int:
    """Set up, play and (with ``check``) verify the scenario; return an exit code.

    SIGTERM and SIGHUP stop every node and delete the data folder even with
    ``--keep`` (which keeps them for a person who ends the demo with Ctrl-C);
    the exit code is 128 + the signal's number.
    """
    passphrase = secrets.token_urlsafe(16)
    os.environ["BALIZA_PASSPHRASE"] = passphrase
    root = Path(tempfile.mkdtemp(prefix="baliza-demo-"))
    print(f"Baliza demo: {len(AGENCIES)} agency nodes on loopback, data in {root}")
    agencies: list[Agency] = []
    previous = {number: signal.signal(number, _raise_terminated) for number in _ENDING}
    terminated: Terminated | None = None
    try:
        agencies = setup(root, base_port, cli)
        print("Nodes:")
        for a in agencies:
            print(f"  {a.agency:16} {a.where:24} {a.url}")
        start(agencies, root)
        return asyncio.run(
            _until_interrupted(_main(agencies, passphrase.encode(), check=check, keep=keep))
        )
    except Terminated as signalled:
        terminated = signalled
        return 128 + signalled.signal_number
    finally:
        # asyncio.run put back the default action (death, mid-cleanup): ours again.
        for number in _ENDING:
            signal.signal(number, _raise_terminated)
        try:
            # The folder holds private keys and decrypted notices: gone at exit and
            # on Ctrl-C unless the person asked to keep it, and always on SIGTERM.
            stop(agencies)
            if keep and terminated is None:
                print(f"\nData kept in {root} (keys and decrypted notices: delete it when done)")
            else:
                shutil.rmtree(root, ignore_errors=True)
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)


# How long the scenario may take to wind down after Ctrl-C before the demo stops anyway.
_WIND_DOWN_S = 5.0


async def _until_interrupted(scenario: Coroutine[Any, Any, int]) -> int:
    """Run ``scenario``; on Ctrl-C stop it and raise ``KeyboardInterrupt`` (exit code 130).

    SIGTERM and SIGHUP stop it the same way and raise ``Terminated``.

    Ctrl-C is taken by a signal handler of our own instead of asyncio's
    cancellation of the main task: a cancellation arriving inside a client
    library's request can be absorbed there, after which the scenario ran on
    to its end (exit 0) or, with ``--keep``, waited for a Ctrl-C it had
    already been sent.
    """
    loop = asyncio.get_running_loop()
    interrupted = asyncio.Event()
    received: list[int] = []

    def on_signal(number: int) -> None:
        received.append(number)
        interrupted.set()

    for number in (signal.SIGINT, *_ENDING):
        loop.add_signal_handler(number, on_signal, number)
    main = asyncio.ensure_future(scenario)
    waiting = asyncio.ensure_future(interrupted.wait())
    try:
        await asyncio.wait({main, waiting}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for number in (signal.SIGINT, *_ENDING):
            loop.remove_signal_handler(number)
        waiting.cancel()
    if not interrupted.is_set():
        return main.result()
    main.cancel()
    with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError, Exception):
        await asyncio.wait_for(main, _WIND_DOWN_S)
    if received[0] != signal.SIGINT:
        raise Terminated(received[0])
    raise KeyboardInterrupt


async def _main(agencies: list[Agency], passphrase: bytes, *, check: bool, keep: bool) -> int:
    await _wait_healthy(agencies)
    print("\nScenario:")
    await play(agencies, STEPS)
    if not await wait_delivered(agencies, STEPS):
        print("demo: FAILED — not every notice arrived in time", file=sys.stderr)
        return 1
    await report(agencies)
    problems = await verify(agencies, STEPS, passphrase)
    problems += await delivery_seen_by_senders(agencies, STEPS)
    print("\nPhotos (fetched by each recipient from the sender's node):")
    problems += await check_photos(agencies, STEPS)
    problems += await play_channels(agencies, passphrase)
    problems += await play_sharing(agencies, passphrase)
    problems += await play_audit(agencies, STEPS, passphrase)
    if problems:
        print("\ndemo: FAILED", *problems, sep="\n  ", file=sys.stderr)
        return 1
    print(
        "\nCheck passed: every notice reached exactly its recipients, verified and decrypted, "
        "and was read there; no other agency could open it; its recipient proved it logged it, "
        "and a node signing two audit logs was caught by its peers."
    )
    if keep and not check:
        print("\nConsole and tokens (sign in with any of them; the CLI takes --url and --token):")
        for a in agencies:
            print(f"  {a.agency:16} {a.url}/console/")
            for role in ("analyst", "publisher", "admin"):
                print(f"    {role:7} {a.tokens[role]}")
        print("Nodes keep running; press Ctrl-C to stop.")
        await asyncio.Event().wait()  # until Ctrl-C (_until_interrupted)
    return 0
