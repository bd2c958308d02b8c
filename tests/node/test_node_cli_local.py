"""The CLI reaches the node's own listener, not the partner face; ``serve`` says where it is.

In the documented deployment ``public_url`` is nginx's partner face, which
serves ``/fed/v1/`` only: a CLI that called it got 404 (or a TLS error for a
private CA). These tests run ``baliza serve`` and the commands as child
processes, as an operator does, with a ``public_url`` that answers nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from node_harness import free_port

from baliza.node.core.config import NodeConfig

PASS = "correct horse battery"
AGENCY = "co.polfa.ctg"
PARTNER_FACE = "https://partner.invalid"  # resolves nowhere: only the local listener works


def run(*args: str, **env: str) -> tuple[int, str, str]:
    """``baliza`` in a child process with exactly this extra environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("BALIZA_")}
    proc = subprocess.run(
        [sys.executable, "-m", "baliza.node.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**base, "BALIZA_PASSPHRASE": PASS, **env},
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[tuple[Path, int, str, str]]:
    """A node bound to every address, its public URL a partner face; (folder, port, token, line)."""
    port = free_port()
    data = tmp_path / AGENCY
    init = ["init", "--data-dir", str(data), "--agency", AGENCY, "--host", "0.0.0.0"]
    code, _, err = run(*init, "--port", str(port), "--public-url", PARTNER_FACE)
    assert code == 0, err
    code, out, err = run(
        "tokens", "create", "--data-dir", str(data), "--name", "t", "--role", "admin"
    )
    assert code == 0, err
    token = out.strip().splitlines()[-1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALIZA_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "baliza.node.cli.main", "serve", "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**env, "BALIZA_PASSPHRASE": PASS},
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # printed once the port is bound
        yield data, port, token, line
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()


def test_serve_prints_the_address_it_is_bound_to(serving: tuple[Path, int, str, str]) -> None:
    _, port, _, line = serving
    assert line.startswith(f"{AGENCY} listening on http://0.0.0.0:{port} "), line
    assert f"partners reach it at {PARTNER_FACE}" in line


def test_the_cli_calls_the_local_listener_by_default(serving: tuple[Path, int, str, str]) -> None:
    data, _, token, _ = serving
    code, out, err = run("status", "--data-dir", str(data), BALIZA_TOKEN=token)
    assert code == 0, err
    assert out.startswith(f"{AGENCY} at {PARTNER_FACE}"), out


def test_baliza_url_names_the_node(serving: tuple[Path, int, str, str], tmp_path: Path) -> None:
    data, port, token, _ = serving
    # Without a data folder at all: the URL and the token are enough.
    elsewhere = str(tmp_path / "no-node-here")
    code, out, err = run(
        "status", "--data-dir", elsewhere, BALIZA_TOKEN=token, BALIZA_URL=f"http://127.0.0.1:{port}"
    )
    assert code == 0, err
    assert out.startswith(f"{AGENCY} at "), out
    # It is honoured over node.toml: a URL where nothing listens fails, naming it.
    dead = f"http://127.0.0.1:{free_port()}"
    code, _, err = run("status", "--data-dir", str(data), BALIZA_TOKEN=token, BALIZA_URL=dead)
    assert code == 1 and "[node_unreachable]" in err and dead in err, err
    # --url wins over the environment.
    code, _, err = run(
        "status",
        "--data-dir",
        str(data),
        "--url",
        f"http://127.0.0.1:{port}",
        BALIZA_TOKEN=token,
        BALIZA_URL=dead,
    )
    assert code == 0, err


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "http://127.0.0.1:8470"),
        ("0.0.0.0", "http://127.0.0.1:8470"),
        ("::", "http://[::1]:8470"),
        ("10.1.2.3", "http://10.1.2.3:8470"),
        ("fd00::5", "http://[fd00::5]:8470"),
    ],
)
def test_the_local_url_is_the_bind_address(host: str, expected: str) -> None:
    config = NodeConfig(
        agency=AGENCY,  # type: ignore[arg-type]
        name="x",
        data_dir=Path("/nonexistent"),
        host=host,
        public_url=PARTNER_FACE,
    )
    assert config.local_url == expected
    assert config.url == PARTNER_FACE


def test_a_failed_init_leaves_no_folder_and_can_be_retried(tmp_path: Path) -> None:
    data = tmp_path / "node"
    dead = f"postgresql://x@127.0.0.1:{free_port()}/x"  # nothing listens there
    init = ["init", "--data-dir", str(data), "--agency", AGENCY, "--suite", "classic-v1"]
    code, _, err = run(*init, "--database-url", dead)
    assert code == 1 and "[storage_failed]" in err, err
    assert not data.exists()
    code, out, err = run(*init)  # not "already holds a node"
    assert code == 0, err
    assert f"Created node {AGENCY}" in out
