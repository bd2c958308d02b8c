"""``baliza audit …``: the audit log for administrators and auditors (spec chapter 11).

``verify`` needs no node, network or database: it checks a bundle file
offline and says yes or no. ``heads`` and ``export`` ask the running node
through its API (admin token).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from baliza.crypto.audit import verify_bundle
from baliza.node.cli.support import api_client, when
from baliza.protocol.audit import EntryKind, InclusionBundle
from baliza.protocol.errors import BalizaError, ReasonCode, UsageError

Command = Callable[..., argparse.ArgumentParser]


def cmd_verify(args: argparse.Namespace) -> int:
    """Check a bundle offline (head signature, inclusion, content digest); 0 only if all hold."""
    path = Path(args.bundle)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UsageError(ReasonCode.NOT_FOUND, f"cannot read {path}: {err.strerror}") from None
    try:
        verified = verify_bundle(InclusionBundle.from_bytes(data))
    except BalizaError as err:
        print(f"NO: {err.reason.value}: {err}")
        return 1
    if args.fingerprint and args.fingerprint.replace(" ", "") != verified.fingerprint.replace(
        " ", ""
    ):
        print(
            f"NO: signed by the key with fingerprint {verified.fingerprint}, not {args.fingerprint}"
        )
        return 1
    entry, head = verified.entry, verified.head
    peer = f" peer {entry.peer}" if entry.peer else ""
    print(
        f"YES: {entry.kind.value} {entry.subject}{peer} at {when(entry.at_ms)} is entry "
        f"{verified.index} of {head.log}'s log"
    )
    print(f"  head: size {head.size}, root {head.root.hex()}, signed {when(head.at_ms)}")
    print(f"  signer fingerprint: {verified.fingerprint} (compare with the directory in force)")
    print(
        "  content: its SHA-256 is the entry's digest"
        if verified.content_checked
        else "  content: not in the bundle (the entry's digest alone is proven)"
    )
    return 0


def cmd_heads(args: argparse.Namespace) -> int:
    """Show this node's log size and the heads it signed."""
    answer: dict[str, Any] = asyncio.run(api_client(args).get("/api/v1/admin/audit/heads", {}))
    print(f"{answer['log']}: {answer['size']} entries, root {answer['root']}")
    for head in answer["heads"][: args.limit]:
        print(f"  head size {head['size']:>8}  {when(head['at_ms'])}  root {head['root']}")
    if not answer["heads"]:
        print("  no head signed yet")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write the bundle of the first entry about SUBJECT (an envelope id, a trust action)."""
    query = {k: v for k, v in (("kind", args.kind), ("peer", args.peer)) if v}
    path = f"/api/v1/admin/audit/entries/{quote(args.subject, safe='')}/bundle"
    if query:
        path += "?" + urlencode(query)
    data = asyncio.run(api_client(args).get_bytes(path))
    Path(args.out).write_bytes(data)
    print(f"bundle written to {args.out}: check it with `baliza audit verify {args.out}`")
    return 0


def add_audit_commands(sub: Any, command: Command, api: Callable[[Any], None]) -> None:
    """Register ``baliza audit …``."""
    audit = command("audit", lambda a: 2, "the tamper-evident audit log").add_subparsers(
        dest="audit_command", required=True, metavar="ACTION"
    )
    p = command("verify", cmd_verify, "check an exported bundle offline (yes or no)", audit)
    p.add_argument("bundle", help="the bundle file (`baliza audit export`)")
    p.add_argument(
        "--fingerprint", help="the log agency's key fingerprint from the directory in force"
    )
    p = command("heads", cmd_heads, "this node's log size and signed heads", audit)
    api(p)
    p.add_argument("--limit", type=int, default=10, help="heads to show (newest first)")
    p = command("export", cmd_export, "write an auditor's bundle for one entry", audit)
    api(p)
    p.add_argument("subject", help="an envelope id, or a trust action such as peer.block")
    p.add_argument("--kind", choices=[k.value for k in EntryKind], help="the entry's kind")
    p.add_argument("--peer", help="the other agency of the entry")
    p.add_argument("-o", "--out", required=True, help="file to write")
