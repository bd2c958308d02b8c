"""``baliza users …``: people's console accounts, managed on the data folder like tokens.

An administrator on the node's machine creates, lists, disables and resets
accounts; the enrolment (the TOTP secret as an ``otpauth://`` URI and in
base32, ten recovery codes, and the password when it was generated) is
printed once, for the person to scan and keep. The password is read from
``--password-file`` (``-`` for stdin), else asked at the terminal twice,
else (no terminal) generated.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from baliza.node.cli.support import data_dir
from baliza.node.core.clock import now_ms
from baliza.node.core.config import NodeConfig
from baliza.node.core.keyring import STDIN_NAMES
from baliza.node.services.accounts import Enrolment
from baliza.node.storage import Database
from baliza.protocol.errors import ReasonCode, UsageError

Command = Callable[..., argparse.ArgumentParser]
T = TypeVar("T")
ACTOR = "local operator"


def _on_database(args: argparse.Namespace, work: Callable[[Database, str], Awaitable[T]]) -> T:
    config = NodeConfig.load(data_dir(args))

    async def run() -> T:
        db = await Database.open(config.db_url)
        try:
            await db.upgrade()
            return await work(db, f"Baliza {config.name}".replace(":", " "))
        finally:
            await db.close()

    return asyncio.run(run())


def _password(args: argparse.Namespace) -> str | None:
    """The password chosen for the account, or None to generate one."""
    source: str | None = args.password_file
    if source is not None and source in STDIN_NAMES:
        return sys.stdin.read().rstrip("\n")
    if source is not None:
        try:
            return Path(source).read_text().rstrip("\n")
        except OSError as exc:
            raise UsageError(ReasonCode.BAD_CONFIG, f"cannot read password file: {exc}") from None
    if args.generate_password or not sys.stdin.isatty():
        return None
    typed = getpass.getpass("Password for the account (at least 12 characters): ")
    if getpass.getpass("Again: ") != typed:
        raise UsageError(ReasonCode.WEAK_PASSWORD, "the two passwords differ", path="password")
    return typed


def _print_enrolment(enrolment: Enrolment, what: str) -> None:
    print(f"{what} {enrolment.login} ({enrolment.name}, {enrolment.role}).")
    print("Hand this to the person once; it is not shown again.")
    if enrolment.password is not None:
        print(f"  password:        {enrolment.password}")
    print(f"  authenticator:   {enrolment.totp_uri}")
    print(f"  secret (base32): {enrolment.totp_secret}")
    print("  recovery codes (each signs in once, instead of a code from the app):")
    for code in enrolment.recovery_codes:
        print(f"    {code}")


def cmd_users_add(args: argparse.Namespace) -> int:
    """Create a person's account and print its enrolment once."""
    from baliza.node.services.accounts import add_user

    password = _password(args)
    enrolment = _on_database(
        args,
        lambda db, issuer: add_user(
            db,
            args.login,
            name=args.name,
            role=args.role,
            unit=args.unit,
            password=password,
            now=now_ms(),
            issuer=issuer,
            actor=ACTOR,
        ),
    )
    _print_enrolment(enrolment, "Created")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    """List accounts: login, role, unit, state, last sign-in (never a secret)."""
    from baliza.node.services.accounts import list_users

    for user in _on_database(args, lambda db, _issuer: list_users(db)):
        state = "disabled" if user.disabled else "active"
        last = "never" if user.last_sign_in_ms is None else str(user.last_sign_in_ms)
        print(
            f"{user.login:20} {user.role:10} {state:9} {user.name:30} "
            f"{user.unit or '-':20} last sign-in {last}"
        )
    return 0


def cmd_users_disable(args: argparse.Namespace) -> int:
    """Disable an account; its sessions end."""
    from baliza.node.services.accounts import disable_user

    _on_database(args, lambda db, _issuer: disable_user(db, args.login, now_ms(), actor=ACTOR))
    print(f"user {args.login} disabled; their console sessions have ended")
    return 0


def cmd_users_reset(args: argparse.Namespace) -> int:
    """New password, TOTP secret and recovery codes; the account is enabled again."""
    from baliza.node.services.accounts import reset_user

    password = _password(args)
    enrolment = _on_database(
        args,
        lambda db, issuer: reset_user(
            db, args.login, password=password, now=now_ms(), issuer=issuer, actor=ACTOR
        ),
    )
    _print_enrolment(enrolment, "Reset")
    return 0


def cmd_users_actions(args: argparse.Namespace) -> int:
    """Who did what, oldest first: a table for people, or CSV (``--csv``) for an inquiry."""
    from baliza.node.services.person_actions import (
        action_filter,
        action_rows,
        actions,
        actions_csv,
    )

    wanted = action_filter(args.user, args.since)
    found = _on_database(args, lambda db, _issuer: actions(db, wanted))
    if args.csv:
        sys.stdout.write(actions_csv(found))
        return 0
    for at, _ms, login, name, unit, action, subject, detail in action_rows(found):
        what = f"{action} {detail}" if detail else action
        print(f"{at}  {login:20} {what:10} {subject}  ({name}{' · ' + unit if unit else ''})")
    return 0


def _password_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--password-file",
        help="read the password from this file (- for stdin); default: ask, or generate "
        "one when there is no terminal",
    )
    p.add_argument(
        "--generate-password", action="store_true", help="generate the password and print it once"
    )


def add_user_commands(
    sub: Any, command: Command, data: Callable[[argparse.ArgumentParser], None]
) -> None:
    """Register ``baliza users ...`` on the main parser."""
    users = command("users", lambda a: 2, "people's console accounts", sub).add_subparsers(
        dest="users_command", required=True, metavar="ACTION"
    )
    p = command("add", cmd_users_add, "create an account (enrolment shown once)", users)
    data(p)
    p.add_argument("login", help="the login name (case does not matter)")
    p.add_argument("--name", required=True, help="the person's name, as pages show it")
    p.add_argument(
        "--role",
        required=True,
        choices=["analyst", "publisher", "admin"],
        help="analyst reads, publisher also publishes, admin also manages trust",
    )
    p.add_argument("--unit", help="the person's unit, e.g. 'Port of Cartagena, PCU'")
    _password_options(p)
    p = command("list", cmd_users_list, "list accounts", users)
    data(p)
    p = command("disable", cmd_users_disable, "disable an account and end its sessions", users)
    data(p)
    p.add_argument("login", help="the account's login name")
    p = command(
        "reset", cmd_users_reset, "new password, authenticator secret and recovery codes", users
    )
    data(p)
    p.add_argument("login", help="the account's login name")
    _password_options(p)
    p = command("actions", cmd_users_actions, "who read, published, shared or decided what", users)
    data(p)
    p.add_argument("--user", help="only this person's actions (login name)")
    p.add_argument("--since", help="only from this time: 2026-12-01, 2026-12-01T08:00Z or Unix ms")
    p.add_argument("--csv", action="store_true", help="CSV on standard output, for an inquiry")
