"""The officer's and the analyst's commands: feed, search, show, hits, alerts, outcome, templates.

They call the running node's API. Filters are the API's own table
(``baliza.node.services.filters.FILTERS``) turned into options, so
``baliza feed --vessel "IMO 9074729"`` and ``?vessel=IMO%209074729`` are
one filter with one meaning.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from baliza.node.cli.client import ApiClient
from baliza.node.cli.support import api_client, handling_label, when
from baliza.node.cli.templates import example_text, names
from baliza.node.core.clock import now_ms
from baliza.node.services.filters import FILTERS
from baliza.protocol.errors import ReasonCode, UsageError
from baliza.protocol.notices.json_form import say_quantity

Command = Callable[..., argparse.ArgumentParser]
Adder = Callable[[argparse.ArgumentParser], None]

# `baliza outcome ALERT RESULT`: the words an officer uses, and the protocol's values.
RESULTS = {
    "inspected-negative": "negative",
    "negative": "negative",
    "inspected": "inspected",
    "not-arrived": "not_arrived",
    "seizure": "seizure",
}


def add_filter_options(p: argparse.ArgumentParser) -> None:
    """One ``--NAME`` option per filter of the API, with its help and an example."""
    for spec in FILTERS:
        if spec.name == "q":
            continue  # `search` takes words as arguments; `feed` has --q below
        p.add_argument(f"--{spec.name}", help=f"{spec.help} (e.g. {spec.example})")


def filter_params(args: argparse.Namespace) -> dict[str, str]:
    """The query string of the filter options given."""
    return {
        spec.name: str(getattr(args, spec.name))
        for spec in FILTERS
        if getattr(args, spec.name, None) is not None
    }


def _line(item: dict[str, Any]) -> str:
    if item["direction"] == "in":
        who = f"<- {item['sender']}"
    else:
        who = f"-> {', '.join(r for r in item['recipients'] if r != item['sender'])}"
    hits = item.get("hit_count") or len(item.get("hits", []))
    mark = f"  [{hits} hit{'s' if hits != 1 else ''}]" if hits else ""
    return (
        f"{item['id']}  {when(item['created_ms'])}  {who:24} [{handling_label(item)}] "
        f"{item['summary']}{mark}"
    )


def cmd_feed(args: argparse.Namespace) -> int:
    """Print received and sent notices, newest last; with --follow, keep printing."""
    api = api_client(args)
    params = filter_params(args)

    def show(item: dict[str, Any]) -> None:
        print(_line(item), flush=True)

    def hit(event: dict[str, Any]) -> None:
        h = event["hit"]
        print(f"   hit: {event['id']} and {h['id']} both name {h['ref'][0]} {h['ref'][1]}")

    query = {**params, "limit": str(args.limit), "latest": "1"}
    page = asyncio.run(api.get("/api/v1/notices", query))
    for item in page["items"]:
        show(item)
    if not page["items"]:
        print("no notices match")
    else:
        print("open one with: baliza show ID", flush=True)
    if args.follow:
        asyncio.run(api.follow({**params, "after": str(page["next"])}, show, on_hit=hit))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """Full-text search, best match first."""
    params = {**filter_params(args), "q": " ".join(args.words), "limit": str(args.limit)}
    found = asyncio.run(api_client(args).get("/api/v1/search", params))
    for item in found["items"]:
        print(f"{item['score']:7.3f}  {_line(item)}")
    shown = len(found["items"])
    print(f"{shown} of {found['total']} matching notice{'s' if found['total'] != 1 else ''}")
    return 0


def _hits(out: dict[str, Any]) -> list[str]:
    return [f"  {h['ref'][0]} {h['ref'][1]}: {h['id']} {h['summary']}" for h in out["hits"]]


def cmd_hits(args: argparse.Namespace) -> int:
    """The other notices naming what this one names."""
    out = asyncio.run(api_client(args).get(f"/api/v1/notices/{args.id}", {}))
    lines = _hits(out)
    print("\n".join(lines) if lines else "no hits")
    return 0


def _facts(value: Any, prefix: str = "") -> list[str]:
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in {"v", "kind"}:
                continue
            label = f"{prefix}{key}"
            if key.endswith("_ms") and isinstance(item, int):
                lines.append(f"  {label}: {when(item)}")
            elif key == "quantity" and isinstance(item, dict):
                lines.append(f"  {label}: {quantity(item)}")
            elif isinstance(item, dict | list):
                lines += _facts(item, f"{label}.")
            else:
                lines.append(f"  {label}: {item}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            lines += (
                _facts(item, f"{prefix.rstrip('.')}[{i}].")
                if isinstance(item, dict | list)
                else [f"  {prefix.rstrip('.')}[{i}]: {item}"]
            )
    return lines


def quantity(q: dict[str, Any]) -> str:
    """``412 kg`` rather than ``412000 g``, as the officer wrote it."""
    return say_quantity(int(q["amount"]), str(q["unit"]), q.get("currency"))


def cmd_show(args: argparse.Namespace) -> int:
    """One notice in full: handling first, then facts, hits and delivery; marks it read.

    Reading and marking read are two requests: the first only reads, the
    second (``POST …/read``, skipped with ``--no-receipt``) tells the sender.
    """
    api = api_client(args)
    out = asyncio.run(api.get(f"/api/v1/notices/{args.id}", {}))
    print(f"==== TLP:{out['tlp'].upper()} — handle as marked; do not forward outside it ====")
    if out.get("signed_by_revoked_key"):
        print("!!!! signed with a key revoked since: check with the sender")
    print(f"     handling: {handling_label(out)}")
    share = out.get("share_of")
    if share:
        print(f"     a share by {out['sender']} of {share['originator']}'s notice {share['id']}")
    print(f"{out['kind']} {out['id']}")
    direction = "from" if out["direction"] == "in" else "sent by"
    print(f"  {direction} {out['sender']} at {when(out['created_ms'])}")
    print(f"  {out['summary']}")
    if out.get("supersedes"):
        print(f"  supersedes {out['supersedes']}")
    notice = out["notice"]
    body = notice.get("notice", notice)  # a correction's corrected notice
    attachments = body.get("attachments") or []
    print("facts:")
    print("\n".join(_facts({k: v for k, v in notice.items() if k != "attachments"})))
    if attachments:
        print("attachments (save one: baliza attachment get ID SHA256 --out FILE):")
        for a in attachments:
            print(f"  {a['filename']:28} {a['media_type']:16} {a['size']:>10,} B  {a['sha256']}")
    print("hits:")
    print("\n".join(_hits(out)) or "  none")
    if out["delivery"]:
        print("delivery:")
        for d in out["delivery"]:
            read = f", read {when(d['read_ms'])}" if d.get("read_ms") else ""
            refused = (
                f": {d['refused_reason']} {d['refused_detail']}" if d["refused_reason"] else ""
            )
            answer = d.get("outcome")
            outcome = f", outcome {answer['result']}" if answer else ""
            print(f"  {d['destination']:24} {d['state']}{refused}{read}{outcome}")
    if out["direction"] == "in" and not args.no_receipt:
        path = f"/api/v1/notices/{out['id']}/read?sender={out['sender']}"
        mark = asyncio.run(api.post(path, {}))
        if mark["receipt_sent"]:
            print(f"read receipt sent to {out['sender']}")
    return 0


def cmd_template(args: argparse.Namespace) -> int:
    """Print an example notice to start from."""
    print(example_text(args.kind), end="")
    return 0


def cmd_alerts(args: argparse.Namespace) -> int:
    """Pre-arrival alerts sent and received, by expected arrival, and whether each was answered."""
    params = {"state": args.state} if args.state else {}
    params["limit"] = str(args.limit)
    board = asyncio.run(api_client(args).get("/api/v1/alerts", params))
    now = now_ms()
    for a in board["items"]:
        line = f"{a['id']}  {a['state']:9} expected {when(a['expected_ms'])}  {a['summary']}"
        if a["state"] == "overdue":
            line += f"  ({(now - a['expected_ms']) // 3_600_000} h without outcome)"
        print(line)
        if a["outcome"]:
            o = a["outcome"]
            seized = f", seizure {o['seizure']}" if o.get("seizure") else ""
            print(f"      outcome {o['result']} from {o['sender']} {when(o['at_ms'])}{seized}")
    if not board["items"]:
        print("no alerts")
    else:
        print(
            f"{len(board['items'])} of {board['total']} alert{'s' if board['total'] != 1 else ''}"
        )
    if not board.get("complete", True):
        print("the node holds more alerts than the board reads at once: the oldest are left out")
    return 0


def cmd_outcome(args: argparse.Namespace) -> int:
    """Answer a pre-arrival alert; the outcome travels signed to everyone the alert was sent to."""
    result = RESULTS[args.result]
    if (result == "seizure") != (args.seizure is not None):
        raise UsageError(
            ReasonCode.INCONSISTENT,
            "give the seizure notice id with `seizure`, and only then",
            path="seizure",
        )
    api = api_client(args)
    alert = asyncio.run(api.get(f"/api/v1/notices/{args.alert}", {}))
    if alert["kind"] != "notice.alert":
        raise UsageError(ReasonCode.INCONSISTENT, f"{args.alert} is a {alert['kind']}", path="id")
    notice: dict[str, Any] = {
        "v": 1,
        "kind": "notice.outcome",
        "alert": args.alert,
        "result": result,
        "at_ms": now_ms(),
    }
    if args.seizure:
        notice["seizure"] = args.seizure
    if args.text:
        notice["text"] = {"lang": args.lang, "text": args.text}
    body = {"notice": notice, "recipients": [alert["sender"]]}
    sent = asyncio.run(api.post("/api/v1/notices", body))
    # The node adds the alert's other addressees (``rules.audience.outcome_recipients``).
    print(f"outcome {sent['id']} ({result}) sent to {', '.join(sent['recipients'])}")
    return 0


GUESSED_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".pdf": "application/pdf",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".mp4": "video/mp4",
}


def attach(api: ApiClient, notice: dict[str, Any], files: list[str]) -> None:
    """Upload ``files`` to the node and list them in ``notice`` (or a correction's notice)."""
    target = notice["notice"] if notice.get("kind") == "notice.correction" else notice
    for name in files:
        path = Path(name)
        claimed = GUESSED_TYPES.get(path.suffix.lower(), "application/octet-stream")
        stored = asyncio.run(api.post_file("/api/v1/attachments", path, claimed))
        target.setdefault("attachments", []).append({**stored, "filename": path.name})
        print(f"attached {path.name}: {stored['media_type']}, {stored['size']} bytes")


def cmd_attachment_get(args: argparse.Namespace) -> int:
    """Save one attachment of a notice to a file."""
    out = Path(args.out or args.sha256)
    path = f"/api/v1/notices/{args.id}/attachments/{args.sha256}"
    size = asyncio.run(api_client(args).download(path, out))
    print(f"saved {size} bytes to {out}")
    return 0


def add_workflow_commands(command: Command, api: Adder) -> None:
    """Register the commands of the officer's and the analyst's day."""
    p = command("feed", cmd_feed, "list notices, newest last; --follow to keep watching")
    api(p)
    p.add_argument("--follow", action="store_true", help="keep printing new notices and hits")
    p.add_argument("--q", help="full-text search words (see also `baliza search`)")
    add_filter_options(p)
    p.add_argument("--limit", type=int, default=50, help="how many recent notices (default 50)")

    p = command("search", cmd_search, "full-text search, best match first, with filters")
    api(p)
    p.add_argument("words", nargs="+", help="words to find, any accents or case")
    add_filter_options(p)
    p.add_argument("--limit", type=int, default=20, help="how many results (default 20)")

    p = command("show", cmd_show, "one notice in full (handling, facts, hits, delivery)")
    api(p)
    p.add_argument("id", help="the notice id, as `baliza feed` prints it")
    p.add_argument(
        "--no-receipt",
        action="store_true",
        help="only read: do not mark it read (no read receipt to its sender)",
    )

    p = command("hits", cmd_hits, "other notices naming the same container, vessel, company…")
    api(p)
    p.add_argument("id", help="the notice id")

    notice = command("notice", lambda a: 2, "notice helpers").add_subparsers(
        dest="notice_command", required=True, metavar="ACTION"
    )
    p = command("template", cmd_template, "print an example notice to edit", notice)
    p.add_argument("kind", help=f"one of: {', '.join(names())} (or seizure, alert…)")

    attachment = command("attachment", lambda a: 2, "attachment content").add_subparsers(
        dest="attachment_command", required=True, metavar="ACTION"
    )
    p = command("get", cmd_attachment_get, "save an attachment of a notice", attachment)
    api(p)
    p.add_argument("id", help="the notice id")
    p.add_argument("sha256", help="the attachment's sha256, as `baliza show` lists it")
    p.add_argument("--out", help="file to write (default: the sha256)")

    p = command("alerts", cmd_alerts, "pre-arrival alerts: open, answered, overdue")
    api(p)
    p.add_argument("--state", choices=["open", "answered", "overdue"], help="only this state")
    p.add_argument("--limit", type=int, default=200, help="how many alerts (default 200)")

    p = command("outcome", cmd_outcome, "answer a pre-arrival alert (travels back signed)")
    api(p)
    p.add_argument("alert", help="the alert's id")
    p.add_argument("result", choices=sorted(RESULTS), help="what the inspection found")
    p.add_argument("seizure", nargs="?", help="with `seizure`: the seizure notice's id")
    p.add_argument("--text", help="a sentence for the alert's sender")
    p.add_argument("--lang", default="en", help="language of --text (default en)")
