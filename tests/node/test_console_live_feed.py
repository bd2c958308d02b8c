"""The console's live feed ends with its session: at sign-out, at the idle end, at revocation.

Real nodes on loopback and a cookie-keeping client, as a browser's
``EventSource`` would be: the feed is open, a notice arrives and is shown,
the session ends in one of its ways, and the next notice must not come
through (the node closes the stream instead). Sessions live in the database,
so each test runs on both engines.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from functools import partial

import aiohttp
import pytest
from console_client import signed_in
from node_harness import Cluster, TestNode
from notice_json import publish_body
from yarl import URL

from baliza.node.core.clock import now_ms
from baliza.node.services.sessions import IDLE_MS
from baliza.node.services.tokens import withdraw_token
from baliza.node.storage.sql import sessions as session_rows

End = Callable[[TestNode, aiohttp.ClientSession, str], Awaitable[None]]


@pytest.fixture
async def nodes(cluster: Cluster, database_engine: str) -> tuple[TestNode, TestNode]:
    gye, alg = await cluster(("ec.polnac.gye", "es.aduanas.alg"), database_engine)
    return gye, alg


async def _sign_out(node: TestNode, client: aiohttp.ClientSession, csrf: str) -> None:
    async with client.post(
        node.url + "/console/sign-out", data={"csrf": csrf}, allow_redirects=False
    ) as resp:
        assert resp.status == 303


def _session_hash(node: TestNode, client: aiohttp.ClientSession) -> bytes:
    cookie = client.cookie_jar.filter_cookies(URL(node.url))["baliza_session"].value
    return hashlib.sha256(cookie.encode()).digest()


async def _idle(node: TestNode, client: aiohttp.ClientSession, csrf: str) -> None:
    # Last used just over the idle limit ago; the feed itself is no use of it.
    await node.ctx.db.run(
        partial(
            session_rows.touch_session,
            id_hash=_session_hash(node, client),
            now_ms=now_ms() - IDLE_MS - 1000,
        ),
        write=True,
    )


async def _revoke(node: TestNode, client: aiohttp.ClientSession, csrf: str) -> None:
    token_id = node.tokens["analyst"].split("_")[1]
    await withdraw_token(node.ctx.db, token_id, now_ms(), actor="test")


async def _publish(node: TestNode, to: TestNode) -> str:
    answer = await node.api("publisher").post(
        "/api/v1/notices", publish_body(node.agency, [to.agency])
    )
    return str(answer["id"])


@pytest.mark.parametrize("end", [_sign_out, _idle, _revoke], ids=["sign-out", "idle", "revoked"])
async def test_the_live_feed_delivers_nothing_after_its_session_ends(
    nodes: tuple[TestNode, TestNode], end: End
) -> None:
    gye, alg = nodes
    client, csrf = await signed_in(gye, "analyst")
    async with client, client.get(gye.url + "/console/stream") as feed:
        assert feed.status == 200
        assert feed.headers["Content-Type"].startswith("text/event-stream")
        first = await _publish(gye, alg)
        seen = b""
        async with asyncio.timeout(20):
            while first.encode() not in seen:
                seen += await feed.content.readany()
        await end(gye, client, csrf)
        second = await _publish(gye, alg)
        rest = b""
        async with asyncio.timeout(20):
            while chunk := await feed.content.readany():  # ends: the node closes it
                rest += chunk
        assert second.encode() not in rest
    assert gye.ctx.live.followers == 0


async def test_an_idle_session_ends_a_quiet_feed_at_its_next_keep_alive(
    nodes: tuple[TestNode, TestNode],
) -> None:
    """No notice arrives: the keep-alive's check ends the feed all the same."""
    gye, _ = nodes
    client, csrf = await signed_in(gye, "analyst")
    async with client, client.get(gye.url + "/console/stream") as feed:
        assert feed.status == 200
        await _idle(gye, client, csrf)
        rest = b""
        async with asyncio.timeout(40):  # a keep-alive is due every 15 s
            while chunk := await feed.content.readany():
                rest += chunk
        assert b"keep-alive" not in rest  # ended at the first check, nothing more sent
    assert gye.ctx.live.followers == 0
