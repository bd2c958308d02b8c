"""What an operator sees when a peer refuses: a WARNING line with fields, and the status.

Real nodes on loopback, on both engines; the log lines are read as the
node writes them (the JSON formatter and request-id filter ``serve`` uses).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from loopback_support import wait_for
from node_harness import Cluster, TestNode
from notice_json import publish_body

from baliza.node.core.logs import JsonFormatter, RequestIdFilter


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The root logger's lines at INFO, as JSON, the way ``serve --log-format json`` writes them."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter("test"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]


async def peer_state(node: TestNode, agency: str) -> dict[str, Any]:
    status = await node.api("analyst").get("/api/v1/status", {})
    [peer] = [p for p in status["peers"] if p["agency"] == agency]
    return dict(peer)


async def test_a_peer_that_blocks_us_shows_in_status_and_a_warning_line(
    cluster: Cluster, database_engine: str, json_log: io.StringIO
) -> None:
    """Algeciras blocks Guayaquil: Guayaquil's operator sees who refused and why."""
    gye, alg = await cluster(("ec.polnac.gye", "es.aduanas.alg"), database_engine)
    await alg.api("admin").post(f"/api/v1/admin/peers/{gye.agency}/block", {"reason": "audit"})
    sent = await gye.api().post("/api/v1/notices", publish_body(gye.agency, [alg.agency]))

    async def refused() -> bool:
        return str((await peer_state(gye, alg.agency))["state"]).startswith("refused by")

    await wait_for(refused)
    peer = await peer_state(gye, alg.agency)
    assert peer["state"].startswith(f"refused by {alg.agency}: sender_blocked"), peer
    assert peer["refused_reason"] == "sender_blocked" and not peer["clock_skew_suspected"]

    [warning] = [
        e for e in lines(json_log) if e["level"] == "warning" and e.get("envelope_id") == sent["id"]
    ]
    assert warning["peer"] == alg.agency
    assert warning["reason"] == "sender_blocked" and warning["attempt"] == 1
    # The request id went to the peer, whose request log recorded it.
    inbox = [
        e
        for e in lines(json_log)
        if e["logger"] == "baliza.request" and e.get("path") == "/fed/v1/inbox"
    ]
    assert warning["request_id"] in {e.get("request_id") for e in inbox}, (warning, inbox)

    # Unblocked, the next notice goes: the status follows what happened last.
    await alg.api("admin").delete(f"/api/v1/admin/peers/{gye.agency}/block")
    await gye.api().post("/api/v1/notices", publish_body(gye.agency, [alg.agency]))

    async def ok() -> bool:
        return str((await peer_state(gye, alg.agency))["state"]).startswith("ok")

    await wait_for(ok)
    assert (await peer_state(gye, alg.agency))["refused_reason"] is None


async def test_an_unreachable_peer_is_a_warning_with_the_next_retry_then_recovery(
    cluster: Cluster, database_engine: str, json_log: io.StringIO
) -> None:
    """A peer down: WARNING per failed attempt (attempt, next retry); back: one INFO line."""
    gye, alg = await cluster(("ec.polnac.gye", "es.aduanas.alg"), database_engine)
    await alg.stop()
    sent = await gye.api().post("/api/v1/notices", publish_body(gye.agency, [alg.agency]))

    def failures() -> list[dict[str, Any]]:
        return [
            e
            for e in lines(json_log)
            if e["level"] == "warning" and e.get("peer") == alg.agency and "attempt" in e
        ]

    async def failed() -> bool:
        return bool(failures())

    await wait_for(failed)
    first = failures()[0]
    assert first["reason"] == "peer_unreachable" and first["envelope_id"] == sent["id"]
    assert first["attempt"] == 1 and first["next_retry_ms"] > 0 and first["envelopes"] == 1
    assert "failing since" in (await peer_state(gye, alg.agency))["state"]

    await alg.start()

    async def recovered() -> bool:
        return any(
            e["level"] == "info" and "recovered" in e["message"] and e.get("peer") == alg.agency
            for e in lines(json_log)
        )

    await wait_for(recovered, what="a recovery line")
    assert str((await peer_state(gye, alg.agency))["state"]).startswith("ok")
