"""``baliza inbox``: a person's inbox from the terminal, through the node's API.

The inbox is kept per person, so the operator names whose it is
(``--user``, default ``$BALIZA_USER``) and holds an administrator's token:
the changes are recorded as that person's, as in the console.

    baliza inbox [--mine | --unit] [--state open|unread|new|in_progress|done|any]
    baliza inbox assign NOTICE LOGIN      (or --release)
    baliza inbox status NOTICE new|in_progress|done
    baliza inbox priority NOTICE low|normal|high|urgent
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Callable
from typing import Any

from baliza.node.cli.support import api_client, when
from baliza.node.services.rules.inbox import Priority, Status
from baliza.node.services.views.inbox import MAX_INBOX_PAGE, InboxState
from baliza.protocol.errors import ReasonCode, UsageError

Command = Callable[..., argparse.ArgumentParser]
Adder = Callable[[argparse.ArgumentParser], None]
USER_ENV = "BALIZA_USER"


def _user(args: argparse.Namespace) -> str:
    user: str = getattr(args, "user", None) or os.environ.get(USER_ENV, "")
    if not user:
        raise UsageError(
            ReasonCode.MISSING_FIELD, f"whose inbox? pass --user LOGIN or set {USER_ENV}"
        )
    return user


def _line(item: dict[str, Any]) -> str:
    holder = item["assignee"]["login"] if item["assignee"] else "-"
    mark = " " if item["read"] else "*"
    line = (
        f"{mark} {item['id']}  {item['status']:11} {item['priority']:7} {holder:12} "
        f"{item['sender']}  {item['summary']}"
    )
    if item["expected_ms"] is not None:
        line += f"  expected {when(item['expected_ms'])}"
    if item["pressing"]:
        line += "  << due, no outcome"
    return line


def cmd_inbox(args: argparse.Namespace) -> int:
    """List the person's inbox: pressing alerts first, then priority, status, newest."""
    view = "mine" if args.mine else "unit" if args.unit else "all"
    params = {"user": _user(args), "view": view, "state": args.state, "limit": str(args.limit)}
    page = asyncio.run(api_client(args).get("/api/v1/inbox", params))
    for item in page["items"]:
        print(_line(item))
    print(
        f"{len(page['items'])} of {page['total']} notices ({view}, {args.state});"
        f" {page['unread']} open unread by {params['user']} (marked *)"
    )
    if args.unit or args.handover:
        print(f"open in unit {page['unit'] or '(none)'}:")
        for h in page["handover"]:
            who = h["holder"]["login"] if h["holder"] else "nobody"
            print(f"  {who:12} {h['new']} new, {h['in_progress']} in progress")
    if not page["complete"]:
        print("the node holds more notices than the inbox reads at once: the oldest are left out")
    return 0


def _post(args: argparse.Namespace, body: dict[str, Any]) -> int:
    body["user"] = _user(args)
    changed = asyncio.run(api_client(args).post(f"/api/v1/inbox/{args.notice}", body))
    holder = changed["assignee"] or "nobody"
    done = ", ".join(changed["recorded"]) or "nothing changed"
    print(f"{changed['id']}: {changed['status']}, {changed['priority']}, held by {holder} ({done})")
    return 0


def cmd_assign(args: argparse.Namespace) -> int:
    """Give a received notice to a person of this node (or release it)."""
    if (args.login is None) == (not args.release):
        raise UsageError(ReasonCode.MISSING_FIELD, "name a LOGIN, or pass --release")
    return _post(args, {"assignee": "" if args.release else args.login})


def cmd_status(args: argparse.Namespace) -> int:
    """Set how far the agency is with a received notice."""
    return _post(args, {"status": args.status})


def cmd_priority(args: argparse.Namespace) -> int:
    """Set how urgent a received notice is."""
    return _post(args, {"priority": args.priority})


def _person_options(p: argparse.ArgumentParser, *, leaf: bool) -> None:
    """``--user``, and on an action the API options again (given after it, they count)."""
    keep: Any = argparse.SUPPRESS if leaf else None
    p.add_argument("--user", default=keep, help=f"whose inbox: a login (default ${USER_ENV})")
    if leaf:
        p.add_argument("--data-dir", default=argparse.SUPPRESS, help="the node's data folder")
        p.add_argument("--url", default=argparse.SUPPRESS, help="the node's local API")
        p.add_argument("--token", default=argparse.SUPPRESS, help="an administrator's API token")


def add_inbox_commands(command: Command, api: Adder) -> None:
    """Register ``baliza inbox`` and its actions."""
    p = command("inbox", cmd_inbox, "a person's inbox: received notices, who holds each")
    api(p)
    _person_options(p, leaf=False)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--mine", action="store_true", help="only what the person holds")
    which.add_argument("--unit", action="store_true", help="the unit's queue, and its handover")
    p.add_argument(
        "--state",
        default=InboxState.OPEN.value,
        choices=[s.value for s in InboxState],
        help="open (not done; default), unread, new, in_progress, done, any",
    )
    p.add_argument("--handover", action="store_true", help="also print the unit's handover")
    p.add_argument(
        "--limit",
        type=int,
        default=MAX_INBOX_PAGE,
        help=f"how many notices (default and at most {MAX_INBOX_PAGE})",
    )
    actions = p.add_subparsers(dest="inbox_command", required=False, metavar="ACTION")

    a = command("assign", cmd_assign, "give a notice to a person of this node", actions)
    _person_options(a, leaf=True)
    a.add_argument("notice", help="the notice id")
    a.add_argument("login", nargs="?", help="the person to give it to")
    a.add_argument("--release", action="store_true", help="give it back to nobody")

    a = command("status", cmd_status, "set a notice's status", actions)
    _person_options(a, leaf=True)
    a.add_argument("notice", help="the notice id")
    a.add_argument("status", choices=[s.value for s in Status], help="how far the agency is")

    a = command("priority", cmd_priority, "set a notice's priority", actions)
    _person_options(a, leaf=True)
    a.add_argument("notice", help="the notice id")
    a.add_argument("priority", choices=[p.value for p in Priority], help="how urgent it is")
