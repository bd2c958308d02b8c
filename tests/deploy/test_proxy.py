"""The shipped nginx configuration, run for real in front of real nodes.

A partner node reaches the other's inbox through the proxy over TLS (the
sender trusts the test CA through ``tls_ca_file``); the partner face serves
nothing but /fed/v1/ and /healthz, however the path is dressed up; a client
that dribbles its headers is cut off by the header timeout; the body limit is
the protocol's batch limit.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import harness_path  # noqa: F401  (tests/node on the path)
import pytest
from node_harness import TestNode, introduce, make_node
from notice_json import publish_body
from proxy_support import TEMPLATE, Pki, Proxy, make_pki, nginx_binary, start_proxy

from baliza.node.cli.client import ApiClient
from baliza.protocol.federation import MAX_BATCH_BYTES


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    nginx_binary()  # skip (or fail in CI) before any work when nginx is missing
    return make_pki(tmp_path / "pki")


@pytest.fixture
async def federation(tmp_path: Path, pki: Pki) -> AsyncIterator[tuple[TestNode, TestNode, Proxy]]:
    """Node A behind nginx (its directory URL is the proxy's partner face); node B direct."""
    a = make_node(tmp_path, "co.polfa.ctg", f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    proxy = start_proxy(tmp_path / "nginx", pki, a.config.port)
    a.config = replace(a.config, public_url=proxy.partner_url)
    b = make_node(
        tmp_path,
        "es.aduanas.alg",
        f"sqlite+aiosqlite:///{tmp_path / 'b.db'}",
        tls_ca_file=str(pki.ca),
    )
    introduce(a, b)
    try:
        await a.start()
        await b.start()
        yield a, b, proxy
    finally:
        await b.stop()
        await a.stop()
        proxy.stop()


def direct(node: TestNode, role: str) -> ApiClient:
    """The node's API on its own loopback port (its public URL is the proxy's partner face)."""
    return ApiClient(f"http://{node.config.host}:{node.config.port}", node.tokens[role])


async def fetch(url: str, pki: Pki, token: str = "") -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    connector = aiohttp.TCPConnector(ssl=pki.client_context())
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(url, headers=headers) as resp,
    ):
        return resp.status


async def request_id_answered(url: str, pki: Pki, given: str | None) -> str:
    """The X-Request-Id the node answers through the proxy, for a request naming ``given``."""
    headers = {} if given is None else {"X-Request-Id": given}
    connector = aiohttp.TCPConnector(ssl=pki.client_context())
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(url, headers=headers) as resp,
    ):
        assert resp.status == 200
        return resp.headers["X-Request-Id"]


async def test_a_peers_request_id_passes_the_proxy(
    federation: tuple[TestNode, TestNode, Proxy], pki: Pki
) -> None:
    """A peer's node names its request; both agencies' logs then share that id."""
    _, _, proxy = federation
    url = proxy.partner_url + "/healthz"
    assert await request_id_answered(url, pki, "3f9c0d2e8a7b4c1d") == "3f9c0d2e8a7b4c1d"
    made = await request_id_answered(url, pki, None)
    assert len(made) == 32 and int(made, 16) >= 0  # nginx's own $request_id
    # An id the node would not keep (too short) is replaced by the node's own.
    assert await request_id_answered(url, pki, "x") != "x"


