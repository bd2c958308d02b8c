"""Live streams cannot be held against the node: revocation ends them, stuck readers are cut.

Each follower costs a queue and a connection; a follower that never reads
makes writes wait. Here: a revoked token's open stream stops at the next
event, a token cannot open more than its share of streams, a follower that
does not read is cut off after the write timeout, and a follower dropping
mid-replay leaves an INFO line, not a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest
from hardening_kit import (
    RawClient,
    call,
    reason,
    stored_notices,
    three_members,
    tracebacks,
    wait_for,
)
from node_harness import Cluster, TestNode
from notice_json import publish_body

from baliza.node.core.clock import now_ms
from baliza.node.services.tokens import withdraw_token


@pytest.fixture
async def alg(cluster: Cluster) -> AsyncIterator[TestNode]:
    _, alg, _ = await three_members(
        cluster, max_streams_per_token=3, stream_write_timeout_ms=500, header_timeout_ms=5000
    )
    await alg.start()
    yield alg
    await alg.stop()


def stream_request(token: str) -> bytes:
    return (
        "GET /api/v1/stream HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()


async def new_token(node: TestNode, name: str) -> str:
    status, created = await call(
        node, "POST", "/api/v1/admin/tokens", json={"name": name, "role": "analyst"}
    )
    assert status == 201
    return str(created["token"])


async def test_a_revoked_tokens_open_stream_delivers_nothing_more(alg: TestNode) -> None:
    token = await new_token(alg, "soon revoked")
    gye = "ec.polnac.gye"
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            alg.url + "/api/v1/stream", headers={"Authorization": f"Bearer {token}"}
        ) as resp,
    ):
        assert resp.status == 200
        status, first = await call(
            alg, "POST", "/api/v1/notices", json=publish_body(alg.agency, [gye])
        )
        assert status == 201
        seen = b""
        async with asyncio.timeout(20):
            while first["id"].encode() not in seen:
                seen += await resp.content.readany()
        await withdraw_token(alg.ctx.db, token.split("_")[1], now_ms(), actor="test")
        status, second = await call(
            alg, "POST", "/api/v1/notices", json=publish_body(alg.agency, [gye])
        )
        assert status == 201
        rest = b""
        async with asyncio.timeout(20):
            while chunk := await resp.content.readany():  # ends: the node closes it
                rest += chunk
        assert second["id"].encode() not in rest
    assert alg.ctx.live.followers == 0


async def test_a_token_holds_a_bounded_number_of_streams(alg: TestNode) -> None:
    token = await new_token(alg, "greedy")
    clients = [await RawClient.connect(alg) for _ in range(24)]
    try:
        for client in clients:
            await client.send(stream_request(token))
        heads = [await c.reader.readuntil(b"\r\n\r\n") for c in clients]
        statuses = [h.split(b" ", 2)[1] for h in heads]
        assert statuses.count(b"200") == 3
        assert statuses.count(b"429") == 21
        # Another token is not affected by this one's streams.
        status, answer = await call(
            alg, "GET", "/api/v1/stream", role="analyst", params={"after": "x"}
        )
        assert (status, reason(answer)) == (422, "bad_format")
    finally:
        for client in clients:
            client.abort()
    await wait_for(lambda: _no_followers(alg))
    again = await RawClient.connect(alg)
    await again.send(stream_request(token))
    assert (await again.reader.readuntil(b"\r\n\r\n")).split(b" ", 2)[1] == b"200"
    again.abort()


async def _no_followers(node: TestNode) -> bool:
    return node.ctx.live.followers == 0


async def test_followers_that_do_not_read_are_cut_off(
    alg: TestNode, caplog: pytest.LogCaptureFixture
) -> None:
    # A backlog of ~8 MB of events: far more than socket buffers hold.
    await stored_notices(alg, 400, summary_bytes=20_000)
    tokens = [await new_token(alg, f"stuck {n}") for n in range(12)]
    stuck = [await RawClient.connect(alg, receive_buffer=4096) for _ in range(36)]
    caplog.set_level(logging.INFO)
    try:
        for n, client in enumerate(stuck):
            await client.send(stream_request(tokens[n % len(tokens)]))
            assert b" 200 " in await client.reader.readuntil(b"\r\n\r\n")
        # Nobody reads; the node gives each replay the write timeout, then ends it.
        await wait_for(lambda: _no_followers(alg), limit_s=60)
        status, _ = await call(alg, "GET", "/healthz", role=None)
        assert status == 200
        ended = [r for r in caplog.records if "ended: TimeoutError" in r.getMessage()]
        assert len(ended) == 36
    finally:
        for client in stuck:
            client.abort()
    assert tracebacks(caplog.records) == []


async def test_a_follower_dropping_mid_replay_logs_no_traceback(
    alg: TestNode, caplog: pytest.LogCaptureFixture
) -> None:
    await stored_notices(alg, 300, summary_bytes=5_000)
    caplog.set_level(logging.INFO)
    for _ in range(5):
        client = await RawClient.connect(alg)
        await client.send(stream_request(alg.tokens["analyst"]))
        await client.reader.readexactly(4096)  # the replay is under way
        client.abort()
    await wait_for(lambda: _no_followers(alg))
    assert tracebacks(caplog.records) == []
    assert any("ended" in r.getMessage() for r in caplog.records)
