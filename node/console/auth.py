"""Sign-in by account (or with an API token), sign-out, and the pre-session CSRF token.

Sign-in is the one form shown before there is a session, so its CSRF token is
a random value in a short-lived cookie that the form must echo (double
submit); every later form carries the session's own token, which the route
table checks. A person signs in with a login, a password and a code from
their authenticator app or a recovery code, or with a security key in two
steps (``services.person_sign_in``, ``services.security_keys``); an
API token may still open a session (``services.tokens``, the same check as
the API's bearer header), for machines and for nodes set up before accounts.
Neither is stored in the browser. Failed sign-ins are throttled per account
or token and per client address, with lock-out, and logged.
"""

from __future__ import annotations

import hmac
import json
import secrets

from aiohttp import web
from multidict import MultiDictProxy

from baliza.node.console.i18n import N_
from baliza.node.console.reasons import explain
from baliza.node.console.web import FORMATTER, PREFIX, posted, render, set_cookie
from baliza.node.core.clock import now_ms
from baliza.node.http.appkeys import NODE, SIGN_INS
from baliza.node.http.routes import CSRF_FIELD, SESSION_COOKIE, SIGNED_IN
from baliza.node.services.person_sign_in import (
    begin_key_sign_in,
    finish_key_sign_in,
    open_person_session,
)
from baliza.node.services.security_keys import Party
from baliza.node.services.sessions import close_session, open_session
from baliza.protocol.errors import ReasonCode, TrustError

PRE_CSRF_COOKIE = "baliza_signin_csrf"
# The pending sign-in by security key: a handle to the challenge the node stored.
KEY_COOKIE = "baliza_signin_key"
# One answer for every wrong factor: the page does not tell which one it was.
PERSON_REFUSED = N_("Wrong login name, password or code.")
PERSON_THROTTLED = N_(
    "Too many failed sign-ins for this account or from this place: wait a quarter "
    "of an hour and try again."
)


def _next_page(raw: str | None) -> str:
    """Where to go after signing in: a console path, never another site."""
    if raw and raw.startswith(PREFIX + "/") and "//" not in raw and "\\" not in raw:
        return raw
    return PREFIX + "/"


def _person_refusal(request: web.Request, err: TrustError) -> tuple[str, int]:
    """What a person refused at sign-in reads, and the status: one message for every
    wrong part (a stranger learns nothing of which), another when throttled."""
    if err.reason == ReasonCode.SIGN_IN_THROTTLED:
        return request[FORMATTER].gettext(PERSON_THROTTLED), 429
    return request[FORMATTER].gettext(PERSON_REFUSED), 401


def _form(
    request: web.Request,
    error: str = "",
    status: int = 200,
    *,
    token_error: str = "",
    login: str = "",
) -> web.Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "sign_in.html",
        {
            "pre_csrf": token,
            "error": error,
            "token_error": token_error,
            "login": login,
            "next": _next_page(request.query.get("next")),
        },
        status=status,
    )
    set_cookie(response, request, PRE_CSRF_COOKIE, token)
    return response


async def sign_in_form(request: web.Request) -> web.Response:
    """The sign-in page."""
    return _form(request)


def _check_pre_csrf(
    request: web.Request, form: MultiDictProxy[str | bytes | bytearray | web.FileField]
) -> None:
    expected = request.cookies.get(PRE_CSRF_COOKIE, "")
    sent = form.get(CSRF_FIELD)
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(expected, sent):
        raise TrustError(
            ReasonCode.FORBIDDEN, "the form's CSRF token is missing or wrong", path=CSRF_FIELD
        )


async def sign_in_submit(request: web.Request) -> web.Response:
    """Check the token, open a session, set its cookie, go to the page asked for."""
    form = await posted(request)
    _check_pre_csrf(request, form)
    ctx = request.app[NODE]
    address = request.remote or "unknown"
    login = form.get("login")
    try:
        if isinstance(login, str):
            session_id, _ = await open_person_session(
                ctx.db,
                login,
                _field(form, "password"),
                _field(form, "code"),
                now_ms(),
                address=address,
                throttle=request.app[SIGN_INS],
            )
        else:
            session_id, _ = await open_session(
                ctx.db,
                _field(form, "token"),
                now_ms(),
                address=address,
                throttle=request.app[SIGN_INS],
            )
    except TrustError as err:
        message, status = _person_refusal(request, err)
        if isinstance(login, str):
            return _form(request, message, status=status, login=login[:64])
        return _form(request, status=status, token_error=explain(err, request[FORMATTER]))
    next_page = form.get("next")
    response = web.HTTPSeeOther(_next_page(next_page if isinstance(next_page, str) else None))
    set_cookie(response, request, SESSION_COOKIE, session_id)
    response.del_cookie(PRE_CSRF_COOKIE, path="/")
    raise response


async def key_sign_in_begin(request: web.Request) -> web.Response:
    """Check login and password, then answer the options for the browser's security key (JSON).

    The pending sign-in's handle goes in an HttpOnly cookie, so the answer
    can only come back from this browser.
    """
    form = await posted(request)
    _check_pre_csrf(request, form)
    ctx = request.app[NODE]
    try:
        handle, options = await begin_key_sign_in(
            ctx.db,
            Party.of(ctx.config),
            _field(form, "login"),
            _field(form, "password"),
            now_ms(),
            address=request.remote or "unknown",
            throttle=request.app[SIGN_INS],
        )
    except TrustError as err:
        message, status = _person_refusal(request, err)
        return web.json_response({"error": message}, status=status)
    response = web.json_response({"options": json.loads(options)})
    set_cookie(response, request, KEY_COOKIE, handle)
    return response


async def key_sign_in_finish(request: web.Request) -> web.Response:
    """Check the security key's answer to the pending sign-in; open the session."""
    form = await posted(request)
    _check_pre_csrf(request, form)
    ctx = request.app[NODE]
    try:
        session_id, _ = await finish_key_sign_in(
            ctx.db,
            Party.of(ctx.config),
            request.cookies.get(KEY_COOKIE, ""),
            _field(form, "credential"),
            now_ms(),
            address=request.remote or "unknown",
            throttle=request.app[SIGN_INS],
        )
    except TrustError as err:
        refused = _form(request, *_person_refusal(request, err))
        refused.del_cookie(KEY_COOKIE, path="/")
        return refused
    next_page = form.get("next")
    response = web.HTTPSeeOther(_next_page(next_page if isinstance(next_page, str) else None))
    set_cookie(response, request, SESSION_COOKIE, session_id)
    response.del_cookie(PRE_CSRF_COOKIE, path="/")
    response.del_cookie(KEY_COOKIE, path="/")
    raise response


def _field(form: MultiDictProxy[str | bytes | bytearray | web.FileField], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def sign_out_submit(request: web.Request) -> web.Response:
    """End the session (the route table checked its CSRF token) and forget the cookie."""
    assert request[SIGNED_IN] is not None
    await posted(request)
    await close_session(request.app[NODE].db, request.cookies.get(SESSION_COOKIE))
    response = web.HTTPSeeOther(PREFIX + "/sign-in")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response
