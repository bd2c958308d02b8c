"""Attacks through the shipped nginx, from several source addresses (issue 17).

Linux routes the whole of 127.0.0.0/8 to loopback, so a client bound to
127.0.0.2, 127.0.0.3 ... is a distinct source address to nginx, as distinct
partners and attackers are on the Internet. Node A sits behind the proxy and
lists the proxy's address (127.0.0.1) in ``trusted_proxies``.

- Item 4: strangers claiming a partner's id with bad signatures, from six
  addresses and from the partner's own address, do not get the partner's
  correctly signed pulls refused, and each failure is charged to the address
  nginx saw, which a client cannot choose by sending its own
  ``X-Forwarded-For``.
- Item 11: channel pulls and joins (dots in channel ids) pass the proxy.
- Item 16: the console's live feed is not buffered; the agency face admits
  only the networks its file lists; both faces send Strict-Transport-Security.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import aiohttp
import harness_path  # noqa: F401  (tests/node on the path)
import pytest
from console_client import CSRF
from node_harness import TestNode, introduce, make_node
from notice_json import publish_body
from proxy_support import Pki, Proxy, make_pki, nginx_binary, start_proxy

from baliza.crypto import AgencyKeys, Suite
from baliza.node.cli.client import ApiClient
from baliza.node.core.clock import now_ms
from baliza.node.core.trust import Peer
from baliza.node.services.fedauth import signed_headers
from baliza.node.services.fedclient import fetch_memberships, new_session, request_join
from baliza.node.storage.sql import channels as channel_rows
from baliza.protocol.federation import decode_outbox_page
from baliza.protocol.ids import AgencyId

ATTACKERS = [f"127.0.0.{n}" for n in range(2, 8)]
PROXY_ADDRESS = "127.0.0.1"
CCP = "ccp.pacific-europe"


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    nginx_binary()  # skip (or fail in CI) before any work when nginx is missing
    return make_pki(tmp_path / "pki")


@dataclass
class Behind:
    """Node A behind the proxy; the partners that reach it through the proxy's partner face."""

    a: TestNode
    partners: list[TestNode]
    proxy: Proxy


@pytest.fixture
async def behind(tmp_path: Path, pki: Pki) -> AsyncIterator[Behind]:
    """A (Cartagena) behind nginx trusting it; Madrid and Algeciras direct, trusting the test CA."""
    a = make_node(
        tmp_path,
        "co.polfa.ctg",
        f"sqlite+aiosqlite:///{tmp_path / 'a.db'}",
        trusted_proxies=[PROXY_ADDRESS],
        peer_requests_per_s=5,  # an allowance of 10 failures per address, spent at once
    )
    proxy = start_proxy(tmp_path / "nginx", pki, a.config.port)
    a.config = replace(a.config, public_url=proxy.partner_url)
    partners = [
        make_node(
            tmp_path,
            agency,
            f"sqlite+aiosqlite:///{tmp_path / agency}.db",
            tls_ca_file=str(pki.ca),
        )
        for agency in ("es.gc.mad", "es.aduanas.alg")
    ]
    introduce(a, *partners)
    try:
        await a.start()
        for partner in partners:
            await partner.start()
        yield Behind(a=a, partners=partners, proxy=proxy)
    finally:
        for partner in partners:
            await partner.stop()
        await a.stop()
        proxy.stop()


def session_from(address: str, pki: Pki) -> aiohttp.ClientSession:
    """A TLS client whose connections leave from ``address``, trusting only the test CA."""
    connector = aiohttp.TCPConnector(
        ssl=pki.client_context(), local_addr=(address, 0), force_close=True
    )
    return aiohttp.ClientSession(connector=connector)


async def pull_status(
    session: aiohttp.ClientSession, keys: AgencyKeys, base: str, to: AgencyId, **extra: str
) -> int:
    """One signed ``GET /fed/v1/outbox`` with ``keys``; the status (200 pages are checked)."""
    path = "/fed/v1/outbox?after=0&limit=10"
    headers = signed_headers(
        keys, method="GET", path=path, destination=to, time_ms=now_ms(), body=b""
    )
    async with session.get(base + path, headers={**headers, **extra}) as resp:
        body = await resp.read()
        if resp.status == 200:
            decode_outbox_page(body)
        return resp.status


