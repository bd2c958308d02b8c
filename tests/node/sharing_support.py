"""Helpers for the subscription and handling tests: nodes, waiting, calling the CLI."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import pytest
from loopback_support import wait_for as wait_for  # the sharing tests import it from here
from node_harness import TestNode

from baliza.node.cli.main import main
from baliza.protocol.errors import BalizaError


async def received(node: TestNode) -> dict[str, dict[str, Any]]:
    """The notices ``node`` received, by envelope id, in full."""
    page = await node.api("analyst").get("/api/v1/notices", {"direction": "in", "limit": "200"})
    out = {}
    for item in page["items"]:
        out[item["id"]] = await node.api("analyst").get(f"/api/v1/notices/{item['id']}", {})
    return out


async def arrives(node: TestNode, eid: str) -> dict[str, Any]:
    """Wait until ``node`` holds ``eid``; return it in full."""

    async def there() -> bool:
        return eid in await received(node)

    await wait_for(there)
    return (await received(node))[eid]


async def refusal(call: Awaitable[Any]) -> BalizaError:
    """The error an API call was refused with (the test fails if it was not)."""
    with pytest.raises(BalizaError) as caught:
        await call
    return caught.value


async def cli(node: TestNode, role: str, *args: str) -> int:
    """Run ``baliza ARGS --url ... --token ...`` against a running node."""
    argv = [*args, "--url", node.url, "--token", node.tokens[role]]
    return await asyncio.to_thread(main, argv)
