"""Small pieces shared by the ``baliza`` commands: data folder, API client, output."""

from __future__ import annotations

import argparse
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from baliza.node.cli.client import ApiClient
from baliza.node.core.config import CONFIG_FILE, LEGACY_CONFIG_FILE, NodeConfig
from baliza.protocol.errors import ReasonCode, UsageError


def data_dir(args: argparse.Namespace) -> Path:
    """The node's data folder named by ``--data-dir``."""
    return Path(args.data_dir).resolve()


def opt_path(raw: str | None) -> Path | None:
    """A path argument that may be absent."""
    return Path(raw) if raw else None


URL_ENV = "BALIZA_URL"


def api_client(args: argparse.Namespace) -> ApiClient:
    """A client of the running node's local API, with the token from ``--token``.

    The URL is ``--url``, else ``$BALIZA_URL``, else the node's own listener
    from ``node.toml`` (``host``:``port``), never ``public_url``: that is the
    partner face, where the local API is not served. An https URL is checked
    against ``tls_ca_file`` when the data folder names one (an agency face
    with a certificate from the agency's CA), else the system's authorities.
    """
    token = args.token or os.environ.get("BALIZA_TOKEN", "")
    if not token:
        raise UsageError(ReasonCode.UNAUTHENTICATED, "no token: pass --token or set BALIZA_TOKEN")
    url = args.url or os.environ.get(URL_ENV, "")
    folder = data_dir(args)
    if url and not folder_holds_node(folder):
        return ApiClient(url, token)
    config = NodeConfig.load(folder)
    return ApiClient(url or config.local_url, token, ca_file=config.tls_ca_file)


def folder_holds_node(folder: Path) -> bool:
    """Whether ``folder`` has settings to read (``node.toml``, or a legacy ``node.json``)."""
    return (folder / CONFIG_FILE).is_file() or (folder / LEGACY_CONFIG_FILE).is_file()


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


PASSPHRASE_HELP = (
    "read the key passphrase from this file; - or /dev/stdin reads standard input"
    " (default: $BALIZA_PASSPHRASE, else a prompt)"
)


@contextmanager
def undo_on_failure(folder: Path) -> Iterator[None]:
    """Remove what was created in ``folder`` if the block fails (the folder too, if new)."""
    existed = folder.exists()
    before = set(folder.iterdir()) if existed else set()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        yield
    except BaseException:
        if not existed:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            for path in set(folder.iterdir()) - before:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
        raise
