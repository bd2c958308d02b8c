"""``baliza channel …``: programme feeds and JITs from the command line, through the API.

Owners found channels and change members; when more owners must sign, the
command writes the proposal to a file for them, and ``baliza channel sign``
adds their signature (the version is in force once enough owners signed).
``sign`` first shows what the proposal changes against the version in force
at this node and who has signed it, then asks for confirmation (or takes
``--confirm FINGERPRINT``, as ``baliza channel review`` printed it); a lower
threshold or this agency leaving the owners is signed only with
``--lower-threshold`` / ``--leave-owners``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from baliza.node.cli.support import api_client, print_json
from baliza.protocol.errors import ReasonCode, UsageError

Command = Callable[..., argparse.ArgumentParser]


def _report(result: dict[str, Any], proposal_out: str | None) -> None:
    channel = result.get("channel", "")
    if result.get("applied"):
        print(
            f"{channel} version {result['version']} in force, signed by "
            f"{', '.join(result['signed_by'])}; passed on to its members"
        )
        return
    if "proposal" not in result:
        print(f"{channel}: {result.get('decision', 'done')}")
        return
    print(
        f"{channel}: signed by {', '.join(result['signed_by'])}; "
        f"{result['threshold']} owners must sign"
    )
    if proposal_out:
        Path(proposal_out).write_bytes(base64.b64decode(result["proposal"]))
        print(
            f"proposal written to {proposal_out}: give it to the other owners "
            "(`baliza channel sign CHANNEL FILE`)"
        )
    else:
        print("proposal (base64):", result["proposal"])


def cmd_list(args: argparse.Namespace) -> int:
    """List the channels this node knows."""
    listed = asyncio.run(api_client(args).get("/api/v1/channels", {}))
    for c in listed["items"]:
        role = "owner" if c["owner"] else "member" if c["member"] else "left"
        print(
            f"{c['channel']:28} {c['kind']:9} v{c['version']:<4} {role:6} "
            f"{len(c['members'])} members  {c['name']}"
        )
        for join in c["joins"]:
            print(f"    join request from {join['agency']}: {join['state']}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Show one channel and its versions."""
    print_json(asyncio.run(api_client(args).get(f"/api/v1/channels/{args.channel}", {})))
    return 0


def cmd_create(args: argparse.Namespace) -> int:
    """Found a channel (this agency is an owner)."""
    body: dict[str, Any] = {
        "id": args.channel,
        "kind": args.kind,
        "name": args.name,
        "members": args.member or [],
        "threshold": args.threshold,
        "valid_days": args.valid_days,
    }
    if args.owner:
        body["owners"] = args.owner
    if args.programme:
        body["programme"] = args.programme
    _report(asyncio.run(api_client(args).post("/api/v1/channels", body)), args.proposal_out)
    return 0


def cmd_members(args: argparse.Namespace) -> int:
    """Add or remove members (the next version, signed by this owner)."""
    if not args.add and not args.remove:
        raise UsageError(ReasonCode.MISSING_FIELD, "name someone with --add or --remove")
    body = {"add": args.add or [], "remove": args.remove or []}
    path = f"/api/v1/channels/{args.channel}/members"
    _report(asyncio.run(api_client(args).post(path, body)), args.proposal_out)
    return 0


# What each flag names, as the review says it (API ``accept`` values).
_NAMED = {
    "lower_threshold": ("--lower-threshold", "LOWERS THE THRESHOLD of owner signatures"),
    "leave_owners": ("--leave-owners", "REMOVES THIS AGENCY AS AN OWNER"),
}


def _print_review(review: dict[str, Any]) -> None:
    in_force = review["in_force"]
    print(
        f"proposal for {review['channel']} version {review['version']} "
        + (f"(version {in_force} in force here)" if in_force is not None else "(new here)")
    )
    for line in review["lines"]:
        print(f"  {line}")
    threshold = review["threshold"]
    print(
        f"owners' signatures needed: {threshold['in_force'] or '-'} of the owners in force, "
        f"{threshold['proposed']} of the proposed owners"
    )
    for owner in review["owners"]:
        roles = [r for r in ("in_force", "proposed") if owner[r]]
        state = "signed" if owner["signed"] else "not signed"
        print(f"  {owner['agency']:24} owner {' and '.join(roles).replace('_', ' '):18} {state}")
    for name in review["must_name"]:
        flag, says = _NAMED[name]
        print(f"WARNING: this proposal {says}; sign it only with {flag}")
    print(f"fingerprint: {review['fingerprint']}")


def _read_proposal(file: str) -> str:
    return base64.b64encode(Path(file).read_bytes()).decode("ascii")


def cmd_review(args: argparse.Namespace) -> int:
    """Show what a proposal file changes against the version in force, and who signed it."""
    body = {"proposal": _read_proposal(args.file)}
    path = f"/api/v1/channels/{args.channel}/proposals/review"
    _print_review(asyncio.run(api_client(args).post(path, body)))
    return 0


def cmd_sign(args: argparse.Namespace) -> int:
    """Sign another owner's proposal file after reading it; in force once enough owners signed."""
    proposal = _read_proposal(args.file)
    client = api_client(args)
    path = f"/api/v1/channels/{args.channel}/proposals"
    review = asyncio.run(client.post(f"{path}/review", {"proposal": proposal}))
    _print_review(review)
    confirm = args.confirm
    if confirm is None:
        if not sys.stdin.isatty():
            raise UsageError(
                ReasonCode.PROPOSAL_UNCONFIRMED,
                "read the changes above, then sign with --confirm FINGERPRINT",
            )
        answer = input(f"Sign version {review['version']} of {review['channel']}? Type yes: ")
        if answer.strip().lower() != "yes":
            print("not signed")
            return 1
        confirm = review["fingerprint"]
    accept = [name for name in _NAMED if getattr(args, name)]
    body = {"proposal": proposal, "confirm": confirm, "accept": accept}
    _report(asyncio.run(client.post(path, body)), args.proposal_out)
    return 0


