"""Running the suite against a target: select the checks, run them in order, report."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path

import aiohttp

from baliza.node.conformance.checks import AREAS, Check, Outcome, Run, run_check
from baliza.node.conformance.kit import Kit
from baliza.node.conformance.suite import all_checks
from baliza.node.conformance.target import Target
from baliza.protocol.errors import ReasonCode, UsageError

TIMEOUT = aiohttp.ClientTimeout(total=120, sock_connect=10)


def select(only: list[str] | None) -> list[Check]:
    """Every check, or those of the areas named (``UsageError`` for an unknown area)."""
    checks = all_checks()
    if not only:
        return checks
    unknown = sorted(set(only) - set(AREAS))
    if unknown:
        raise UsageError(
            ReasonCode.BAD_FORMAT,
            f"unknown area {unknown[0]}; the areas are {', '.join(AREAS)}",
            path="--only",
        )
    return [c for c in checks if c.area in only]


async def run_suite(
    url: str,
    folder: Path,
    checks: list[Check],
    *,
    on_outcome: Callable[[Outcome], None],
    cafile: str | None = None,
) -> list[Outcome]:
    """Run ``checks`` against the node at ``url`` as the members of the kit in ``folder``."""
    kit = Kit.load(folder)
    context = ssl.create_default_context(cafile=cafile) if cafile else None
    connector = aiohttp.TCPConnector(ssl=context) if context else aiohttp.TCPConnector()
    outcomes: list[Outcome] = []
    # The suite reads answers as sent: no decompression of what the target answers.
    async with aiohttp.ClientSession(
        timeout=TIMEOUT, connector=connector, auto_decompress=False
    ) as session:
        run = Run(target=Target(url, kit.target.agency, session), kit=kit)
        for item in checks:
            outcome = await run_check(run, item)
            on_outcome(outcome)
            outcomes.append(outcome)
    return outcomes
