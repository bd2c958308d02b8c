"""Sign-in with an API token, sign-out, and the pre-session CSRF token.

Sign-in is the one form shown before there is a session, so its CSRF token is
a random value in a short-lived cookie that the form must echo (double
submit); every later form carries the session's own token, which the route
table checks. The token typed in is checked by ``services.tokens``, the same
check as the API's bearer header, and never stored in the browser. Failed
sign-ins are throttled per token and per client address, with lock-out, and
logged (``services.sign_in_throttle``).
"""

from __future__ import annotations

import hmac
import secrets

from aiohttp import web

from baliza.node.console.reasons import explain
from baliza.node.console.web import FORMATTER, PREFIX, posted, render, set_cookie
from baliza.node.core.clock import now_ms
from baliza.node.http.appkeys import NODE, SIGN_INS
from baliza.node.http.routes import CSRF_FIELD, SESSION_COOKIE, SIGNED_IN
from baliza.node.services.sessions import close_session, open_session
from baliza.protocol.errors import ReasonCode, TrustError

PRE_CSRF_COOKIE = "baliza_signin_csrf"


def _next_page(raw: str | None) -> str:
    """Where to go after signing in: a console path, never another site."""
    if raw and raw.startswith(PREFIX + "/") and "//" not in raw and "\\" not in raw:
        return raw
    return PREFIX + "/"


def _form(request: web.Request, error: str = "", status: int = 200) -> web.Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "sign_in.html",
        {"pre_csrf": token, "error": error, "next": _next_page(request.query.get("next"))},
        status=status,
    )
    set_cookie(response, request, PRE_CSRF_COOKIE, token)
    return response


async def sign_in_form(request: web.Request) -> web.Response:
    """The sign-in page."""
    return _form(request)


async def sign_in_submit(request: web.Request) -> web.Response:
    """Check the token, open a session, set its cookie, go to the page asked for."""
    form = await posted(request)
    expected = request.cookies.get(PRE_CSRF_COOKIE, "")
    sent = form.get(CSRF_FIELD)
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(expected, sent):
        raise TrustError(
            ReasonCode.FORBIDDEN, "the form's CSRF token is missing or wrong", path=CSRF_FIELD
        )
    token = form.get("token")
    ctx = request.app[NODE]
    try:
        session_id, _ = await open_session(
            ctx.db,
            token if isinstance(token, str) else "",
            now_ms(),
            address=request.remote or "unknown",
            throttle=request.app[SIGN_INS],
        )
    except TrustError as err:
        status = 429 if err.reason == ReasonCode.SIGN_IN_THROTTLED else 401
        return _form(request, explain(err, request[FORMATTER]), status=status)
    next_page = form.get("next")
    response = web.HTTPSeeOther(_next_page(next_page if isinstance(next_page, str) else None))
    set_cookie(response, request, SESSION_COOKIE, session_id)
    response.del_cookie(PRE_CSRF_COOKIE, path="/")
    raise response


async def sign_out_submit(request: web.Request) -> web.Response:
    """End the session (the route table checked its CSRF token) and forget the cookie."""
    assert request[SIGNED_IN] is not None
    await posted(request)
    await close_session(request.app[NODE].db, request.cookies.get(SESSION_COOKIE))
    response = web.HTTPSeeOther(PREFIX + "/sign-in")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response
