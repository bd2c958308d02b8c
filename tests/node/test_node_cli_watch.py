"""``baliza watch …`` as an operator runs it: child processes on a real data folder.

Entries are checked as the API checks a query, belong to the named account
only, and an error is one line with a reason code, never a stack trace.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

PASS = "correct horse battery"


def run(*args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALIZA_")}
    proc = subprocess.run(
        [sys.executable, "-m", "baliza.node.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        input="",
        env={**env, "BALIZA_PASSPHRASE": PASS},
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "node"
    code, _, err = run("init", "--data-dir", str(folder), "--agency", "es.aduanas.alg")
    assert code == 0, err
    for login in ("ana", "bruno"):
        code, _, err = run(
            "users", "add", login, "--data-dir", str(folder), "--name", login.title(),
            "--role", "analyst", "--generate-password",
        )  # fmt: skip
        assert code == 0, err
    return folder


def test_add_list_remove_and_mail_for_one_account_only(data: Path) -> None:
    d = ("--data-dir", str(data))
    code, out, err = run("watch", "add", *d, "--user", "ana", "container", "MSCU 123456 6")
    assert code == 0, err
    entry = re.search(r"id ([0-9a-f]{16})", out)
    assert entry is not None and "?container=MSCU+123456+6" in out
    code, out, err = run("watch", "add", *d, "--user", "ana", "filter", "programme=ccp")
    assert code == 0, err
    code, out, _ = run("watch", "mail", *d, "--user", "ana", "--mode", "digest", "--to", "a@x.es")
    assert code == 0
    code, out, _ = run("watch", "list", *d, "--user", "ana")
    assert code == 0 and entry.group(1) in out and "programme=ccp" in out
    assert "e-mail: digest to a@x.es, every 60 min" in out
    # Another account sees none of it and cannot remove it.
    code, out, _ = run("watch", "list", *d, "--user", "bruno")
    assert entry.group(1) not in out and "e-mail: off" in out
    code, _, err = run("watch", "remove", *d, "--user", "bruno", entry.group(1))
    assert code != 0 and "not_found" in err and "Traceback" not in err
    code, _, err = run("watch", "remove", *d, "--user", "ana", entry.group(1))
    assert code == 0, err
    code, out, _ = run("watch", "list", *d, "--user", "ana")
    assert entry.group(1) not in out


def test_a_bad_entry_is_one_line_naming_the_field(data: Path) -> None:
    d = ("--data-dir", str(data))
    code, _, err = run("watch", "add", *d, "--user", "ana", "container", "NOT A BOX")
    assert code != 0 and "container" in err and "Traceback" not in err
    code, _, err = run("watch", "add", *d, "--user", "nobody", "all")
    assert code != 0 and "not_found" in err
    code, _, err = run("watch", "mail", *d, "--user", "ana", "--mode", "immediate")
    assert code != 0 and "email" in err
