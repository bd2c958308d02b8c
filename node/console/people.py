"""The administrator's people page: create, list, disable and reset accounts.

The same service functions as ``baliza users`` (``services.accounts``), so
the console and the CLI cannot disagree on a rule. A new or reset
account's secrets (password, TOTP secret and its ``otpauth://`` URI,
recovery codes) are shown once, on the page that made them, to hand to
the person; the node keeps none of them in clear. Disabling and resetting
ask for confirmation first.
"""

from __future__ import annotations

from aiohttp import web
from multidict import MultiDictProxy

from baliza.node.console.admin import SECTIONS
from baliza.node.console.reasons import explain
from baliza.node.console.web import FORMATTER, PREFIX, posted, render
from baliza.node.core.clock import now_ms
from baliza.node.http.appkeys import NODE
from baliza.node.http.routes import caller
from baliza.node.services.accounts import (
    Enrolment,
    add_user,
    disable_user,
    fold_login,
    list_users,
    reset_user,
)
from baliza.node.services.rules.roles import Role
from baliza.protocol.errors import BalizaError

PAGE = PREFIX + "/admin/people"
Form = MultiDictProxy[str | bytes | bytearray | web.FileField]


def _field(form: Form, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def grouped(secret: str) -> str:
    """A TOTP secret in groups of four, as a person types it into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _actor(request: web.Request) -> str:
    return f"admin {caller(request).name} (console)"


async def _page(request: web.Request, status: int = 200, **more: object) -> web.Response:
    context: dict[str, object] = {
        "section": "people",
        "sections": SECTIONS,
        "users": await list_users(request.app[NODE].db),
        "roles": [r.value for r in Role],
        "enrolment": None,
        "grouped": grouped,
        "create_error": "",
        "form": {},
        "confirm": None,
        "done": "",
    }
    context.update(more)
    return render(request, "people.html", context, status=status)


async def page(request: web.Request) -> web.Response:
    """Everyone's account, and the form that creates one."""
    return await _page(request)


async def create(request: web.Request) -> web.Response:
    """Create an account with a generated password; show its secrets once."""
    form = await posted(request)
    unit = _field(form, "unit")
    try:
        enrolment = await add_user(
            request.app[NODE].db,
            _field(form, "login"),
            name=_field(form, "name"),
            role=_field(form, "role"),
            unit=unit or None,
            password=None,
            now=now_ms(),
            issuer=f"Baliza {request.app[NODE].config.name}",
            actor=_actor(request),
        )
    except BalizaError as err:
        return await _page(
            request,
            status=400,
            create_error=explain(err, request[FORMATTER]),
            form={k: _field(form, k) for k in ("name", "login", "unit", "role")},
        )
    return await _page(request, enrolment=enrolment)


async def decide(request: web.Request) -> web.Response:
    """Disable or reset an account, once the administrator confirmed it."""
    form = await posted(request)
    action = request.match_info["action"]
    if action not in ("disable", "reset"):
        raise web.HTTPNotFound()
    try:
        login = fold_login(request.match_info["login"])
    except BalizaError:
        raise web.HTTPNotFound() from None
    users = {u.login: u for u in await list_users(request.app[NODE].db)}
    if login not in users:
        raise web.HTTPNotFound()
    if _field(form, "confirmed") != "yes":
        return await _page(request, confirm={"action": action, "user": users[login]})
    db = request.app[NODE].db
    if action == "disable":
        await disable_user(db, login, now_ms(), actor=_actor(request))
        return await _page(request, done=login)
    enrolment: Enrolment = await reset_user(
        db,
        login,
        password=None,
        now=now_ms(),
        issuer=f"Baliza {request.app[NODE].config.name}",
        actor=_actor(request),
    )
    return await _page(request, enrolment=enrolment)
