"""``baliza watch …``: a person's watch-list and e-mail settings, on the data folder like users.

An administrator (or the person, on the node's machine) adds, lists and
removes what an account follows, and sets where its notification e-mail
goes; the console's Watching page and ``/api/v1/watch`` change the same
entries. The entries are checked as the API checks a query.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from baliza.node.cli.users import Command, _on_database
from baliza.node.core.clock import now_ms
from baliza.node.services import watch
from baliza.node.services.rules.notify import MODES, WATCH_KINDS
from baliza.node.storage import Database


async def _owner(db: Database, login: str) -> str:
    return await watch.owner_by_login(db, login)


def cmd_watch_add(args: argparse.Namespace) -> int:
    """Follow an identifier, a saved filter or everything, for an account."""

    async def work(db: Database, _issuer: str) -> str:
        entry = await watch.add_watch(
            db, await _owner(db, args.user), args.what, args.value or "", now_ms()
        )
        return f"watching {entry.what} {entry.value} (id {entry.id}, query ?{entry.query})"

    print(_on_database(args, work))
    return 0


def cmd_watch_list(args: argparse.Namespace) -> int:
    """An account's watch entries, oldest first, and where its e-mail goes."""

    async def work(db: Database, _issuer: str) -> list[str]:
        owner = await _owner(db, args.user)
        lines = [
            f"{e.id}  {e.what:10} {e.value or '-':30} ?{e.query}"
            for e in await watch.list_watches(db, owner)
        ]
        prefs = await watch.get_prefs(db, owner)
        lines.append(
            f"e-mail: {prefs.mode}"
            + (f" to {prefs.email}" if prefs.email else "")
            + (f", every {prefs.digest_ms // 60_000} min" if prefs.mode == "digest" else "")
        )
        return lines

    for line in _on_database(args, work):
        print(line)
    return 0


def cmd_watch_remove(args: argparse.Namespace) -> int:
    """Stop following one entry of an account."""

    async def work(db: Database, _issuer: str) -> None:
        await watch.remove_watch(db, await _owner(db, args.user), args.id)

    _on_database(args, work)
    print(f"removed {args.id}")
    return 0


def cmd_watch_mail(args: argparse.Namespace) -> int:
    """Where and how often an account's notification e-mail goes."""

    async def work(db: Database, _issuer: str) -> None:
        owner = await _owner(db, args.user)
        prefs = watch.checked_prefs(owner, args.to or "", args.mode, args.digest_minutes)
        await watch.set_prefs(db, prefs, now_ms())

    _on_database(args, work)
    print(f"e-mail for {args.user}: {args.mode}")
    return 0


def add_watch_commands(
    sub: Any, command: Command, data: Callable[[argparse.ArgumentParser], None]
) -> None:
    """Register ``baliza watch ...`` on the main parser."""
    group = command("watch", lambda a: 2, "a person's watch-list and e-mail", sub)
    actions = group.add_subparsers(dest="watch_command", required=True, metavar="ACTION")

    def user(p: argparse.ArgumentParser) -> None:
        data(p)
        p.add_argument("--user", required=True, help="the account's login name")

    p = command("add", cmd_watch_add, "follow an identifier, a saved filter or everything", actions)
    user(p)
    p.add_argument("what", choices=WATCH_KINDS, help="what to follow")
    p.add_argument(
        "value",
        nargs="?",
        help="the identifier (MSCU 123456 6), or for 'filter' a query such as "
        "'programme=ccp&commodity=cocaine'; nothing for 'all'",
    )
    p = command("list", cmd_watch_list, "list an account's watch entries", actions)
    user(p)
    p = command("remove", cmd_watch_remove, "stop following one entry", actions)
    user(p)
    p.add_argument("id", help="the entry's id, as 'list' shows it")
    p = command("mail", cmd_watch_mail, "where and how often notification e-mail goes", actions)
    user(p)
    p.add_argument("--mode", required=True, choices=MODES, help="off, immediate or digest")
    p.add_argument("--to", help="the e-mail address (needed unless --mode off)")
    p.add_argument(
        "--digest-minutes", type=int, default=60, help="digest period (default 60, at least 15)"
    )
