"""The route table: every route declares its access, and the table enforces it.

Each token route is tried without a token, with a revoked one, and with every
role below the one it needs: all are refused before the handler runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from node_harness import Cluster, TestNode, free_port, make_node

from baliza.node.core.clock import now_ms
from baliza.node.http.app import ROUTES, build_app
from baliza.node.http.routes import Access, Credential, Route
from baliza.node.services.tokens import Role, withdraw_token

ORDER = [Role.ANALYST, Role.PUBLISHER, Role.ADMIN]
TOKEN_ROUTES = [
    r for r in ROUTES if r.access.role is not None and r.credential is Credential.BEARER
]


@pytest.fixture
async def node(cluster: Cluster) -> TestNode:
    gye, _ = await cluster(("ec.polnac.gye", "es.aduanas.alg"), start=["ec.polnac.gye"])
    return gye


PATH_VALUES = {
    "{id}": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
    "{agency}": "es.aduanas.alg",
    "{channel}": "ccp.pacific-europe",
    "{sha256}": "ab" * 32,
}


def concrete(path: str) -> str:
    for name, value in PATH_VALUES.items():
        path = path.replace(name, value)
    assert "{" not in path, f"no test value for a parameter of {path}"
    return path


def test_every_registered_route_is_in_the_table(tmp_path: Path) -> None:
    node = make_node(tmp_path, "ec.polnac.gye", "sqlite+aiosqlite://")
    app = build_app(node.config, None)  # type: ignore[arg-type]  # routes only, never started
    registered = {
        (r.method, r.resource.canonical)
        for r in app.router.routes()
        if r.method != "HEAD" and r.resource is not None
    }
    declared = {(r.method, r.path) for r in ROUTES}
    assert registered == declared
    assert all(isinstance(r.access, Access) for r in ROUTES)
    assert {r.access for r in ROUTES} == set(Access)


async def status_of(node: TestNode, method: str, path: str, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, node.url + concrete(path), headers=headers) as resp,
    ):
        return resp.status


@pytest.mark.parametrize("route", TOKEN_ROUTES, ids=lambda r: f"{r.method} {r.path}")
async def test_token_routes_refuse_missing_and_lower_roles(node: TestNode, route: Route) -> None:
    assert route.access.role is not None
    assert await status_of(node, route.method, route.path, None) == 401
    assert await status_of(node, route.method, route.path, "bz_nothing_here") == 401
    for role in ORDER[: ORDER.index(route.access.role)]:
        assert await status_of(node, route.method, route.path, node.tokens[role.value]) == 403
    # The role it needs gets past the table (the handler may still refuse the input).
    allowed = await status_of(node, route.method, route.path, node.tokens[route.access.role])
    assert allowed not in (401, 403)


async def test_a_revoked_token_is_refused_everywhere(node: TestNode) -> None:
    token = node.tokens["admin"]
    await withdraw_token(node.ctx.db, token.split("_")[1], now_ms(), actor="test")
    for route in TOKEN_ROUTES:
        assert await status_of(node, route.method, route.path, token) == 401


@dataclass
class ServedNode:
    url: str
    token: str
    process: subprocess.Popen[bytes]


@pytest.fixture
def served_node(tmp_path: Path) -> Iterator[ServedNode]:
    """A `baliza serve` process with its own data folder and an analyst token."""
    env = {**os.environ, "BALIZA_PASSPHRASE": "a test passphrase"}
    data = tmp_path / "gye"
    port = free_port()
    baliza = [sys.executable, "-m", "baliza.node.cli.main"]
    init = [*baliza, "init", "--data-dir", str(data), "--agency", "ec.polnac.gye"]
    subprocess.run([*init, "--name", "GYE", "--port", str(port)], env=env, check=True)
    token = (
        subprocess.run(
            [
                *baliza,
                "tokens",
                "create",
                "--data-dir",
                str(data),
                "--name",
                "a",
                "--role",
                "analyst",
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    process = subprocess.Popen(
        [*baliza, "serve", "--data-dir", str(data)], env=env, stderr=subprocess.DEVNULL
    )
    try:
        yield ServedNode(url=f"http://127.0.0.1:{port}", token=token, process=process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.slow
async def test_a_node_with_a_live_follower_stops_promptly(served_node: ServedNode) -> None:
    """A connected SSE follower must not hold the node's shutdown for its grace period."""
    url = served_node.url
    async with aiohttp.ClientSession() as session:
        for _ in range(600):  # a busy machine may take a while to start a node
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(url + "/healthz") as resp:
                    if resp.status == 200:
                        break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the node did not start")
        headers = {"Authorization": f"Bearer {served_node.token}"}
        async with session.get(url + "/api/v1/stream", headers=headers) as stream:
            assert stream.status == 200
            served_node.process.send_signal(signal.SIGINT)
            # The node ends the stream itself, and the process exits well within
            # aiohttp's 60 s shutdown grace period.
            await asyncio.wait_for(stream.content.read(), timeout=20)
    assert await asyncio.to_thread(served_node.process.wait, 20) == 0
