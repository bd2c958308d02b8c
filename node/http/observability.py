"""Health, Prometheus metrics and the OpenAPI document: the node's public face.

These need no token: health and metrics say nothing about notices, and the
OpenAPI document describes the API, not its data.
"""

from __future__ import annotations

from aiohttp import web

from baliza.node.http.appkeys import NODE
from baliza.node.http.openapi import OPENAPI
from baliza.node.http.routes import Access, Route


async def healthz(request: web.Request) -> web.Response:
    """Whether the node is up and its database answers."""
    ctx = request.app[NODE]
    await ctx.db.ping()
    return web.json_response({"status": "ok", "agency": ctx.agency})


async def metrics(request: web.Request) -> web.Response:
    """Counters in the Prometheus text format."""
    ctx = request.app[NODE]
    lines = []
    for name in sorted(ctx.metrics):
        lines.append(f"# TYPE {name} counter")
        lines.append(f'{name}{{agency="{ctx.agency}"}} {ctx.metrics[name]}')
    lines.append("# TYPE baliza_live_followers gauge")
    lines.append(f'baliza_live_followers{{agency="{ctx.agency}"}} {ctx.live.followers}')
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")


async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 description of the local API."""
    return web.json_response(OPENAPI)


ROUTES = (
    Route("GET", "/healthz", healthz, Access.PUBLIC),
    Route("GET", "/metrics", metrics, Access.PUBLIC),
    Route("GET", "/api/v1/openapi.json", openapi, Access.PUBLIC),
)
