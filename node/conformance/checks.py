"""The check registry and the runner.

A check is an async function of a ``Run`` that returns normally when the
target behaves as the spec says and raises ``Failed`` with a sentence
otherwise. Each is registered with its area, a short name and the spec
section it tests; areas run in a fixed order (the order of the spec), checks
within an area in the order they were written (``suite`` imports the area
modules, which register their checks here), because some build on what
an earlier one left at the target (a channel founded, a directory version
applied) and say so in their failure when it is missing.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp

from baliza.node.conformance.verdict import Failed
from baliza.protocol.errors import BalizaError

if TYPE_CHECKING:
    from baliza.node.conformance.kit import Kit
    from baliza.node.conformance.target import Target


@dataclass
class Run:
    """What every check is given: the target, the suite's keys, and facts earlier checks left."""

    target: Target
    kit: Kit
    facts: dict[str, Any] = field(default_factory=dict)


CheckFn = Callable[[Run], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Check:
    """One conformance check: which area, its name, the spec section and what it proves."""

    area: str
    name: str
    section: str
    title: str
    fn: CheckFn


@dataclass(frozen=True, slots=True)
class Outcome:
    """A check's result: passed, or the reason it failed; and how long it took."""

    check: Check
    passed: bool
    reason: str
    seconds: float


# Areas in the order of the spec; ``--only`` names one of these.
AREAS = (
    "requests",
    "envelopes",
    "directory",
    "pull",
    "channels",
    "subscriptions",
    "attachments",
)

_REGISTRY: list[Check] = []


def registered() -> list[Check]:
    """The checks registered so far, in the order they were written."""
    return list(_REGISTRY)


def check(area: str, name: str, section: str, title: str) -> Callable[[CheckFn], CheckFn]:
    """Register the decorated function as check ``area.name`` of spec ``section``."""
    if area not in AREAS:
        raise ValueError(f"unknown area {area}")

    def register(fn: CheckFn) -> CheckFn:
        _REGISTRY.append(Check(area, f"{area}.{name}", section, title, fn))
        return fn

    return register


async def run_check(run: Run, item: Check) -> Outcome:
    """Run one check; any failure, from the target or the transport, is its outcome."""
    start = time.monotonic()
    try:
        await item.fn(run)
    except Failed as err:
        return Outcome(item, False, str(err), time.monotonic() - start)
    except (aiohttp.ClientError, TimeoutError, OSError) as err:
        reason = f"transport: {type(err).__name__}: {err}"
        return Outcome(item, False, reason, time.monotonic() - start)
    except BalizaError as err:
        # An answer of the target that the reference decoder refuses.
        reason = f"answer refused by the reference decoder: {err.reason.value}: {err}"
        return Outcome(item, False, reason, time.monotonic() - start)
    return Outcome(item, True, "", time.monotonic() - start)
