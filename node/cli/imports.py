"""``baliza import alerts FILE``: a targeting list into pre-arrival alerts, reviewed first.

Without ``--publish`` it only shows what the file becomes: each row's alert,
or the column and reason that keep it from being one. With ``--publish`` it
publishes the batch, and only if every row is a valid alert: a list with
one bad row publishes nothing, so it can be fixed and sent again whole.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from baliza.node.cli.support import api_client
from baliza.protocol.errors import ReasonCode, UsageError

Command = Callable[..., argparse.ArgumentParser]
_TYPES = {".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _when(raw: Any) -> str:
    if isinstance(raw, int):
        return datetime.fromtimestamp(raw / 1000, UTC).strftime("%Y-%m-%d %H:%MZ")
    return str(raw)


def cmd_import_alerts(args: argparse.Namespace) -> int:
    """Show what a list becomes; with --publish, publish it if every row is an alert."""
    path = Path(args.file)
    if not path.is_file():
        raise UsageError(ReasonCode.NOT_FOUND, f"no such file: {path}", path="file")
    if bool(args.to) == bool(args.channel):
        raise UsageError(ReasonCode.MISSING_FIELD, "give --to AGENCY[,AGENCY] or --channel")
    query = {"programme": args.programme, "lang": args.lang}
    query |= {k: v for k in ("origin", "destination") if (v := getattr(args, k))}
    api = api_client(args)
    media = _TYPES.get(path.suffix.lower(), "text/csv")
    batch = asyncio.run(api.post_file(f"/api/v1/imports/alerts?{urlencode(query)}", path, media))
    for draft in batch["drafts"]:
        notice = draft["notice"]
        print(
            f"row {draft['row']:>4}  {notice['subject']['container']}  "
            f"{notice['origin']['locode']} -> {notice['destination']['locode']}  "
            f"expected {_when(notice['expected_ms'])}"
        )
    for error in batch["errors"]:
        print(f"row {error['row']:>4}  {error['column']}: {error['reason']}: {error['detail']}")
    if batch["ignored_columns"]:
        print(f"columns not read: {', '.join(batch['ignored_columns'])}")
    print(f"{len(batch['drafts'])} of {batch['rows']} rows are alerts")
    if batch["errors"]:
        print("nothing published: correct the rows above and import the file again")
        return 1
    if not args.publish:
        print("review them, then run again with --publish to send them")
        return 0
    body: dict[str, Any] = {
        "drafts": [d["notice"] for d in batch["drafts"]],
        "handling": {"tlp": args.tlp},
    }
    if args.channel:
        body["channel"] = args.channel
    else:
        body["recipients"] = [a.strip() for a in args.to.split(",") if a.strip()]
    answer = asyncio.run(api.post("/api/v1/imports/alerts/publish", body))
    print(f"published {len(answer['published'])} alerts")
    return 0


def cmd_import_stix(args: argparse.Namespace) -> int:
    """Write one draft alert per identifier a STIX bundle names, for an officer to complete."""
    path = Path(args.file)
    try:
        bundle = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise UsageError(ReasonCode.MALFORMED, f"cannot read {path} as JSON: {err}") from None
    answer = asyncio.run(api_client(args).post("/api/v1/imports/stix", bundle))
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for index, draft in enumerate(answer["drafts"], start=1):
        target = out / f"draft-{index}.json"
        target.write_text(json.dumps(draft, indent=2, ensure_ascii=False) + "\n")
        subject = draft["subject"]
        named = subject.get("container") or subject.get("awb") or subject.get("vessel", {})
        print(f"{target}: {subject['type']} {named}")
    if not answer["drafts"]:
        print("the bundle names no container, vessel, flight or air waybill")
        return 1
    missing = ", ".join(answer["to_complete"])
    print(f"complete {missing} in each, then: baliza publish FILE --to AGENCY")
    return 0


def add_import_commands(command: Command, api: Callable[[Any], None]) -> None:
    """Register ``baliza import …``."""
    imports = command("import", lambda a: 2, "lists in from other systems").add_subparsers(
        dest="import_command", required=True, metavar="WHAT"
    )
    p = command("alerts", cmd_import_alerts, "a targeting list (CSV or XLSX) as alerts", imports)
    api(p)
    p.add_argument("file", help="CSV (UTF-8) or XLSX: container, origin, destination, expected")
    p.add_argument("--to", help="recipient agencies, comma-separated")
    p.add_argument("--channel", help="or a channel to publish them to")
    p.add_argument("--programme", default="ccp", help="programme of every alert (default ccp)")
    p.add_argument("--origin", help="UN/LOCODE for rows without an origin")
    p.add_argument("--destination", help="UN/LOCODE for rows without a destination")
    p.add_argument("--lang", default="en", help="language of the notes column (default en)")
    p.add_argument(
        "--tlp",
        default="amber",
        choices=["clear", "green", "amber", "amber+strict", "red"],
        help="TLP of every alert (default amber)",
    )
    p.add_argument("--publish", action="store_true", help="publish them (all rows must be valid)")

    p = command("stix", cmd_import_stix, "a STIX bundle as draft alerts to complete", imports)
    api(p)
    p.add_argument("file", help="a STIX 2.1 bundle (JSON)")
    p.add_argument("-o", "--out-dir", default=".", help="folder for draft-N.json (default .)")
