"""The console's plumbing: templates, language, security headers, error pages.

Every console answer goes through ``console_middleware``: it picks the
language, sets the security headers (a strict Content-Security-Policy with no
inline script or style, no framing, no sniffing, no referrer, no caching of
pages) and turns a refusal into a page in the person's language instead of
the API's JSON. The API's own answers pass through untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from baliza.node.console.i18n import LANG_COOKIE, LANGUAGES, Formatter, negotiate
from baliza.node.console.reasons import explain
from baliza.node.http.errors import Handler, http_status
from baliza.node.http.routes import CSRF_FIELD, SIGNED_IN
from baliza.node.services.tokens import Role
from baliza.protocol.errors import BalizaError, InputError, ReasonCode

PREFIX = "/console"
PUBLIC_HTTPS = web.AppKey("console_public_https", bool)
FORMATTER = web.RequestKey("formatter", Formatter)
YEAR_S = 365 * 24 * 3600

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
        max_age=YEAR_S if name == LANG_COOKIE else None,
    )


def render(
    request: web.Request, template: str, context: Mapping[str, Any], status: int = 200
) -> web.Response:
    """Render ``template`` with the person's language, formatter and form token."""
    fmt = request[FORMATTER]
    signed_in = request.get(SIGNED_IN)
    full = {
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
        **context,
    }
    return aiohttp_jinja2.render_template(template, request, full, status=status)


@web.middleware
async def console_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Language and error pages for console requests only."""
    if not is_console(request):
        return await handler(request)
    wanted = request.query.get("lang")
    if wanted in LANGUAGES and request.method == "GET":
        # Switching language is a link, not a form: remember it and reload without it.
        query = {k: v for k, v in request.query.items() if k != "lang"}
        redirect = web.HTTPSeeOther(str(request.rel_url.with_query(query)))
        set_cookie(redirect, request, LANG_COOKIE, wanted)
        raise redirect
    request[FORMATTER] = Formatter(
        negotiate(request.cookies.get(LANG_COOKIE), request.headers.get("Accept-Language"))
    )
    try:
        return await handler(request)
    except web.HTTPNotFound:
        err: BalizaError = InputError(ReasonCode.NOT_FOUND, "no such page", path=request.path)
    except BalizaError as refused:
        err = refused
    message = explain(err, request[FORMATTER])
    return render(request, "error.html", {"message": message, "err": err}, status=http_status(err))


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Every console answer, streams and redirects included, carries the headers."""
    if is_console(request):
        response.headers.update(SECURITY_HEADERS)
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