def impostor(agency: AgencyId) -> AgencyKeys:
    """Keys claiming ``agency`` that the directory does not list: every signature fails."""
    now = now_ms()
    return AgencyKeys.generate(
        agency, Suite.CLASSIC, valid_from_ms=now - 60_000, valid_until_ms=now + 3_600_000
    )


def failed_clients(records: list[logging.LogRecord]) -> set[str]:
    """The client addresses of the outbox requests the node refused (request log lines)."""
    return {
        str(getattr(r, "client", ""))
        for r in records
        if r.name == "baliza.request"
        and getattr(r, "path", "") == "/fed/v1/outbox"
        and getattr(r, "status", 0) != 200
    }


async def test_strangers_claiming_a_partner_do_not_get_its_pulls_refused(
    behind: Behind, pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="baliza.request")
    a, (mad, _), proxy = behind.a, behind.partners, behind.proxy
    forged = impostor(mad.agency)

    async def flood(address: str, count: int) -> list[int]:
        async with session_from(address, pki) as session:
            return [
                await pull_status(session, forged, proxy.partner_url, a.agency)
                for _ in range(count)
            ]

    async def partner_pulls(count: int) -> list[int]:
        # Madrid's genuine node, from the same address as one of the impostors.
        async with session_from(PROXY_ADDRESS, pki) as session:
            statuses = []
            for _ in range(count):
                statuses.append(await pull_status(session, mad.keys, proxy.partner_url, a.agency))
                await asyncio.sleep(0.2)
            return statuses

    # 25 bad signatures from each of six addresses and from Madrid's own (an
    # allowance of 10 refilled at 5/s runs dry within 3 s), while Madrid pulls.
    floods = [flood(address, 25) for address in [*ATTACKERS, PROXY_ADDRESS]]
    # (Madrid's own allowance, 10 verified requests at once, is no part of this.)
    *flooded, during = await asyncio.gather(*floods, partner_pulls(4))
    assert all(status == 403 for statuses in flooded for status in statuses), flooded
    assert during == [200] * 4, during
    # And after the flood, with every address's allowance spent.
    assert await partner_pulls(2) == [200] * 2
    # Each failure was charged to the address nginx saw, not to nginx itself.
    assert failed_clients(caplog.records) == {*ATTACKERS, PROXY_ADDRESS}
    warned = {
        str(getattr(r, "client", ""))
        for r in caplog.records
        if r.name == "baliza.node.http.federation" and "keeps sending" in r.getMessage()
    }
    assert warned == {*ATTACKERS, PROXY_ADDRESS}, warned


async def test_a_client_cannot_choose_the_address_it_is_charged_to(
    behind: Behind, pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="baliza.request")
    a, (mad, _), proxy = behind.a, behind.partners, behind.proxy
    forged = impostor(mad.agency)
    spoof = {"X-Forwarded-For": "127.0.0.9", "X-Real-IP": "127.0.0.9"}
    # Through nginx, which overwrites both headers with the address it saw.
    async with session_from("127.0.0.3", pki) as session:
        assert await pull_status(session, forged, proxy.partner_url, a.agency, **spoof) == 403
    # Straight to the node from an address it does not trust as a proxy.
    direct = f"http://127.0.0.1:{a.config.port}"
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.4", 0), force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        assert await pull_status(session, forged, direct, a.agency, **spoof) == 403
    assert failed_clients(caplog.records) == {"127.0.0.3", "127.0.0.4"}


