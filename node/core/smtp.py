"""The agency's mail relay, as ``node.toml``'s ``[smtp]`` table configures it.

Notification e-mail goes through the relay the agency already runs (its
own mail system, its own archiving and filtering); the node never delivers
mail to the internet itself. The table is optional: without ``host`` the
node sends no e-mail, and notifications stay in the console.

    [smtp]
    host = "smtp.agency.example"
    port = 587
    from = "baliza@agency.example"
    starttls = true                          # default: true
    username = "baliza"                      # optional
    password_file = "/etc/baliza/smtp-pass"  # optional; never the password itself
    red_summaries = false                    # default: no e-mail about TLP:RED notices
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baliza.protocol.errors import ReasonCode, UsageError

_STRINGS = ("host", "from", "username", "password_file")
_BOOLS = ("starttls", "red_summaries")
KEYS = (*_STRINGS, "port", *_BOOLS)
EXAMPLE = {
    "host": '"smtp.agency.example"',
    "from": '"baliza@agency.example"',
    "username": '"baliza"',
    "password_file": '"/etc/baliza/smtp-password"',
    "port": "587",
    "starttls": "true",
    "red_summaries": "false",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class SmtpSettings:
    """Where and how to hand notification e-mail to the relay."""

    host: str
    port: int = 587
    sender: str
    starttls: bool = True
    username: str | None = None
    password_file: str | None = None
    red_summaries: bool = False

    def password(self) -> str | None:
        """The relay password, read from its file each time (rotated without a restart)."""
        if self.password_file is None:
            return None
        try:
            return Path(self.password_file).read_text().strip()
        except OSError as exc:
            raise UsageError(
                ReasonCode.BAD_CONFIG, f"cannot read the SMTP password file: {exc}", path="smtp"
            ) from None


def problems(table: Any) -> list[str]:
    """Every problem with an ``[smtp]`` table, each naming its key and an accepted value."""
    if not isinstance(table, Mapping):
        return ['smtp: must be a table (e.g. [smtp] host = "smtp.agency.example")']
    found = []
    for key in sorted(set(table) - set(KEYS)):
        found.append(f"smtp.{key}: unknown setting (known: {', '.join(KEYS)})")
    for key in _STRINGS:
        if key in table and (not isinstance(table[key], str) or not table[key].strip()):
            found.append(f"smtp.{key}: must be a non-empty string (e.g. {key} = {EXAMPLE[key]})")
    for key in _BOOLS:
        if key in table and not isinstance(table[key], bool):
            found.append(f"smtp.{key}: must be true or false (e.g. {key} = {EXAMPLE[key]})")
    port = table.get("port", 587)
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        found.append(f"smtp.port: must be an integer in [1, 65535], not {port!r} (e.g. port = 587)")
    if table and "host" in table and "from" not in table:
        found.append(
            f"smtp.from: missing: the address mail is sent from (e.g. from = {EXAMPLE['from']})"
        )
    if "username" in table and "password_file" not in table:
        found.append("smtp.password_file: missing: a username needs a password file")
    password_file = table.get("password_file")
    if isinstance(password_file, str) and password_file and not Path(password_file).is_file():
        found.append(f"smtp.password_file: {password_file} is not a readable file")
    return found


def smtp_settings(table: Mapping[str, Any]) -> SmtpSettings | None:
    """The relay settings of a checked ``[smtp]`` table; None when no relay is configured."""
    if not table.get("host"):
        return None
    return SmtpSettings(
        host=str(table["host"]),
        port=int(table.get("port", 587)),
        sender=str(table["from"]),
        starttls=bool(table.get("starttls", True)),
        username=table.get("username"),
        password_file=table.get("password_file"),
        red_summaries=bool(table.get("red_summaries", False)),
    )


def red_summaries(table: Mapping[str, Any]) -> bool:
    """Whether the agency's policy lets e-mail summarise TLP:RED notices (default: no)."""
    return bool(table.get("red_summaries", False))


def toml_lines(table: Mapping[str, Any]) -> list[str]:
    """The ``[smtp]`` table as ``node.toml`` writes it."""
    if not table:
        return []
    lines = ["", "[smtp]"]
    for key in KEYS:
        if key not in table:
            continue
        value = table[key]
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int):
            text = str(value)
        else:
            text = '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
        lines.append(f"{key} = {text}")
    return lines
