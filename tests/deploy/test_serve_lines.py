"""What ``baliza serve`` itself says: where it listens, that it stopped, and nothing else.

With JSON logs, the start line was plain text on stdout among the JSON
lines, nothing said the node had stopped, and Alembic's "Will assume
non-transactional DDL." came at every SQLite start; a second node on a busy
port could add "Future exception was never retrieved". Run here as an
operator runs it: the real command, a real SQLite node, SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from loopback_support import free_port

PASS = "correct horse battery"


def baliza(*args: str) -> list[str]:
    return [sys.executable, "-m", "baliza.node.cli.main", *args]


def environment() -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("BALIZA_")}
    return {**base, "BALIZA_PASSPHRASE": PASS}


@pytest.fixture
def node(tmp_path: Path) -> tuple[Path, int]:
    folder, port = tmp_path / "node", free_port()
    subprocess.run(
        baliza("init", "--data-dir", str(folder), "--agency", "co.polfa.ctg", "--port", str(port)),
        env=environment(),
        check=True,
        capture_output=True,
    )
    return folder, port


def serve_until_healthy(folder: Path, port: int, *extra: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        baliza("serve", "--data-dir", str(folder), *extra),
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for _ in range(300):  # bounded wait for the listener
        assert process.poll() is None, process.communicate()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the node did not serve")


def stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return out, err


def test_json_logs_are_all_json_with_a_start_and_a_stop_line(node: tuple[Path, int]) -> None:
    folder, port = node
    out, err = stop(serve_until_healthy(folder, port, "-v", "--log-format", "json"))
    assert out == ""  # nothing beside the log stream
    lines = [json.loads(line) for line in err.splitlines()]  # every line is JSON
    serve = [line["message"] for line in lines if line["logger"] == "baliza.serve"]
    assert len(serve) == 2, serve
    assert serve[0].startswith(f"co.polfa.ctg listening on http://127.0.0.1:{port} ")
    assert serve[1] == (
        f"co.polfa.ctg stopped (SIGTERM): no longer listening on http://127.0.0.1:{port}"
    )
    assert any(line["logger"] == "baliza.request" for line in lines)  # -v: request lines
    assert not [line for line in lines if line["logger"].startswith("alembic")], lines


def test_text_logs_say_start_and_stop_on_stdout(node: tuple[Path, int]) -> None:
    folder, port = node
    out, err = stop(serve_until_healthy(folder, port, "-v"))
    assert out.splitlines()[0].startswith(f"co.polfa.ctg listening on http://127.0.0.1:{port} ")
    assert out.splitlines()[-1].startswith("co.polfa.ctg stopped (SIGTERM)")
    assert "non-transactional DDL" not in err and "SQLiteImpl" not in err


def test_a_busy_port_is_one_line_and_no_stray_error(node: tuple[Path, int]) -> None:
    folder, port = node
    first = serve_until_healthy(folder, port)
    try:
        second = subprocess.run(
            baliza("serve", "--data-dir", str(folder), "-v"),
            env=environment(),
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        stop(first)
    assert second.returncode == 1
    assert second.stdout == ""  # never said it was listening
    errors = [line for line in second.stderr.splitlines() if "INFO" not in line]
    assert len(errors) == 1 and "[conflict]" in errors[0], second.stderr
    assert "never retrieved" not in second.stderr and "Traceback" not in second.stderr
