"""Example notices people start from: ``baliza notice template KIND``.

The examples are JSON files in the ``examples/`` folder of the repository
(installed as ``baliza.examples``), written as an officer would: ISO 8601
times, ``"412 kg"``, identifiers with spaces. Ids of other notices they
point at are placeholders in capitals (``ALERT_ID``) to replace.
"""

from __future__ import annotations

import importlib.resources
import json
from typing import Any

from baliza.protocol.errors import InputError, ReasonCode

# Kind names people type, for the examples whose file names say more.
ALIASES = {"seizure": "seizure-seaport", "courier": "seizure-air-courier"}


def names() -> list[str]:
    """The example names: ``alert``, ``seizure-seaport``…"""
    files = importlib.resources.files("baliza.examples").iterdir()
    return sorted(f.name.removesuffix(".json") for f in files if f.name.endswith(".json"))


def example_text(name: str) -> str:
    """The example ``name`` as written in its file."""
    short = name.removeprefix("notice.")
    short = ALIASES.get(short, short)
    matches = [n for n in names() if n == short]
    if not matches:
        raise InputError(
            ReasonCode.NOT_FOUND, f"no example {name!r}; choose one of: {', '.join(names())}"
        )
    return (importlib.resources.files("baliza.examples") / f"{matches[0]}.json").read_text()


def example(name: str, **ids: str) -> dict[str, Any]:
    """The example ``name`` as JSON, with placeholders (``ALERT_ID=…``) filled in."""
    text = example_text(name)
    for placeholder, value in ids.items():
        text = text.replace(f'"{placeholder}"', json.dumps(value))
    loaded: dict[str, Any] = json.loads(text)
    return loaded
