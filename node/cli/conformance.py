"""``baliza conformance``: run the black-box conformance suite against a federation node.

``baliza conformance --prepare PUBLIC.json --as KEYS`` founds a conformance
federation for the node whose card is given and prints its operator's
steps; ``baliza conformance URL --as KEYS`` then runs every check against
the node's federation URL (``--only AREA``, ``--junit FILE``), and
``--list`` names the checks. The exit code is 0 only if every check passed.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from baliza.node.conformance.checks import AREAS, Outcome
from baliza.node.conformance.prepare import prepare
from baliza.node.conformance.report import line, listing, summary, write_junit
from baliza.node.conformance.runner import run_suite, select
from baliza.protocol.errors import ReasonCode, UsageError

DEFAULT_MEMBER_URL = "http://127.0.0.1:9"


def cmd_conformance(args: argparse.Namespace) -> int:
    """Prepare a kit, list the checks, or run them against URL."""
    if args.list:
        for text in listing(select(args.only)):
            print(text)
        return 0
    if not args.keys:
        raise UsageError(ReasonCode.MISSING_FIELD, "name the suite's keys folder", path="--as")
    folder = Path(args.keys)
    if args.prepare:
        print(prepare(Path(args.prepare), folder, args.member_url), end="")
        return 0
    if not args.url:
        raise UsageError(ReasonCode.MISSING_FIELD, "the target node's federation URL", path="URL")
    checks = select(args.only)

    def show(outcome: Outcome) -> None:
        print(line(outcome), flush=True)

    outcomes = asyncio.run(run_suite(args.url, folder, checks, on_outcome=show, cafile=args.cafile))
    print(summary(outcomes))
    if args.junit:
        write_junit(Path(args.junit), outcomes, args.url)
    return 0 if all(o.passed for o in outcomes) else 1


def add_conformance_command(command: Callable[..., argparse.ArgumentParser], sub: Any) -> None:
    """Register ``baliza conformance`` on the main parser."""
    p = command(
        "conformance", cmd_conformance, "check another node against the protocol (black box)"
    )
    p.add_argument(
        "url", nargs="?", help="the target node's federation URL, e.g. https://node:8470"
    )
    p.add_argument(
        "--as", dest="keys", help="the suite's keys folder (written by --prepare, then read)"
    )
    p.add_argument(
        "--prepare",
        metavar="PUBLIC_JSON",
        help="found the conformance federation for the node of this card (public.json)",
    )
    p.add_argument(
        "--member-url",
        default=DEFAULT_MEMBER_URL,
        help=f"node URL the directory lists for the suite's members (default {DEFAULT_MEMBER_URL})",
    )
    p.add_argument("--only", action="append", choices=AREAS, help="run one area (repeat)")
    p.add_argument("--list", action="store_true", help="list the checks and exit")
    p.add_argument("--junit", help="write JUnit XML to this file")
    p.add_argument("--cafile", help="CA certificates to trust for an https target")
