"""``baliza export stix``: notices as a STIX 2.1 file for the agency's own platform.

The node decides what may go (``views/exports.py``); the CLI only asks,
and says what it wrote. A TLP:RED notice needs ``--confirm-red``; persons
and companies go only with ``--nominal``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from baliza.node.cli.support import api_client
from baliza.node.cli.workflow import add_filter_options, filter_params

Command = Callable[..., argparse.ArgumentParser]


def _flags(args: argparse.Namespace) -> dict[str, str]:
    return {"nominal": str(int(args.nominal)), "confirm_red": str(int(args.confirm_red))}


def _write(args: argparse.Namespace, path: str, query: dict[str, str], what: str) -> int:
    out = Path(args.out)
    size = asyncio.run(api_client(args).download(f"{path}?{urlencode(query)}", out))
    print(f"wrote {out} ({size} bytes, {what})")
    return 0


def cmd_export_stix(args: argparse.Namespace) -> int:
    """Write one notice, or those matching the filters, as a STIX 2.1 bundle."""
    if args.id:
        path = f"/api/v1/notices/{quote(args.id, safe='')}/stix"
        return _write(args, path, _flags(args), "STIX 2.1")
    query = _flags(args) | filter_params(args) | {"limit": str(args.limit)}
    return _write(args, "/api/v1/export/stix", query, "STIX 2.1")


def cmd_export_table(args: argparse.Namespace) -> int:
    """Write the notices matching the filters as CSV or XLSX, one row each."""
    query = _flags(args) | filter_params(args) | {"limit": str(args.limit)}
    fmt = args.export_command
    return _write(args, f"/api/v1/export/notices.{fmt}", query, fmt.upper())


def cmd_export_alerts(args: argparse.Namespace) -> int:
    """Write the alert board as CSV or XLSX."""
    query = {"confirm_red": str(int(args.confirm_red))}
    if args.state:
        query["state"] = args.state
    return _write(args, f"/api/v1/export/alerts.{args.format}", query, args.format.upper())


def _choices(p: argparse.ArgumentParser, *, nominal: bool = True) -> None:
    if nominal:
        p.add_argument("--nominal", action="store_true", help="include persons and companies")
    p.add_argument(
        "--confirm-red",
        action="store_true",
        help="I confirm TLP:RED notices in the file stay with their recipients",
    )
    p.add_argument("-o", "--out", required=True, help="file to write")


def add_export_commands(sub: Any, command: Command, api: Callable[[Any], None]) -> None:
    """Register ``baliza export …``."""
    del sub
    export = command("export", lambda a: 2, "notices out to other systems").add_subparsers(
        dest="export_command", required=True, metavar="FORMAT"
    )
    limit_help = "at most this many notices, oldest first (default 1000, at most 10000)"
    p = command("stix", cmd_export_stix, "a STIX 2.1 bundle (MISP, OpenCTI)", export)
    api(p)
    p.add_argument("id", nargs="?", help="one notice (default: those matching the filters)")
    add_filter_options(p)
    p.add_argument("--q", help="full-text search words")
    p.add_argument("--limit", type=int, default=1000, help=limit_help)
    _choices(p)
    for fmt in ("csv", "xlsx"):
        p = command(fmt, cmd_export_table, f"notices as {fmt.upper()}, one row each", export)
        api(p)
        add_filter_options(p)
        p.add_argument("--q", help="full-text search words")
        p.add_argument("--limit", type=int, default=1000, help=limit_help)
        _choices(p)
    p = command("alerts", cmd_export_alerts, "the alert board as CSV or XLSX", export)
    api(p)
    p.add_argument("--format", choices=["csv", "xlsx"], default="xlsx", help="file format")
    p.add_argument("--state", choices=["open", "answered", "overdue"], help="only this state")
    _choices(p, nominal=False)