def cmd_join(args: argparse.Namespace) -> int:
    """Ask a programme channel's owner to admit this agency."""
    body = {"owner": args.owner, "note": args.note or ""}
    result = asyncio.run(api_client(args).post(f"/api/v1/channels/{args.channel}/join", body))
    print(f"asked {result['owner']} to join {result['channel']}: {result['state']}")
    return 0


def cmd_decide(args: argparse.Namespace) -> int:
    """Approve or refuse a join request to a channel this node owns."""
    path = f"/api/v1/channels/{args.channel}/joins/{args.agency}"
    result = asyncio.run(api_client(args).post(path, {"decision": args.decision}))
    _report(result, args.proposal_out)
    return 0


def cmd_alarm(args: argparse.Namespace) -> int:
    """Keep the chain held, or replace it with the one another member holds; sends resume."""
    if args.decision == "replace" and not args.source:
        raise UsageError(ReasonCode.MISSING_FIELD, "replace needs --from AGENCY", path="from")
    if args.decision == "keep" and args.source:
        raise UsageError(ReasonCode.INCONSISTENT, "--from is for replace", path="from")
    body: dict[str, Any] = {"decision": args.decision}
    if args.source:
        body["from"] = args.source
    path = f"/api/v1/channels/{args.channel}/alarm"
    result = asyncio.run(api_client(args).post(path, body))
    if args.decision == "keep":
        print(f"{args.channel}: the chain held is kept; sends resume")
    else:
        print(
            f"{args.channel}: replaced by the chain {args.source} holds "
            f"(version {result.get('version', '?')} in force); sends resume"
        )
    return 0


def add_channel_commands(sub: Any, command: Command, api: Callable[[Any], None]) -> None:
    """Register ``baliza channel …``."""
    channel = command("channel", lambda a: 2, "programme channels and JITs").add_subparsers(
        dest="channel_command", required=True, metavar="ACTION"
    )

    def proposal_out(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--proposal-out", help="write a proposal that needs more owners to this file"
        )

    p = command("list", cmd_list, "channels this node knows, with join requests", channel)
    api(p)
    p = command("show", cmd_show, "one channel and its versions", channel)
    api(p)
    p.add_argument("channel", help="channel id, e.g. ccp.pacific-europe")
    p = command("create", cmd_create, "found a channel (you are an owner)", channel)
    api(p)
    proposal_out(p)
    p.add_argument("channel", help="channel id: lower case, digits, dots, dashes")
    p.add_argument("--kind", required=True, choices=["programme", "jit"], help="channel kind")
    p.add_argument("--name", required=True, help="name for people")
    p.add_argument(
        "--programme",
        choices=["ccp", "aircop", "gmcp", "jit", "other"],
        help="the programme the channel serves",
    )
    p.add_argument("--member", action="append", help="member agency (repeat)")
    p.add_argument(
        "--owner", action="append", help="owner agency (repeat; default: this agency alone)"
    )
    p.add_argument("--threshold", type=int, default=1, help="owners who must sign a change")
    p.add_argument("--valid-days", type=int, default=180, help="days each version is valid")
    p = command("members", cmd_members, "add or remove members (owners only)", channel)
    api(p)
    proposal_out(p)
    p.add_argument("channel", help="channel id")
    p.add_argument("--add", action="append", help="agency to admit (repeat)")
    p.add_argument("--remove", action="append", help="agency to remove (repeat)")
    p = command("review", cmd_review, "what a proposal file changes, and who signed", channel)
    api(p)
    p.add_argument("channel", help="channel id")
    p.add_argument("file", help="the proposal file another owner wrote")
    p = command("sign", cmd_sign, "read and sign another owner's proposal file", channel)
    api(p)
    proposal_out(p)
    p.add_argument("channel", help="channel id")
    p.add_argument("file", help="the proposal file another owner wrote")
    p.add_argument(
        "--confirm",
        metavar="FINGERPRINT",
        help="sign without asking: the fingerprint `baliza channel review` printed",
    )
    p.add_argument(
        "--lower-threshold",
        action="store_true",
        help="consent to a proposal that lowers the threshold of owner signatures",
    )
    p.add_argument(
        "--leave-owners",
        action="store_true",
        help="consent to a proposal that removes this agency as an owner",
    )
    p = command("join", cmd_join, "ask to join a programme channel", channel)
    api(p)
    p.add_argument("channel", help="channel id")
    p.add_argument("--owner", required=True, help="an owner agency of the channel")
    p.add_argument("--note", help="why (shown to the owner)")
    p = command("decide", cmd_decide, "approve or refuse a join request", channel)
    api(p)
    proposal_out(p)
    p.add_argument("channel", help="channel id")
    p.add_argument("agency", help="the agency that asked")
    p.add_argument("decision", choices=["approve", "refuse"], help="your decision")
    p = command("alarm", cmd_alarm, "decide on a channel whose sends an alarm paused", channel)
    api(p)
    p.add_argument("channel", help="channel id")
    p.add_argument(
        "decision",
        choices=["keep", "replace"],
        help="keep the chain held, or replace it with the chain --from holds",
    )
    p.add_argument("--from", dest="source", help="the member whose chain replaces the one held")
