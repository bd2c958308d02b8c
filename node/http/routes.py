"""The route table: every HTTP route with the access it needs, applied in one place.

A route declares ``Access``: a token role (analyst, publisher, admin), a
signed peer request (federation, checked by the handler over the exact bytes),
or public (health, metrics, API description). ``install`` registers the
handlers and wraps every token route so the bearer token is checked and its
role required *before* the handler runs; a handler cannot forget to do it,
and a route that declares nothing cannot be registered. The handler finds
the caller in ``request[CALLER]``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from aiohttp import web

from baliza.node.http.appkeys import NODE
from baliza.node.services.tokens import Caller, Role, authenticate, require

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CALLER = web.RequestKey("caller", Caller)


class Access(StrEnum):
    """Who may call a route: a role's token, a signed peer node, or anyone."""

    ANALYST = "analyst"
    PUBLISHER = "publisher"
    ADMIN = "admin"
    PEER = "peer"  # a federation request signed by a member node
    PUBLIC = "public"

    @property
    def role(self) -> Role | None:
        """The token role this access needs, if it needs a token."""
        return Role(self.value) if self.value in Role.__members__.values() else None


@dataclass(frozen=True, slots=True)
class Route:
    """One HTTP route: method, path, handler and the access it needs."""

    method: str
    path: str
    handler: Handler
    access: Access
    summary: str = ""


async def caller_of(request: web.Request, role: Role) -> Caller:
    """Authenticate the request's bearer token and require ``role``."""
    ctx = request.app[NODE]
    async with ctx.db.transaction(readonly=True) as session:
        caller = await authenticate(session, request.headers.get("Authorization"))
    require(caller, role)
    return caller


def _guarded(handler: Handler, role: Role) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        request[CALLER] = await caller_of(request, role)
        return await handler(request)

    guarded.__name__ = handler.__name__
    guarded.__doc__ = handler.__doc__
    return guarded


def install(app: web.Application, routes: Sequence[Route]) -> None:
    """Register ``routes``; token routes get their role check in front of the handler."""
    for route in routes:
        role = route.access.role
        handler = route.handler if role is None else _guarded(route.handler, role)
        app.router.add_route(route.method, route.path, handler)


def caller(request: web.Request) -> Caller:
    """The authenticated caller of a token route (set by the route table)."""
    return request[CALLER]
