"""A node whose clock is ten minutes fast: both sides' operators read "clock skew suspected".

Real ``baliza serve`` processes; Guayaquil's runs with its wall clock
shifted (``skewed_clock/sitecustomize.py``), so every request it signs is
outside Cartagena's five-minute window and refused as ``stale``, and
Cartagena's pulls are refused by Guayaquil the same way.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from cluster import ProcessNode, close_cluster, found_cluster
from workload import seizure

from baliza.node.core.config import NodeConfig

GYE, CTG = "ec.polnac.gye", "co.polfa.ctg"
SKEW_MS = 10 * 60_000
SHIM = Path(__file__).parent / "skewed_clock"


async def peer_state(http: aiohttp.ClientSession, node: ProcessNode, agency: str) -> str:
    headers = {"Authorization": f"Bearer {node.tokens['analyst']}"}
    async with http.get(node.api_url + "/api/v1/status", headers=headers) as resp:
        status = await resp.json()
    [peer] = [p for p in status["peers"] if p["agency"] == agency]
    return str(peer["state"])


def json_lines(node: ProcessNode) -> list[dict[str, Any]]:
    text = node.log_path.read_text(errors="replace")
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


async def until(predicate: Callable[[], Awaitable[bool]], limit_s: float = 30.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.2)
    raise AssertionError("timed out")


async def test_a_skewed_clock_is_suspected_in_status_and_logs(tmp_path: Path) -> None:
    """Guayaquil's status and WARNING line say "clock skew suspected"; so do Cartagena's logs."""
    nodes = await found_cluster(tmp_path, [GYE, CTG], pull_interval_ms=1000)
    try:
        gye, ctg = nodes[GYE], nodes[CTG]
        for node in (gye, ctg):
            config = NodeConfig.load(node.folder)
            dataclasses.replace(config, log_format="json").save()
        gye.env = {
            "PYTHONPATH": os.pathsep.join([str(SHIM), os.environ.get("PYTHONPATH", "")]),
            "BALIZA_TEST_CLOCK_OFFSET_MS": str(SKEW_MS),
        }
        await gye.start()
        await ctg.start()
        async with aiohttp.ClientSession() as http:
            body = {
                "notice": seizure(GYE, 7),
                "recipients": [CTG],
                "handling": {"tlp": "amber"},
            }
            headers = {"Authorization": f"Bearer {gye.tokens['publisher']}"}
            async with http.post(gye.api_url + "/api/v1/notices", json=body, headers=headers) as r:
                assert r.status == 201, await r.text()
                sent = (await r.json())["id"]

            async def gye_suspects() -> bool:
                return "clock skew suspected" in await peer_state(http, gye, CTG)

            await until(gye_suspects)
            state = await peer_state(http, gye, CTG)
            assert state.startswith(f"clock skew suspected: refused by {CTG}: stale"), state

            async def ctg_suspects() -> bool:
                # Cartagena pulls from Guayaquil, which refuses it as stale.
                return any(
                    e["level"] == "warning" and e.get("clock_skew_suspected")
                    for e in json_lines(ctg)
                )

            await until(ctg_suspects)
        warnings = [
            e for e in json_lines(gye) if e["level"] == "warning" and e.get("envelope_id") == sent
        ]
        assert warnings, gye.log_tail()
        first = warnings[0]
        assert first["peer"] == CTG and first["peer_reason"] == "stale"
        assert first["clock_skew_suspected"] is True and first["attempt"] == 1
        assert first["next_retry_ms"] > 0 and "clock skew suspected" in first["message"]
    finally:
        await close_cluster(nodes)
