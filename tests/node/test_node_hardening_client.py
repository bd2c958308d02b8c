"""The federation client trusts nothing a peer answers: no redirects, no raw bodies shown.

A member whose URL answers 307 must not make this node carry its signed
requests and envelopes to another address (an internal service on the
node's own loopback), and whatever a peer's server answers must not reach an
analyst's screen word for word.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web
from hardening_kit import call, serving, three_nodes, wait_for
from node_harness import free_port
from notice_json import publish_body

SECRET = "internal-admin-password=hunter2"


async def test_a_redirecting_peer_cannot_send_the_node_elsewhere(tmp_path: Path) -> None:
    gye, alg, ctg = three_nodes(tmp_path)
    internal: list[str] = []

    async def internal_service(request: web.Request) -> web.Response:
        internal.append(f"{request.method} {request.path}")
        return web.Response(status=500, text=f"{SECRET}\x1b[31m\r\nforged line")

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(f"http://127.0.0.1:{internal_port}{request.path_qs}")

    async def not_baliza(request: web.Request) -> web.Response:
        return web.Response(status=502, text=f"<html>{SECRET}</html>\x07")

    internal_port = free_port()
    inside = web.Application()
    inside.router.add_route("*", "/{tail:.*}", internal_service)
    redirector = web.Application()
    redirector.router.add_route("*", "/{tail:.*}", redirect)
    other = web.Application()
    other.router.add_route("*", "/{tail:.*}", not_baliza)
    async with (
        serving(inside, internal_port),
        serving(redirector, gye.config.port),
        serving(other, ctg.config.port),
    ):
        await alg.start()
        try:
            status, _ = await call(
                alg,
                "POST",
                "/api/v1/notices",
                json=publish_body(alg.agency, [gye.agency, ctg.agency]),
            )
            assert status == 201

            async def both_failed() -> bool:
                _, state = await call(alg, "GET", "/api/v1/status", role="analyst")
                return all(p["last_error"] for p in state["peers"])

            await wait_for(both_failed)
            _, state = await call(alg, "GET", "/api/v1/status", role="analyst")
        finally:
            await alg.stop()
    assert internal == []  # nothing signed ever reached the internal service
    errors: dict[str, Any] = {p["agency"]: p["last_error"] for p in state["peers"]}
    assert "redirect not followed" in errors[gye.agency]
    assert "HTTP 502: not a Baliza answer" in errors[ctg.agency]
    for shown in (*errors.values(), *(p["state"] for p in state["peers"])):
        assert SECRET not in shown
        assert not any(ord(c) < 0x20 for c in shown)
