"""deploy/examples/three-agencies.sh, run as docs/operations.md tells a person to run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from loopback_support import free_ports
from proxy_support import REPO

SCRIPT = REPO / "deploy" / "examples" / "three-agencies.sh"


def three_free_ports() -> int:
    """A first port such that it and the next two are this session's (see loopback_support)."""
    return free_ports(3)


def example(action: str, folder: Path, port: int) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "BALIZA_EXAMPLE_DIR": str(folder),
        "BALIZA_EXAMPLE_PORT": str(port),
    }
    env.pop("BALIZA_PASSPHRASE", None)  # the script sets its own
    return subprocess.run(
        ["bash", str(SCRIPT), action],
        capture_output=True,
        text=True,
        timeout=400,  # the script bounds each wait itself; this bounds the whole
        env=env,
        check=False,
    )


def exited(pid: int) -> bool:
    """No such process, or one that has exited and waits for its parent (state Z)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


@pytest.mark.slow
# Three nodes made from nothing (hybrid keys, Argon2id-wrapped): about a minute on a
# quiet machine, several on a loaded one; each script run bounds itself (400 s).
@pytest.mark.timeout(900)
def test_the_three_agency_example_comes_up_and_delivers(tmp_path: Path) -> None:
    folder, port = tmp_path / "example", three_free_ports()
    try:
        up = example("up", folder, port)
        assert up.returncode == 0, up.stdout + up.stderr
        assert "directory fingerprint:" in up.stdout
        check = example("check", folder, port)
        assert check.returncode == 0, check.stdout + check.stderr
        assert "es.aduanas.alg received it" in check.stdout
        assert "ec.senae.gye received it" in check.stdout
        # A second `up` refuses to overwrite the federation it made.
        again = example("up", folder, port)
        assert again.returncode == 1 and "exists" in again.stderr
    finally:
        pids = [int(pid.read_text()) for pid in folder.glob("*.pid")]
        down = example("down", folder, port)
    assert down.returncode == 0, down.stderr
    assert not list(folder.glob("*.pid"))
    # `down` returns once the nodes have exited, not when it has signalled them.
    assert len(pids) == 3
    for pid in pids:
        assert exited(pid), pid
    for log in folder.glob("*.log"):
        assert " stopped (SIGTERM): no longer listening on " in log.read_text(), log
