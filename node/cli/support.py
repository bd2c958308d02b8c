"""Small pieces shared by the ``baliza`` commands: data folder, API client, output."""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from baliza.node.cli.client import ApiClient
from baliza.node.core.config import NodeConfig
from baliza.protocol.errors import ReasonCode, UsageError


def data_dir(args: argparse.Namespace) -> Path:
    """The node's data folder named by ``--data-dir``."""
    return Path(args.data_dir).resolve()


def opt_path(raw: str | None) -> Path | None:
    """A path argument that may be absent."""
    return Path(raw) if raw else None


def api_client(args: argparse.Namespace) -> ApiClient:
    """A client of the running node: ``--url`` or the data folder's, token from ``--token``."""
    url = args.url or NodeConfig.load(data_dir(args)).url
    token = args.token or os.environ.get("BALIZA_TOKEN", "")
    if not token:
        raise UsageError(ReasonCode.UNAUTHENTICATED, "no token: pass --token or set BALIZA_TOKEN")
    return ApiClient(url, token)


def print_json(value: Any) -> None:
    """Pretty JSON on stdout, for people and for ``jq``."""
    print(json.dumps(value, indent=2, ensure_ascii=False))


def when(ms: int | None) -> str:
    """A time for people: ``2026-12-01 01:15Z`` (UTC, as partners in other zones read it)."""
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%MZ")


def handling_label(item: dict[str, Any]) -> str:
    """``TLP:AMBER h2 "restrictions"``: the handling block as one line shows it."""
    handling = item.get("handling") or {"tlp": item.get("tlp", "?")}
    parts = [f"TLP:{handling['tlp'].upper()}", *handling.get("codes", [])]
    if handling.get("restrictions"):
        parts.append(repr(handling["restrictions"]))
    return " ".join(parts)
