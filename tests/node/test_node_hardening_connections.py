"""Slow, oversized, malformed and flooding clients are cut off early and cheaply.

Each test talks to a real node over loopback the way an attacker would: raw
bytes on a socket (nothing sent, headers a line at a time, a body that never
ends, garbage instead of HTTP, more connections than allowed), or signed
requests in a flood. The node ends each within its configured bounds, logs
one line and no traceback, and goes on serving everyone else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from hardening_kit import (
    RawClient,
    call,
    push,
    sealed,
    tampered,
    three_members,
    tracebacks,
)
from node_harness import Cluster, TestNode

from baliza.node.core.clock import now_ms
from baliza.node.services.fedauth import signed_headers
from baliza.protocol.errors import TransportError
from baliza.protocol.federation import MAX_BATCH_BYTES, MEDIA_TYPE, encode_batch


@pytest.fixture
async def trio(cluster: Cluster) -> AsyncIterator[tuple[TestNode, TestNode, TestNode]]:
    gye, alg, ctg = await three_members(
        cluster,
        header_timeout_ms=1000,
        body_timeout_ms=1000,
        max_connections=8,
        peer_requests_per_s=5,
        peer_concurrent_bodies=2,
    )
    await alg.start()
    yield gye, alg, ctg
    await alg.stop()


async def test_clients_that_do_not_finish_their_headers_are_cut_off(
    trio: tuple[TestNode, TestNode, TestNode], caplog: pytest.LogCaptureFixture
) -> None:
    _, alg, _ = trio
    caplog.set_level(logging.INFO)
    silent = await RawClient.connect(alg)
    assert await silent.closed_by_server()
    # Headers a line at a time, each line well within the deadline: the whole
    # head is not, and the node does not wait for it.
    trickle = await RawClient.connect(alg)
    sent = 0
    try:
        await trickle.send(b"GET /healthz HTTP/1.1\r\n")
        for n in range(100):
            await asyncio.sleep(0.2)
            await trickle.send(f"X-Slow-{n}: y\r\n".encode())
            sent += 1
    except ConnectionError:
        pass
    assert sent < 100
    assert await trickle.closed_by_server()
    # Idle between requests: the same deadline.
    idle = await RawClient.connect(alg)
    await idle.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await idle.reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
    assert await idle.closed_by_server()
    assert tracebacks(caplog.records) == []


async def test_a_body_that_never_ends_gets_a_timeout_answer(
    trio: tuple[TestNode, TestNode, TestNode], caplog: pytest.LogCaptureFixture
) -> None:
    _, alg, _ = trio
    caplog.set_level(logging.INFO)
    client = await RawClient.connect(alg)
    await client.send(
        b"POST /api/v1/notices HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {alg.tokens['publisher']}\r\n".encode()
        + b'Content-Length: 100000\r\n\r\n{"notice": '
    )
    answer = await client.answer()
    assert answer.startswith(b"HTTP/1.1 408")
    assert b'"timeout"' in answer
    assert tracebacks(caplog.records) == []


async def test_connections_over_the_cap_are_closed_at_once(
    trio: tuple[TestNode, TestNode, TestNode],
) -> None:
    _, alg, _ = trio
    held = [await RawClient.connect(alg) for _ in range(8)]
    try:
        await asyncio.sleep(0.1)
        extra = await RawClient.connect(alg)
        assert await extra.closed_by_server(limit_s=0.5)  # long before the header deadline
        assert alg.site is not None and alg.site.refused >= 1
    finally:
        for client in held:
            client.abort()
    await asyncio.sleep(0.1)
    status, _ = await call(alg, "GET", "/healthz", role=None)
    assert status == 200


async def test_disconnects_and_malformed_requests_log_no_traceback(
    trio: tuple[TestNode, TestNode, TestNode], caplog: pytest.LogCaptureFixture
) -> None:
    gye, alg, _ = trio
    caplog.set_level(logging.INFO)
    for garbage in (
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,  # TLS to a plain port
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\n\r\n",
        b"POST /api/v1/notices HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
    ):
        client = await RawClient.connect(alg)
        await client.send(garbage)
        assert (await client.answer(limit_s=5)).split(b" ", 2)[1].startswith(b"4")
    # Mid-body, on the API and on the inbox (claiming a member, as anyone can).
    body = encode_batch([b"\x00" * 1000])
    headers = signed_headers(
        gye.keys,
        method="POST",
        path="/fed/v1/inbox",
        destination=alg.agency,
        time_ms=now_ms(),
        body=body,
    )
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    for request in (
        b"POST /api/v1/notices HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {alg.tokens['publisher']}\r\n".encode()
        + b'Content-Length: 5000\r\n\r\n{"no',
        f"POST /fed/v1/inbox HTTP/1.1\r\nHost: x\r\nContent-Type: {MEDIA_TYPE}\r\n{head}".encode()
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body[:100],
    ):
        client = await RawClient.connect(alg)
        await client.send(request)
        await asyncio.sleep(0.2)
        client.abort()
    await asyncio.sleep(0.5)
    assert tracebacks(caplog.records) == []


async def test_bodies_are_not_read_beyond_what_the_claimed_origin_may_cost(
    trio: tuple[TestNode, TestNode, TestNode],
) -> None:
    gye, alg, _ = trio
    # A stranger holding no key claims Guayaquil's public id and declares 32 MiB bodies.
    headers = signed_headers(
        gye.keys,  # any signature: it will not match the body, which is never all sent
        method="POST",
        path="/fed/v1/inbox",
        destination=alg.agency,
        time_ms=now_ms(),
        body=b"",
    )
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())

    def request(length: int) -> bytes:
        return (
            f"POST /fed/v1/inbox HTTP/1.1\r\nHost: x\r\nContent-Type: {MEDIA_TYPE}\r\n{head}"
            f"Content-Length: {length}\r\n\r\n"
        ).encode() + b"\x00" * 1024

    slow = [await RawClient.connect(alg) for _ in range(3)]
    for client in slow:
        await client.send(request(MAX_BATCH_BYTES))
    answers = [await client.answer(limit_s=10) for client in slow]
    statuses = sorted(a.split(b" ", 2)[1] for a in answers)
    # Two are read (slowly: they time out), the third is refused before a byte is read.
    assert statuses == [b"408", b"408", b"429"]
    too_big = await RawClient.connect(alg)
    await too_big.send(request(MAX_BATCH_BYTES + 1))
    assert (await too_big.answer(limit_s=10)).split(b" ", 2)[1] == b"413"
    chunked = await RawClient.connect(alg)
    await chunked.send(
        f"POST /fed/v1/inbox HTTP/1.1\r\nHost: x\r\nContent-Type: {MEDIA_TYPE}\r\n{head}"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
    )
    assert (await chunked.answer(limit_s=10)).split(b" ", 2)[1] == b"400"


async def test_a_members_flood_of_bad_envelopes_is_refused_cheaply_and_others_go_through(
    trio: tuple[TestNode, TestNode, TestNode],
) -> None:
    gye, alg, ctg = trio
    bad = [tampered(sealed(gye.keys, [alg.keys])) for _ in range(10)]
    outcomes: list[str] = []
    for _ in range(6):
        try:
            results = await push(gye, alg, bad)
            outcomes.append(str(results[0][1]))
        except TransportError as exc:  # the client reports the 429 as a refusal
            outcomes.append(str(exc))
    assert outcomes[0] == "bad_signature"
    assert all("busy" in o for o in outcomes[1:]), outcomes
    received = alg.ctx.metrics["baliza_envelopes_received_total"]
    assert received == 10  # refused before any envelope was looked at
    # Cartagena's envelopes go through meanwhile.
    for _ in range(3):
        assert await push(ctg, alg, [sealed(ctg.keys, [alg.keys]).raw]) == [("accepted", None)]