def raw_request(port: int, pki: Pki, request: bytes) -> bytes:
    """Send bytes as they are over TLS (no client-side path clean-up); the answer's head."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        pki.client_context().wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(request)
        return tls.recv(200)


async def test_a_partner_delivers_through_the_proxy_over_tls(
    federation: tuple[TestNode, TestNode, Proxy],
) -> None:
    a, b, _ = federation
    published = await b.api().post("/api/v1/notices", publish_body(b.agency, [a.agency]))
    for _ in range(300):  # bounded wait for the courier; a failure shows the last state
        page = await direct(a, "analyst").get("/api/v1/notices", {})
        if any(item["id"] == published["id"] for item in page["items"]):
            break
        await asyncio.sleep(0.05)
    else:
        status = await b.api("analyst").get("/api/v1/status", {})
        pytest.fail(f"notice not delivered through the proxy: {status}")
    delivery = await b.api("analyst").get(f"/api/v1/notices/{published['id']}/delivery", {})
    assert "delivered" in str(delivery), delivery


async def test_the_partner_face_serves_only_federation_and_health(
    federation: tuple[TestNode, TestNode, Proxy], pki: Pki
) -> None:
    a, _, proxy = federation
    token = a.tokens["admin"]
    # The same token opens the API on the agency face: the refusal below is the proxy's.
    assert await fetch(proxy.internal_url + "/api/v1/status", pki, token) == 200
    assert await fetch(proxy.internal_url + "/metrics", pki) == 200
    assert await fetch(proxy.partner_url + "/healthz", pki) == 200
    # The console with or without its slash (redirected to sign in).
    for path in ("/", "/console", "/console/"):
        assert await fetch(proxy.internal_url + path, pki) == 200, path
    # TAXII is for the agency's own platform: served inside, never to partners.
    assert await fetch(proxy.internal_url + "/taxii2/", pki, token) == 200
    inside_only = ("/api/v1/status", "/api/v1/admin/keys", "/metrics", "/", "/console")
    for path in (*inside_only, "/taxii2/", "/taxii2/baliza/collections/"):
        assert await fetch(proxy.partner_url + path, pki, token) == 404, path
    # Paths dressed up to leave /fed/v1/ after nginx matched it; sent raw.
    for path in (
        "/fed/v1/../api/v1/status",
        "/fed/v1/%2e%2e/api/v1/status",
        "/fed/v1/..%2fapi/v1/status",
        "/fed/v1/%2E%2E%2Fapi%2Fv1%2Fstatus",
        "/fed/v1/inbox/../../../api/v1/status",
        "/fed%2fv1/../api/v1/status",
    ):
        request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        head = await asyncio.to_thread(raw_request, proxy.partner_port, pki, request)
        status = int(head.split(b" ")[1])
        assert status in (400, 404), (path, head)


async def test_a_burst_of_health_probes_from_one_address_passes(
    federation: tuple[TestNode, TestNode, Proxy], pki: Pki
) -> None:
    """Shared monitoring probes many things at once from one address: no 429 for /healthz.

    40 probes over 10 connections (the partner face allows 20 per address)
    at once; with the old allowance (burst 10) the eleventh was refused.
    """
    _, _, proxy = federation
    connector = aiohttp.TCPConnector(ssl=pki.client_context(), limit=10)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def probe() -> int:
            async with session.get(proxy.partner_url + "/healthz") as resp:
                return resp.status

        statuses = await asyncio.gather(*(probe() for _ in range(40)))
    assert statuses == [200] * 40, statuses


async def test_a_body_over_the_batch_limit_is_refused_by_the_proxy(
    federation: tuple[TestNode, TestNode, Proxy], pki: Pki
) -> None:
    _, _, proxy = federation
    request = (
        f"POST /fed/v1/inbox HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Length: {MAX_BATCH_BYTES + 1}\r\nConnection: close\r\n\r\n"
    ).encode()
    head = await asyncio.to_thread(raw_request, proxy.partner_port, pki, request)
    assert head.startswith(b"HTTP/1.1 413"), head


def test_the_body_limit_is_the_protocols_batch_limit() -> None:
    limits = re.findall(r"client_max_body_size (\d+)m;", TEMPLATE.read_text())
    assert limits and all(int(m) << 20 == MAX_BATCH_BYTES for m in limits), limits


def dribble(port: int, pki: Pki, rounds: int) -> tuple[int, bytes]:
    """Send a header line every 0.2 s; return how many were sent and what came back."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        pki.client_context().wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        tls.settimeout(0.2)
        for sent in range(rounds):
            try:
                answer = tls.recv(200)
                return sent, answer  # b"" (closed) or nginx's 408
            except TimeoutError:
                pass
            except (ssl.SSLError, OSError):
                return sent, b""
            try:
                tls.sendall(f"X-Slow-{sent}: a\r\n".encode())
            except OSError:
                return sent, b""
        return rounds, b"still open"


@pytest.fixture
def slow_proxy(tmp_path: Path, pki: Pki) -> Iterator[Proxy]:
    """The proxy rendered with a 1 s header timeout, in front of nothing."""
    proxy = start_proxy(tmp_path / "nginx-slow", pki, upstream_port=9, header_timeout="1s")
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.mark.parametrize("face", ["partner", "internal"])
def test_a_client_dribbling_headers_is_cut_off(slow_proxy: Proxy, pki: Pki, face: str) -> None:
    port = slow_proxy.partner_port if face == "partner" else slow_proxy.internal_port
    # 50 rounds of 0.2 s is ten times the timeout: a cut-off after the first few.
    sent, answer = dribble(port, pki, rounds=50)
    assert answer != b"still open", "the proxy kept a slow-headers client for 10 s"
    assert answer in (b"",) or answer.startswith(b"HTTP/1.1 408"), answer
    assert sent < 50
