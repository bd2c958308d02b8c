"""The console's plumbing: templates, language, security headers, error pages.

Every console answer goes through ``console_middleware``: it picks the
language, sets the security headers (a strict Content-Security-Policy with no
inline script or style, no framing, no sniffing, no referrer, no caching of
pages) and turns a refusal into a page in the person's language instead of
the API's JSON. The API's own answers pass through untouched.

A form a console page accepts is bounded before a byte of it is read: at
most ``FORM_MAX`` bytes (``UPLOAD_MAX`` for the forms that take files),
refused as ``too_large`` from its Content-Length or as soon as the stream
passes the bound, and it must arrive within the node's body deadline
(``timeout``). The deadline covers the session check and the reading of the
form; the handler lifts it (``posted``) once the form is in, so publishing
itself is never cut short.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from multidict import MultiDictProxy

from baliza.node.console.adapter import agency_names, shares_waiting
from baliza.node.console.i18n import (
    DEFAULT_TZ,
    LANG_COOKIE,
    LANGUAGES,
    TZ_COOKIE,
    Formatter,
    negotiate,
    zone_or_none,
)
from baliza.node.console.notice_view import size as file_size
from baliza.node.console.reasons import explain
from baliza.node.console.workflow_adapter import waiting as admin_waiting
from baliza.node.http.appkeys import NODE
from baliza.node.http.errors import Handler, http_status
from baliza.node.http.routes import CSRF_FIELD, SAFE_METHODS, SESSION_COOKIE, SIGNED_IN
from baliza.node.services.inbox import unread_for_session
from baliza.node.services.tokens import Role
from baliza.protocol.errors import BalizaError, InputError, ReasonCode
from baliza.protocol.notices.common import MAX_ATTACHMENTS_TOTAL

PREFIX = "/console"
PUBLIC_HTTPS = web.AppKey("console_public_https", bool)
FORMATTER = web.RequestKey("formatter", Formatter)
FORM_WINDOW = web.RequestKey("form_window", asyncio.Timeout)
# Share requests waiting for this agency's decision: the menu's badge on every page.
SHARES_WAITING = web.RequestKey("shares_waiting", int)
# Open received notices the signed-in person has not seen: the Inbox's badge.
INBOX_UNREAD = web.RequestKey("inbox_unread", int)
# Subscription and join requests waiting for the administrator: the badge on Administration.
ADMIN_WAITING = web.RequestKey("admin_waiting", int)
YEAR_S = 365 * 24 * 3600
# A form of fields only (the longest publish form is a few kilobytes).
FORM_MAX = 256 * 1024
# A publish form with photos: the attachments a notice may carry, and its fields.
UPLOAD_MAX = MAX_ATTACHMENTS_TOTAL + FORM_MAX
# The only forms that take files (photos, a targeting list, a directory or channel
# proposal); every other form, sign-in included, gets the small bound whatever its type.
UPLOAD_PATHS = (
    PREFIX + "/publish/",
    PREFIX + "/import",
    PREFIX + "/admin/directory/",
    PREFIX + "/admin/channels/",
)

# Answers that are no page (files, the live stream, place look-ups): no badge to count.
QUIET_PATHS = (
    PREFIX + "/static/",
    PREFIX + "/stream",
    PREFIX + "/places",
    PREFIX + "/notifications.json",
)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def is_console(request: web.Request) -> bool:
    """Whether ``request`` is for the console (rather than the API or federation)."""
    return request.path == "/" or request.path.startswith(PREFIX)


def behind_tls(request: web.Request) -> bool:
    """Whether cookies must be ``Secure``: TLS here, or a public URL in https."""
    return request.secure or request.app[PUBLIC_HTTPS]


def set_cookie(response: web.StreamResponse, request: web.Request, name: str, value: str) -> None:
    """Set a console cookie: HttpOnly, SameSite=Strict, Secure behind TLS."""
    response.set_cookie(
        name,
        value,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=behind_tls(request),
        max_age=YEAR_S if name in (LANG_COOKIE, TZ_COOKIE) else None,
    )


def render(
    request: web.Request, template: str, context: Mapping[str, Any], status: int = 200
) -> web.Response:
    """Render ``template`` with the person's language, formatter and form token."""
    fmt = request[FORMATTER]
    signed_in = request.get(SIGNED_IN)
    names = agency_names(request.app[NODE]) if signed_in else {}
    full = {
        "agency_name": lambda agency: names.get(agency, agency),
        "here": request.app[NODE].agency,
        "file_size": lambda n: file_size(n, fmt),
        "names": names,
        "_": fmt.gettext,
        "gettext": fmt.gettext,
        "fmt": fmt,
        "lang": fmt.lang,
        "languages": LANGUAGES,
        "caller": signed_in.caller if signed_in else None,
        "can": lambda role: signed_in is not None and signed_in.caller.role.allows(Role(role)),
        "csrf_field": CSRF_FIELD,
        "csrf": signed_in.csrf if signed_in else "",
        "path": request.path,
        "tz": fmt.tz,
        "tz_chosen": zone_or_none(request.cookies.get(TZ_COOKIE)) is not None,
        "shares_waiting": request.get(SHARES_WAITING, 0),
        "inbox_unread": request.get(INBOX_UNREAD, 0),
        "admin_waiting": request.get(ADMIN_WAITING, 0),
        **context,
    }
    return aiohttp_jinja2.render_template(template, request, full, status=status)


