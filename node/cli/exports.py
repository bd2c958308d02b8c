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


def cmd_export_stix(args: argparse.Namespace) -> int:
    """Write one notice, or the latest matching the filters, as a STIX 2.1 bundle."""
    flags = {
        "nominal": "1" if args.nominal else "0",
        "confirm_red": "1" if args.confirm_red else "0",
    }
    if args.id:
        path = f"/api/v1/notices/{quote(args.id, safe='')}/stix"
    else:
        path = "/api/v1/export/stix"
        flags |= {**filter_params(args), "limit": str(args.limit)}
    out = Path(args.out)
    size = asyncio.run(api_client(args).download(f"{path}?{urlencode(flags)}", out))
    print(f"wrote {out} ({size} bytes, STIX 2.1)")
    return 0


def add_export_commands(sub: Any, command: Command, api: Callable[[Any], None]) -> None:
    """Register ``baliza export …``."""
    del sub
    export = command("export", lambda a: 2, "notices out to other systems").add_subparsers(
        dest="export_command", required=True, metavar="FORMAT"
    )
    p = command("stix", cmd_export_stix, "a STIX 2.1 bundle (MISP, OpenCTI)", export)
    api(p)
    p.add_argument("id", nargs="?", help="one notice (default: the latest matching the filters)")
    add_filter_options(p)
    p.add_argument("--limit", type=int, default=50, help="how many recent notices (default 50)")
    p.add_argument("--nominal", action="store_true", help="include persons and companies")
    p.add_argument(
        "--confirm-red",
        action="store_true",
        help="I confirm TLP:RED notices in the file stay with their recipients",
    )
    p.add_argument("-o", "--out", required=True, help="file to write")
