"""``baliza subscriptions``, ``baliza share`` and ``baliza permissions``: the CLI side of sharing.

Each command is one call to the running node's local API, so the CLI says
exactly what the API says, refusals and their rules included.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import Any

from baliza.node.cli.support import api_client, print_json

Command = Callable[..., argparse.ArgumentParser]
_ACTIONS = ("approve", "refuse", "pause", "resume", "cancel")


def _filter(args: argparse.Namespace) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name in ("kinds", "programmes", "categories", "countries", "places"):
        items = getattr(args, name) or []
        if items:
            out[name] = sorted(set(items))
    return out


def cmd_subscribe(args: argparse.Namespace) -> int:
    """Ask a publisher for a subscription; print its state."""
    body: dict[str, Any] = {"publisher": args.publisher, "filter": _filter(args)}
    if args.note:
        body["note"] = args.note
    item = asyncio.run(api_client(args).post("/api/v1/subscriptions", body))
    print(f"subscription {item['id']} to {item['publisher']}: {item['state']}")
    return 0


def show_subscription(item: dict[str, Any]) -> None:
    """One line per subscription, from this node's side."""
    other = item["subscriber"] if item["side"] == "publisher" else item["publisher"]
    arrow = "<- subscriber" if item["side"] == "publisher" else "-> publisher"
    terms = " ".join(f"{k}={','.join(v)}" for k, v in sorted(item["filter"].items())) or "all"
    print(f"{item['id']}  {arrow} {other:22} {item['state']:9} {terms}")


def cmd_subscriptions_list(args: argparse.Namespace) -> int:
    """Who subscribes to this node, and this node's own subscriptions."""
    page = asyncio.run(api_client(args).get("/api/v1/subscriptions", {}))
    if args.json:
        print_json(page)
        return 0
    for item in page["items"]:
        show_subscription(item)
    return 0


def cmd_subscription_action(args: argparse.Namespace) -> int:
    """approve, refuse, pause, resume or cancel one subscription."""
    body = {"reason": args.reason} if args.reason else {}
    path = f"/api/v1/subscriptions/{args.id}/{args.action}"
    item = asyncio.run(api_client(args).post(path, body))
    told = (
        "" if item["notified"] else " (the other side is not reachable now; this node keeps trying)"
    )
    print(f"subscription {item['id']}: {item['state']}{told}")
    return 0


def cmd_share(args: argparse.Namespace) -> int:
    """Pass a received notice on; sent now or once its originator grants permission."""
    body: dict[str, Any] = {"recipients": args.to}
    if args.note:
        body["note"] = args.note
    result = asyncio.run(api_client(args).post(f"/api/v1/notices/{args.id}/share", body))
    if result["state"] == "sent":
        print(f"shared as {result['id']} to {', '.join(result['recipients'])}")
    else:
        print(f"waiting for the originator's permission ({result['rule']}): {result['permission']}")
    return 0


def cmd_permissions_list(args: argparse.Namespace) -> int:
    """Permission requests asked of this agency and by it."""
    page = asyncio.run(api_client(args).get("/api/v1/permissions", {}))
    if args.json:
        print_json(page)
        return 0
    for item in page["items"]:
        who = (
            f"<- {item['requester']}"
            if item["side"] == "originator"
            else f"-> {item['originator']}"
        )
        print(
            f"{item['id']}  {who:26} {item['state']:8} notice {item['envelope']} "
            f"to {', '.join(item['recipients'])}"
        )
    return 0


def cmd_permission_decide(args: argparse.Namespace) -> int:
    """grant or refuse a partner's request to pass on one of this agency's notices."""
    body = {"reason": args.reason} if args.reason else {}
    item = asyncio.run(
        api_client(args).post(f"/api/v1/permissions/{args.id}/{args.decision}", body)
    )
    told = (
        "" if item["notified"] else " (the requester cannot be reached now; this node keeps trying)"
    )
    print(f"permission {item['id']}: {item['state']}{told}")
    return 0


def add_sharing_commands(
    sub: Any, command: Command, api: Callable[[argparse.ArgumentParser], None]
) -> None:
    """Register ``subscriptions``, ``share`` and ``permissions`` on the main parser."""
    subs = command("subscriptions", lambda a: 2, "partner subscriptions").add_subparsers(
        dest="subscriptions_command", required=True, metavar="ACTION"
    )
    p = command("request", cmd_subscribe, "ask a publisher for a subscription", subs)
    api(p)
    p.add_argument("publisher", help="the publishing agency id")
    p.add_argument("--kind", dest="kinds", action="append", help="notice kind (repeat)")
    p.add_argument(
        "--programme", dest="programmes", action="append", help="ccp, aircop, gmcp… (repeat)"
    )
    p.add_argument("--category", dest="categories", action="append", help="commodity category")
    p.add_argument("--country", dest="countries", action="append", help="on the route (ISO)")
    p.add_argument("--place", dest="places", action="append", help="port LOCODE or airport")
    p.add_argument("--note", help="why, for the publisher's administrator")
    p = command("list", cmd_subscriptions_list, "subscribers here and our subscriptions", subs)
    api(p)
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    for action in _ACTIONS:
        p = command(action, cmd_subscription_action, f"{action} a subscription", subs)
        api(p)
        p.add_argument("id", help="its id, as the list shows it")
        p.add_argument("--reason", help="a sentence the other side sees")
        p.set_defaults(action=action)

    p = command("share", cmd_share, "pass a received notice on to other agencies")
    api(p)
    p.add_argument("id", help="the received notice's envelope id")
    p.add_argument("--to", action="append", required=True, help="recipient agency (repeat)")
    p.add_argument("--note", help="for the originator, when permission is needed")

    perms = command("permissions", lambda a: 2, "requests to pass notices on").add_subparsers(
        dest="permissions_command", required=True, metavar="ACTION"
    )
    p = command("list", cmd_permissions_list, "requests asked of and by this agency", perms)
    api(p)
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    for decision in ("grant", "refuse"):
        p = command(decision, cmd_permission_decide, f"{decision} a request", perms)
        api(p)
        p.add_argument("id", help="its id, as the list shows it")
        p.add_argument("--reason", help="a sentence the other side sees")
        p.set_defaults(decision=decision)
