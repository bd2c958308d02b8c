"""The operations commands (config, doctor, backup, restore), registered in one place."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from baliza.node.cli.backup import add_backup_commands
from baliza.node.cli.config_cmd import add_config_commands
from baliza.node.cli.doctor import add_doctor_command


def add_operations_commands(
    sub: Any,
    command: Callable[..., argparse.ArgumentParser],
    data: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Register the commands an operator runs on the node's machine."""
    add_config_commands(sub, command, data)
    add_doctor_command(command, data)
    add_backup_commands(command, data)
