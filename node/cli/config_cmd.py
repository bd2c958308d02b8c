"""``baliza config check|migrate``: the node's settings file, checked or brought to TOML.

``check`` reads what ``serve`` would read (file and ``BALIZA_*`` overrides)
and reports every problem at once, so an operator can fix a file before a
restart rather than after. ``migrate`` turns a ``node.json`` from before
``node.toml`` into TOML, keeping the old file beside it as
``node.json.migrated``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from baliza.node.cli.support import data_dir
from baliza.node.core.config import (
    CONFIG_FILE,
    ENV_PREFIX,
    LEGACY_CONFIG_FILE,
    NodeConfig,
    env_overrides,
    read_file,
)
from baliza.protocol.errors import ReasonCode, UsageError


def cmd_config_check(args: argparse.Namespace) -> int:
    """Read and check the settings as ``serve`` would; print where each came from."""
    folder = data_dir(args)
    path, _ = read_file(folder)
    config = NodeConfig.load(folder)
    overrides, _ = env_overrides(os.environ)
    print(f"{path}: ok")
    for key, value in config.settings().items():
        source = f"  (from {ENV_PREFIX}{key.upper()})" if key in overrides else ""
        shown = "<set>" if key == "database_url" and "@" in str(value) else value
        print(f"  {key} = {shown!r}{source}")
    return 0


def cmd_config_migrate(args: argparse.Namespace) -> int:
    """Rewrite ``node.json`` as ``node.toml``; the JSON file is kept as ``.migrated``."""
    folder = data_dir(args)
    legacy = folder / LEGACY_CONFIG_FILE
    if (folder / CONFIG_FILE).exists():
        raise UsageError(ReasonCode.CONFLICT, f"{folder / CONFIG_FILE} exists already")
    if not legacy.exists():
        raise UsageError(ReasonCode.BAD_CONFIG, f"{legacy} not found: nothing to migrate")
    # Checked without environment overrides: the file must stand on its own.
    config = NodeConfig.load(folder, environ={})
    path = config.save()
    legacy.rename(legacy.with_name(LEGACY_CONFIG_FILE + ".migrated"))
    print(f"{legacy} migrated to {path}; the old file is now {LEGACY_CONFIG_FILE}.migrated")
    return 0


def add_config_commands(
    sub: Any,
    command: Callable[..., argparse.ArgumentParser],
    data: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Register ``baliza config …``."""
    group = command("config", lambda a: 2, "the node's settings file (node.toml)")
    actions = group.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    p = command("check", cmd_config_check, "check the settings as serve would", actions)
    data(p)
    p = command("migrate", cmd_config_migrate, "rewrite node.json as node.toml", actions)
    data(p)
