"""/metrics on real nodes: valid text, the queue per peer, refusals by reason, one read unit.

Issue 21 item 9: an operator must be able to alert on what is wrong. Each
test drives two real nodes on loopback into the state an alert is for (a
peer down, a peer that refuses, a stranger without a token) and reads it
back from a scrape, parsed strictly (tests/prometheus_text.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from loopback_support import wait_for
from node_harness import Cluster, TestNode
from notice_json import publish_body
from prometheus_text import Family, parse

from baliza.node.services.trust_admin import BlockKind, block_agency

GYE, ALG = "ec.polnac.gye", "es.aduanas.alg"


async def scrape(node: TestNode) -> dict[str, Family]:
    async with aiohttp.ClientSession() as session, session.get(node.url + "/metrics") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        return parse(await resp.text())


async def test_every_family_after_a_delivery(cluster: Cluster, database_engine: str) -> None:
    gye, alg = await cluster((GYE, ALG), database_engine)
    published = await gye.api().post("/api/v1/notices", publish_body(GYE, [ALG]))

    async def delivered() -> bool:
        return (await scrape(gye))["baliza_envelopes_delivered_total"].value() == 1

    await wait_for(delivered)
    sender, receiver = await scrape(gye), await scrape(alg)
    assert sender["baliza_notices_published_total"].value(agency=GYE) == 1
    assert (
        sender["baliza_publish_duration_seconds"].samples[
            ("baliza_publish_duration_seconds_count", (("agency", GYE),))
        ]
        == 1
    )
    assert (
        sender["baliza_delivery_latency_seconds"].samples[
            ("baliza_delivery_latency_seconds_count", (("agency", GYE),))
        ]
        == 1
    )
    assert (
        receiver["baliza_ingest_duration_seconds"].samples[
            ("baliza_ingest_duration_seconds_count", (("agency", ALG),))
        ]
        >= 1
    )
    # Delivered: the peer is listed with an empty queue, not absent.
    assert sender["baliza_outbox_pending"].value(peer=ALG) == 0
    assert sender["baliza_outbox_oldest_pending_age_seconds"].value(peer=ALG) == 0
    assert sender["baliza_peer_failing_seconds"].value(peer=ALG) == 0
    now = time.time()
    assert sender["baliza_directory_version"].value() == gye.ctx.trust.version >= 1
    assert 0 <= sender["baliza_directory_age_seconds"].value() < 3600
    assert sender["baliza_directory_expires_timestamp_seconds"].value() > now + 86400
    assert sender["baliza_signing_key_expires_timestamp_seconds"].value() > now + 86400
    assert sender["baliza_live_followers"].value() == 0
    info = sender["baliza_build_info"]
    assert list(info.samples.values()) == [1]
    assert sender["process_start_time_seconds"].value() <= now
    assert sender["process_resident_memory_bytes"].value() > 1_000_000
    assert 0 < sender["process_open_fds"].value() < sender["process_max_fds"].value()
    # The public face says nothing of the notice: no id, no content.
    text = "\n".join(str(k) for f in sender.values() for k in f.samples)
    assert published["id"] not in text and "MSCU" not in text


async def test_queue_depth_and_age_while_the_peer_is_down(
    cluster: Cluster, database_engine: str
) -> None:
    gye, alg = await cluster((GYE, ALG), database_engine, start=[GYE])
    for grams in (1, 2):
        await gye.api().post("/api/v1/notices", publish_body(GYE, [ALG], grams=grams))

    async def failing() -> bool:
        return (await scrape(gye))["baliza_peer_failing_seconds"].value(peer=ALG) > 0

    await wait_for(failing, what="the failed delivery to show")
    families = await scrape(gye)
    assert families["baliza_outbox_pending"].value(agency=GYE, peer=ALG) == 2
    first_age = families["baliza_outbox_oldest_pending_age_seconds"].value(peer=ALG)
    assert first_age > 0
    assert families["baliza_delivery_failures_total"].value() >= 1

    await alg.start()

    async def drained() -> bool:
        return (await scrape(gye))["baliza_outbox_pending"].value(peer=ALG) == 0

    await wait_for(drained, limit_s=40, what="the queue to drain once the peer is back")
    families = await scrape(gye)
    assert families["baliza_outbox_oldest_pending_age_seconds"].value(peer=ALG) == 0
    assert families["baliza_peer_failing_seconds"].value(peer=ALG) == 0
    latency = families["baliza_delivery_latency_seconds"]
    assert latency.samples[("baliza_delivery_latency_seconds_count", (("agency", GYE),))] == 2
    # Both waited at least as long as the peer was down.
    assert latency.samples[("baliza_delivery_latency_seconds_sum", (("agency", GYE),))] > first_age


async def test_a_blocked_sender_is_counted_by_reason_on_both_sides(
    cluster: Cluster, database_engine: str
) -> None:
    """The attack: an agency pushes to a peer that has blocked it; both nodes say so."""
    gye, alg = await cluster((GYE, ALG), database_engine)
    await block_agency(alg.ctx, GYE, BlockKind.BLOCK, "test", at_ms=0, actor="t")
    await gye.api().post("/api/v1/notices", publish_body(GYE, [ALG]))

    async def refused() -> bool:
        return (await scrape(gye))["baliza_envelopes_refused_by_peer_total"].value() == 1

    await wait_for(refused)
    out = (await scrape(gye))["baliza_envelope_refusals_total"]
    assert out.value(direction="out", peer=ALG, reason="sender_blocked") == 1
    inbound = (await scrape(alg))["baliza_envelope_refusals_total"]
    assert inbound.value(direction="in", peer=GYE, reason="sender_blocked") == 1


async def test_requests_without_a_token_are_counted_by_reason(cluster: Cluster) -> None:
    (gye,) = await cluster((GYE,))
    async with aiohttp.ClientSession() as session:
        for _ in range(3):
            async with session.get(gye.url + "/api/v1/notices") as resp:
                assert resp.status == 401
        async with session.get(
            gye.url + "/api/v1/notices", headers={"Authorization": "Bearer forged"}
        ) as resp:
            assert resp.status == 401
    refused = (await scrape(gye))["baliza_requests_refused_total"]
    assert refused.value(reason="unauthenticated") == 4


async def test_a_scrape_costs_one_read_unit(
    cluster: Cluster, database_engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    gye, _ = await cluster((GYE, ALG), database_engine, start=[GYE])
    await gye.api().post("/api/v1/notices", publish_body(GYE, [ALG]))
    db = gye.ctx.db
    real_run = db.run
    # Background tasks (couriers, gossip) run units of their own meanwhile:
    # count only those of tasks born after this point, the scrape's connection.
    before = asyncio.all_tasks()
    units: list[bool] = []

    async def recording_run(work: Callable[[Any], Any], *, write: bool) -> Any:
        if asyncio.current_task() not in before:
            units.append(write)
        result: Awaitable[Any] = real_run(work, write=write)
        return await result

    monkeypatch.setattr(db, "run", recording_run)
    families = await scrape(gye)
    assert units == [False]
    assert families["baliza_outbox_pending"].value(peer=ALG) == 1
