"""A person's own account page: password, recovery codes and security keys.

Each form calls the same services as the CLI (``services.accounts``,
``services.security_keys``). New recovery codes are shown once, on the
page that made them, and never again. Registering a security key takes two
requests: the page asks for options (JSON, with the challenge the node
stored), the browser's key answers, and the form posts the answer back.
Removing a key asks for confirmation first. A session opened with an API
token has no account: the page says so.
"""

from __future__ import annotations

import json

from aiohttp import web
from multidict import MultiDictProxy
from webauthn.helpers import bytes_to_base64url

from baliza.node.console.i18n import N_
from baliza.node.console.reasons import explain
from baliza.node.console.web import FORMATTER, PREFIX, posted, render
from baliza.node.core.clock import now_ms
from baliza.node.http.appkeys import NODE
from baliza.node.http.routes import caller
from baliza.node.services.accounts import change_password, regenerate_recovery_codes
from baliza.node.services.security_keys import (
    Party,
    begin_registration,
    finish_registration,
    remove_security_key,
    security_keys_of,
)
from baliza.node.services.tokens import Caller
from baliza.protocol.errors import BalizaError, ReasonCode, TrustError

PAGE = PREFIX + "/account"
DONE = {
    "password": N_("Your password was changed."),
    "key-added": N_("The security key was registered: you can sign in with it now."),
    "key-removed": N_("The security key was removed."),
}
WRONG_PASSWORD = N_("The current password is wrong.")
DIFFERENT = N_("The two new passwords differ.")


Form = MultiDictProxy[str | bytes | bytearray | web.FileField]


def _field(form: Form, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _person(request: web.Request) -> tuple[Caller, str]:
    who = caller(request)
    if who.user_id is None:
        raise TrustError(ReasonCode.FORBIDDEN, "a token's session has no account")
    return who, who.user_id


async def _page(request: web.Request, **more: object) -> web.Response:
    who = caller(request)
    keys = []
    if who.user_id is not None:
        keys = [
            {
                "id": bytes_to_base64url(k.credential_id),
                "name": k.name,
                "created_ms": k.created_ms,
                "last_used_ms": k.last_used_ms,
            }
            for k in await security_keys_of(request.app[NODE].db, who.user_id)
        ]
    done = request.query.get("done", "")
    context: dict[str, object] = {
        "person": who.user_id is not None,
        "keys": keys,
        "done": DONE.get(done, ""),
        "password_error": "",
        "key_error": "",
        "new_codes": (),
        "confirm_remove": None,
    }
    context.update(more)
    status = 400 if context["password_error"] or context["key_error"] else 200
    return render(request, "account.html", context, status=status)


async def page(request: web.Request) -> web.Response:
    """The person's own account."""
    return await _page(request)


async def password_submit(request: web.Request) -> web.Response:
    """Change the password: the current one, then the new one twice."""
    form = await posted(request)
    _, user_id = _person(request)
    fmt = request[FORMATTER]
    new = _field(form, "new")
    if new != _field(form, "again"):
        return await _page(request, password_error=fmt.gettext(DIFFERENT))
    try:
        await change_password(request.app[NODE].db, user_id, _field(form, "old"), new, now_ms())
    except TrustError as err:
        if err.reason == ReasonCode.UNAUTHENTICATED:
            return await _page(request, password_error=fmt.gettext(WRONG_PASSWORD))
        raise
    except BalizaError as err:
        return await _page(request, password_error=explain(err, fmt))
    raise web.HTTPSeeOther(PAGE + "?done=password")


async def codes_submit(request: web.Request) -> web.Response:
    """New recovery codes, shown once on the page that made them; the old ones stop working."""
    await posted(request)
    _, user_id = _person(request)
    codes = await regenerate_recovery_codes(request.app[NODE].db, user_id, now_ms())
    return await _page(request, new_codes=codes)


async def key_options(request: web.Request) -> web.Response:
    """The options for the browser's ``navigator.credentials.create``, and their handle."""
    await posted(request)
    _, user_id = _person(request)
    ctx = request.app[NODE]
    handle, options = await begin_registration(ctx.db, Party.of(ctx.config), user_id, now_ms())
    return web.json_response({"handle": handle, "options": json.loads(options)})


async def key_submit(request: web.Request) -> web.Response:
    """Check the key's answer and store the key under the name given."""
    form = await posted(request)
    _, user_id = _person(request)
    ctx = request.app[NODE]
    try:
        await finish_registration(
            ctx.db,
            Party.of(ctx.config),
            user_id,
            _field(form, "handle"),
            _field(form, "credential"),
            _field(form, "name"),
            now_ms(),
        )
    except BalizaError as err:
        message = explain(err, request[FORMATTER])
        if err.reason == ReasonCode.UNAUTHENTICATED:
            message = request[FORMATTER].gettext(KEY_REFUSED)
        return await _page(request, key_error=message)
    raise web.HTTPSeeOther(PAGE + "?done=key-added")


KEY_REFUSED = N_("The security key's answer could not be checked; try again.")


async def key_remove(request: web.Request) -> web.Response:
    """Remove a key, once the person confirmed it on the page this shows first."""
    form = await posted(request)
    _, user_id = _person(request)
    credential = request.match_info["id"]
    if _field(form, "confirmed") != "yes":
        keys = await security_keys_of(request.app[NODE].db, user_id)
        named = [k.name for k in keys if bytes_to_base64url(k.credential_id) == credential]
        if not named:
            raise web.HTTPNotFound()
        return await _page(request, confirm_remove={"id": credential, "name": named[0]})
    await remove_security_key(request.app[NODE].db, user_id, credential, now_ms())
    raise web.HTTPSeeOther(PAGE + "?done=key-removed")
