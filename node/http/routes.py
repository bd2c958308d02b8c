"""The route table: every HTTP route with the access it needs, applied in one place.

A route declares ``Access``: a token role (analyst, publisher, admin), a
signed peer request (federation, checked by the handler over the exact bytes),
or public (health, metrics, API description). ``install`` registers the
handlers and wraps every token route so the bearer token is checked and its
role required *before* the handler runs; a handler cannot forget to do it,
and a route that declares nothing cannot be registered. The handler finds
the caller in ``request[CALLER]``.

Console pages (``Credential.SESSION``) need the same roles, proven by a
session cookie instead of a bearer header (see services/sessions.py): no
session sends the browser to the sign-in page, and every form they accept
must carry the session's CSRF token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote

from aiohttp import web

from baliza.node.core.clock import now_ms
from baliza.node.http.appkeys import NODE
from baliza.node.services.sessions import (
    SignedIn,
    csrf_matches,
    resume_session,
    session_in_force,
)
from baliza.node.services.tokens import (
    Caller,
    Role,
    basic_as_bearer,
    check_bearer,
    require,
    token_in_force,
)
from baliza.protocol.errors import ReasonCode, TrustError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CALLER = web.RequestKey("caller", Caller)
SIGNED_IN = web.RequestKey("signed_in", SignedIn)
SESSION_COOKIE = "baliza_session"
CSRF_FIELD = "csrf"
SIGN_IN_PATH = "/console/sign-in"
SAFE_METHODS = frozenset({"GET", "HEAD"})


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


class Credential(StrEnum):
    """How a role route proves its caller: a bearer token (API) or a session cookie (console)."""

    BEARER = "bearer"
    SESSION = "session"
    # A bearer token, or HTTP Basic with the token as password (TAXII clients).
    BEARER_OR_BASIC = "bearer_or_basic"


@dataclass(frozen=True, slots=True)
class Route:
    """One HTTP route: method, path, handler and the access it needs."""

    method: str
    path: str
    handler: Handler
    access: Access
    summary: str = ""
    credential: Credential = Credential.BEARER


async def caller_of(request: web.Request, role: Role, *, basic: bool = False) -> Caller:
    """Authenticate the request's bearer token (or Basic, if ``basic``) and require ``role``."""
    header = request.headers.get("Authorization")
    if basic:
        header = basic_as_bearer(header)
    caller = await check_bearer(request.app[NODE].db, header)
    require(caller, role)
    return caller


async def still_allowed(request: web.Request, *, revocations: int | None = None) -> None:
    """Refuse (``TrustError``) once the caller's token has been revoked, or its session ended.

    A long request (a live stream) checks this before each event and each
    keep-alive, whatever the credential that let it in. With a bearer token
    and ``revocations`` (the count of revoked tokens the storing unit of the
    event read, see services/announce.py) the token is read again only when
    that count moved since this request last checked: no read per event.
    A console session also ends by signing out and by idling, which no
    count announces, so a session's stream reads its session (one row, with
    its token) every time: the console's live feed ends with the session.
    """
    if SIGNED_IN in request:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not await session_in_force(request.app[NODE].db, cookie, now_ms()):
            raise TrustError(ReasonCode.UNAUTHENTICATED, "the console session has ended")
        return
    if revocations is not None and request.get(_CHECKED_AT) == revocations:
        return
    if not await token_in_force(request.app[NODE].db, request[CALLER].token_id):
        raise TrustError(ReasonCode.UNAUTHENTICATED, "the token was revoked")
    if revocations is not None:
        request[_CHECKED_AT] = revocations


# The revocation count at which a long request last found its token valid
# (a typed key: a plain string key warns, and tests turn warnings into errors).
_CHECKED_AT = web.RequestKey("token_checked_at", int)


async def session_of(request: web.Request, role: Role) -> SignedIn:
    """Resume the request's console session, require ``role``, check a form's CSRF token."""
    cookie = request.cookies.get(SESSION_COOKIE)
    signed_in = await resume_session(request.app[NODE].db, cookie, now_ms())
    if signed_in is None:
        raise web.HTTPSeeOther(f"{SIGN_IN_PATH}?next={quote(request.path_qs, safe='')}")
    require(signed_in.caller, role)
    if request.method not in SAFE_METHODS:
        form = await request.post()
        if not csrf_matches(signed_in, form.get(CSRF_FIELD)):
            raise TrustError(
                ReasonCode.FORBIDDEN, "the form's CSRF token is missing or wrong", path=CSRF_FIELD
            )
    return signed_in


def _guarded(handler: Handler, role: Role, credential: Credential) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        if credential is Credential.SESSION:
            signed_in = await session_of(request, role)
            request[SIGNED_IN] = signed_in
            request[CALLER] = signed_in.caller
        else:
            basic = credential is Credential.BEARER_OR_BASIC
            request[CALLER] = await caller_of(request, role, basic=basic)
        return await handler(request)

    guarded.__name__ = handler.__name__
    guarded.__doc__ = handler.__doc__
    return guarded


def install(app: web.Application, routes: Sequence[Route]) -> None:
    """Register ``routes``; token routes get their role check in front of the handler."""
    for route in routes:
        role = route.access.role
        handler = route.handler if role is None else _guarded(route.handler, role, route.credential)
        app.router.add_route(route.method, route.path, handler)


def caller(request: web.Request) -> Caller:
    """The authenticated caller of a token route (set by the route table)."""
    return request[CALLER]
