"""``baliza users …`` as an operator runs it: child processes on a real data folder.

The enrolment printed once must sign in (password + a code computed by
pyotp from the printed secret, as the person's app would); a disabled
account must not; a reset must replace every secret. Errors are one line
with a reason code, never a stack trace.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pyotp
import pytest

from baliza.node.core.config import NodeConfig
from baliza.node.services.person_sign_in import open_person_session
from baliza.node.services.sign_in_throttle import SignInThrottle
from baliza.node.storage import Database
from baliza.protocol.errors import ReasonCode, TrustError

PASS = "correct horse battery"
PASSWORD = "a long enough passphrase"


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALIZA_")}
    proc = subprocess.run(
        [sys.executable, "-m", "baliza.node.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin if stdin is not None else "",
        env={**env, "BALIZA_PASSPHRASE": PASS},
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "node"
    code, _, err = run("init", "--data-dir", str(folder), "--agency", "co.polfa.ctg")
    assert code == 0, err
    return folder


def enrolment(out: str) -> tuple[str | None, str, list[str]]:
    password = re.search(r"password:\s+(\S+)", out)
    secret = re.search(r"secret \(base32\):\s+([A-Z2-7]+)", out)
    assert secret is not None, out
    codes = re.findall(r"^\s+([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})$", out, re.M)
    return (password.group(1) if password else None), secret.group(1), codes


def sign_in(data: Path, login: str, password: str, code: str) -> ReasonCode | None:
    """Sign in against the folder's database; None when it opened a session."""

    async def go() -> ReasonCode | None:
        db = await Database.open(NodeConfig.load(data).db_url)
        try:
            await open_person_session(
                db, login, password, code, _now(), address="127.0.0.1", throttle=SignInThrottle()
            )
        except TrustError as err:
            return err.reason
        finally:
            await db.close()
        return None

    return asyncio.run(go())


def _now() -> int:
    from baliza.node.core.clock import now_ms

    return now_ms()


def test_add_prints_an_enrolment_that_signs_in_once(data: Path) -> None:
    code, out, err = run(
        "users", "add", "JRuiz", "--data-dir", str(data), "--name", "Julia Ruiz",
        "--role", "publisher", "--unit", "Port unit", "--password-file", "-",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert code == 0, err
    password, secret, codes = enrolment(out)
    assert password is None  # chosen, not generated: not echoed
    assert "otpauth://totp/" in out and len(codes) == 10
    assert sign_in(data, "jruiz", PASSWORD, pyotp.TOTP(secret).now()) is None
    assert sign_in(data, "jruiz", PASSWORD, codes[0]) is None
    assert sign_in(data, "jruiz", PASSWORD, codes[0]) == ReasonCode.UNAUTHENTICATED

    code, out, _ = run("users", "list", "--data-dir", str(data))
    assert code == 0
    assert re.search(r"^jruiz\s+publisher\s+active\s+Julia Ruiz\s+Port unit", out, re.M), out
    assert secret not in out and PASSWORD not in out


def test_a_generated_password_disable_and_reset(data: Path) -> None:
    code, out, err = run(
        "users", "add", "mlopez", "--data-dir", str(data), "--name", "M. López",
        "--role", "analyst", "--generate-password",
    )  # fmt: skip
    assert code == 0, err
    password, secret, codes = enrolment(out)
    assert password is not None and len(password) >= 12

    code, out, err = run("users", "disable", "MLopez", "--data-dir", str(data))
    assert code == 0, err
    assert sign_in(data, "mlopez", password, pyotp.TOTP(secret).now()) == (
        ReasonCode.UNAUTHENTICATED
    )
    code, out, _ = run("users", "list", "--data-dir", str(data))
    assert re.search(r"^mlopez\s+analyst\s+disabled", out, re.M), out

    # No terminal and no file: generated.
    code, out, err = run("users", "reset", "mlopez", "--data-dir", str(data))
    assert code == 0, err
    new_password, new_secret, new_codes = enrolment(out)
    assert new_password is not None and new_secret != secret
    assert sign_in(data, "mlopez", password, codes[1]) == ReasonCode.UNAUTHENTICATED
    assert sign_in(data, "mlopez", new_password, codes[1]) == ReasonCode.UNAUTHENTICATED
    assert sign_in(data, "mlopez", new_password, new_codes[1]) is None


def test_refusals_are_one_line_with_a_reason(data: Path) -> None:
    args = [
        "users",
        "add",
        "portofficer1",
        "--data-dir",
        str(data),
        "--name",
        "X",
        "--role",
        "analyst",
    ]
    code, out, err = run(*args, "--password-file", "-", stdin="short\n")
    assert code != 0 and "weak_password" in err and "Traceback" not in err
    assert "secret" not in out
    code, _, err = run(*args, "--password-file", "-", stdin="PortOfficer1\n")
    assert code != 0 and "weak_password" in err  # the login name itself
    code, _, err = run(*args, "--password-file", "-", stdin="PortOfficer12\n")
    assert code == 0, err
    code, _, err = run(*args, "--generate-password")
    assert code != 0 and "conflict" in err and "Traceback" not in err
    code, _, err = run("users", "disable", "nobody", "--data-dir", str(data))
    assert code != 0 and "not_found" in err and len(err.strip().splitlines()) == 1


def test_actions_are_exported_by_person_and_time_as_csv(data: Path) -> None:
    code, _, err = run(
        "users", "add", "--data-dir", str(data), "jruiz", "--name", "Julia Ruiz",
        "--role", "publisher", "--unit", "Port unit", "--generate-password",
    )  # fmt: skip
    assert code == 0, err

    async def record() -> None:
        from baliza.node.services.accounts import list_users
        from baliza.node.services.person_actions import record_action

        db = await Database.open(NodeConfig.load(data).db_url)
        try:
            [user] = await list_users(db)
            await record_action(db, user.id, "shared", "=HYPERLINK(1)", 1_800_000_000_000)
            await record_action(db, user.id, "granted", "e-2", 1_800_000_100_000)
        finally:
            await db.close()

    asyncio.run(record())
    code, out, err = run("users", "actions", "--data-dir", str(data), "--csv")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "at,at_ms,login,name,unit,action,subject,detail"
    # A subject that a spreadsheet would run as a formula is defused.
    assert lines[1].endswith(",shared,'=HYPERLINK(1),") and lines[1].startswith("2027-01-15T")
    code, out, _ = run(
        "users", "actions", "--data-dir", str(data), "--user", "JRuiz",
        "--since", "1800000050000",
    )  # fmt: skip
    assert code == 0 and "granted" in out and "shared" not in out and "Julia Ruiz" in out
    code, _, err = run("users", "actions", "--data-dir", str(data), "--since", "soon")
    assert code != 0 and "bad_format" in err and "Traceback" not in err