async def test_channel_pulls_and_joins_pass_the_proxy(behind: Behind) -> None:
    a, (mad, alg), proxy = behind.a, behind.partners, behind.proxy
    # Cartagena founds a programme channel (its id has a dot) with Madrid in it.
    body = {
        "id": CCP,
        "kind": "programme",
        "name": "Container programme, Pacific to Europe",
        "programme": "ccp",
        "members": [mad.agency],
    }
    await ApiClient(f"http://127.0.0.1:{a.config.port}", a.tokens["admin"]).post(
        "/api/v1/channels", body
    )
    owner = Peer(agency=a.agency, name=a.agency, url=proxy.partner_url, keys=a.keys.public())
    async with new_session(mad.config.tls_ca_file) as session:
        # Catch-up, and the stale-membership repair, pull the chain through the proxy.
        chain = await fetch_memberships(session, mad.keys, owner, CCP, 0)
        assert len(chain) == 1
        assert await fetch_memberships(session, mad.keys, owner, CCP, 1) == []
    # Algeciras asks to join, through the proxy, as its own node does.
    async with new_session(alg.config.tls_ca_file) as session:
        await request_join(session, alg.keys, owner, CCP, "Algeciras port unit")
    joins = await a.ctx.db.run(
        lambda conn: channel_rows.join_state(conn, channel=CCP, agency=alg.agency), write=False
    )
    assert joins is not None and joins.value == "pending"
    # And the node's own API does the same, through the directory's URL (the proxy).
    asked = await alg.api("admin").post(
        f"/api/v1/channels/{CCP}/join", {"owner": a.agency, "note": "again"}
    )
    assert asked["state"] == "pending"


async def console_client(base: str, pki: Pki, token: str) -> aiohttp.ClientSession:
    """A browser-like client signed in to the console on the agency face."""
    client = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=pki.client_context()),
        cookie_jar=aiohttp.CookieJar(unsafe=True),
    )
    async with client.get(base + "/console/sign-in") as resp:
        pre = CSRF.search(await resp.text())
    assert pre is not None
    async with client.post(
        base + "/console/sign-in",
        data={"csrf": pre.group(1), "token": token, "next": "/console/"},
    ) as resp:
        assert resp.status == 200, await resp.text()
    return client


async def test_the_console_live_feed_is_not_buffered_by_the_proxy(behind: Behind, pki: Pki) -> None:
    a, (mad, _), proxy = behind.a, behind.partners, behind.proxy
    client = await console_client(proxy.internal_url, pki, a.tokens["analyst"])
    # One small event, well under nginx's buffers: buffered, it would not come.
    async with (
        asyncio.timeout(20),
        client,
        client.get(proxy.internal_url + "/console/stream") as stream,
    ):
        assert stream.status == 200
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        published = await mad.api().post("/api/v1/notices", publish_body(mad.agency, [a.agency]))
        seen = b""
        while published["id"].encode() not in seen:
            seen += await stream.content.readany()


async def status_from(address: str, url: str, pki: Pki) -> tuple[int, str]:
    """The status and Strict-Transport-Security header of a GET from ``address``."""
    async with session_from(address, pki) as session, session.get(url) as resp:
        return resp.status, resp.headers.get("Strict-Transport-Security", "")


async def test_the_agency_face_admits_only_the_networks_its_file_lists(
    tmp_path: Path, pki: Pki
) -> None:
    node = make_node(tmp_path, "co.polfa.ctg", f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    allowed = tmp_path / "agency-networks.conf"
    allowed.write_text("allow 127.0.0.1;\nallow 127.0.0.5;\n")
    proxy = start_proxy(tmp_path / "nginx", pki, node.config.port, agency_networks=allowed)
    await node.start()
    try:
        for address in ("127.0.0.1", "127.0.0.5"):
            assert (await status_from(address, proxy.internal_url + "/healthz", pki))[0] == 200
        # 127.0.0.3 is as private as an address gets: not listed, not admitted.
        assert (await status_from("127.0.0.3", proxy.internal_url + "/healthz", pki))[0] == 403
        # The partner face is for everyone.
        assert (await status_from("127.0.0.3", proxy.partner_url + "/healthz", pki))[0] == 200
    finally:
        await node.stop()
        proxy.stop()


async def test_both_faces_send_strict_transport_security(behind: Behind, pki: Pki) -> None:
    proxy = behind.proxy
    for url in (
        proxy.partner_url + "/healthz",
        proxy.partner_url + "/api/v1/status",  # 404 from nginx itself
        proxy.partner_url + "/fed/v1/a%20b",  # 400 from nginx itself
        proxy.internal_url + "/healthz",
        proxy.internal_url + "/console/sign-in",
    ):
        status, hsts = await status_from(PROXY_ADDRESS, url, pki)
        assert hsts.startswith("max-age=") and int(hsts.split("=")[1]) >= 31536000, (url, status)