@web.middleware
async def console_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Language, form bounds and error pages for console requests only."""
    if not is_console(request):
        return await handler(request)
    if request.method == "GET":
        _remember_preferences(request)
    request[FORMATTER] = Formatter(
        negotiate(request.cookies.get(LANG_COOKIE), request.headers.get("Accept-Language")),
        zone_or_none(request.cookies.get(TZ_COOKIE)) or DEFAULT_TZ,
    )
    if request.method in SAFE_METHODS and not request.path.startswith(QUIET_PATHS):
        request[SHARES_WAITING] = await shares_waiting(request.app[NODE])
        request[INBOX_UNREAD] = await unread_for_session(
            request.app[NODE].db, request.cookies.get(SESSION_COOKIE)
        )
        request[ADMIN_WAITING] = (await admin_waiting(request.app[NODE])).total
    try:
        if request.method in SAFE_METHODS:
            return await handler(request)
        return await _bounded(request, handler)
    except web.HTTPNotFound:
        err: BalizaError = InputError(ReasonCode.NOT_FOUND, "no such page", path=request.path)
    except BalizaError as refused:
        err = refused
    message = explain(err, request[FORMATTER])
    return render(request, "error.html", {"message": message, "err": err}, status=http_status(err))


def _remember_preferences(request: web.Request) -> None:
    """``?lang=`` and ``?tz=`` on any page: remember them, and reload the page without them.

    Switching is a link or a small GET form, not a POST: it changes nothing
    but the viewer's own cookies, and the page it reloads keeps the rest of
    its query (a half-filled publish form switching language carries its
    fields in the query, see ``officer.publish_form``).
    """
    lang = request.query.get("lang")
    tz = zone_or_none(request.query.get("tz"))
    if lang not in LANGUAGES and tz is None:
        return
    query = [(k, v) for k, v in request.query.items() if k not in ("lang", "tz")]
    redirect = web.HTTPSeeOther(str(request.rel_url.with_query(query)))
    if lang in LANGUAGES:
        set_cookie(redirect, request, LANG_COOKIE, lang)
    if tz is not None:
        set_cookie(redirect, request, TZ_COOKIE, tz)
    raise redirect


async def _bounded(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Run ``handler`` on a form bounded in size and in time (see the module's docstring)."""
    limit = UPLOAD_MAX if request.path.startswith(UPLOAD_PATHS) else FORM_MAX
    too_large = InputError(
        ReasonCode.TOO_LARGE, f"a console form is at most {limit} bytes", path="body"
    )
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    bounded = request.clone(client_max_size=limit)
    deadline_s = request.app[NODE].config.body_timeout_ms / 1000
    try:
        async with asyncio.timeout(deadline_s) as window:
            bounded[FORM_WINDOW] = window
            return await handler(bounded)
    except web.HTTPRequestEntityTooLarge:
        raise too_large from None
    except ValueError as err:
        if not _raised_by_form_parser(err):
            raise
        raise InputError(ReasonCode.MALFORMED, f"the form could not be read: {err}") from None
    except TimeoutError:
        if not window.expired():
            raise
        raise InputError(ReasonCode.TIMEOUT, "the form did not arrive in time") from None
    finally:
        await _close_files(bounded)


FORM_PARSERS = frozenset({"aiohttp.multipart", "aiohttp.web_request"})


def _raised_by_form_parser(err: BaseException) -> bool:
    """Whether ``err`` came out of aiohttp reading the form (a broken body, not a bug here)."""
    frames = traceback.walk_tb(err.__traceback__)
    return any(frame.f_globals.get("__name__") in FORM_PARSERS for frame, _ in frames)


async def _close_files(request: web.Request) -> None:
    """Close the temporary files of a multipart form that was read (even one refused)."""
    if request.content_type != "multipart/form-data" or not request.content.at_eof():
        return  # not read (nothing to close), or cut off (aiohttp closed them)
    try:
        form = await request.post()  # the form already read; or, unread, an empty body
    except ValueError:
        return  # an empty body is no multipart form: nothing was stored
    for value in form.values():
        if isinstance(value, web.FileField):
            value.file.close()


async def posted(
    request: web.Request,
) -> MultiDictProxy[str | bytes | bytearray | web.FileField]:
    """The form (read once, by the session check), and the body deadline lifted."""
    form = await request.post()
    window = request.get(FORM_WINDOW)
    if window is not None:
        window.reschedule(None)
    return form


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Every console answer, streams and redirects included, carries the headers."""
    if is_console(request):
        # A download names its own, stricter policy (a sandbox); pages take the console's.
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if FORMATTER in request:
            response.headers.setdefault("Content-Language", request[FORMATTER].lang)


STATIC = Path(__file__).with_name("static")
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript"}


async def static_file(request: web.Request) -> web.StreamResponse:
    """The console's stylesheet and script, from the installed package (never a CDN)."""
    name = request.match_info["name"]
    path = STATIC / name
    if "/" in name or path.suffix not in STATIC_TYPES or not path.is_file():
        raise web.HTTPNotFound()
    return web.Response(
        body=path.read_bytes(), content_type=STATIC_TYPES[path.suffix], charset="utf-8"
    )


async def home(request: web.Request) -> web.StreamResponse:
    """``/``: the console (which sends a stranger to sign in)."""
    raise web.HTTPSeeOther(f"{PREFIX}/")


def setup(app: web.Application, *, public_https: bool) -> None:
    """Templates, static files and headers of the console (from the installed package)."""
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("baliza.node.console", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    app[PUBLIC_HTTPS] = public_https
    app.on_response_prepare.append(_security_headers)
