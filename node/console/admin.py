"""The administrator's pages: keys, directory versions, peers, tokens, trust events.

Read-only views over what the node holds, plus token creation and
revocation through ``services.tokens`` (recorded as trust events naming the
administrator). Channels are one section; subscriptions get theirs the same way: add a
section to ``SECTIONS`` and a reader in ``adapter``.
"""

from __future__ import annotations

from aiohttp import web

from baliza.node.console import adapter
from baliza.node.console.i18n import N_
from baliza.node.console.web import PREFIX, render
from baliza.node.http.appkeys import NODE
from baliza.node.http.routes import caller
from baliza.node.services.tokens import Role
from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.fields import check_str

# The administrator's sections, in menu order (the hook for channels/subscriptions).
SECTIONS = {
    "keys": N_("Keys"),
    "directory": N_("Directory"),
    "peers": N_("Peers"),
    "channels": N_("Channels"),
    "tokens": N_("Tokens"),
    "events": N_("Trust events"),
}


async def section(request: web.Request) -> web.Response:
    """One administrator section."""
    name = request.match_info.get("section", "keys")
    if name not in SECTIONS:
        raise web.HTTPNotFound()
    ctx = request.app[NODE]
    context: dict[str, object] = {"section": name, "sections": SECTIONS, "new_token": None}
    if name == "keys":
        context["keys"] = adapter.keys(ctx)
    elif name == "directory":
        context["versions"] = await adapter.directory_versions(ctx)
        context["in_force"] = ctx.trust.version
    elif name == "peers":
        context["peers"] = await adapter.peers(ctx)
    elif name == "channels":
        context["channels"] = await adapter.channels(ctx)
    elif name == "tokens":
        context["tokens"] = await adapter.tokens(ctx)
        context["roles"] = [r.value for r in Role]
    else:
        context["events"] = await adapter.trust_events(ctx)
    return render(request, "admin.html", context)


async def create_token(request: web.Request) -> web.Response:
    """Create a token and show its secret once."""
    form = await request.post()
    name = check_str(str(form.get("name", "")).strip(), "name", max_len=100)
    role = str(form.get("role", ""))
    if not name:
        raise InputError(ReasonCode.MISSING_FIELD, "is required", path="name")
    ctx = request.app[NODE]
    secret = await adapter.new_token(ctx, name, role, actor=f"admin {caller(request).name}")
    context: dict[str, object] = {
        "section": "tokens",
        "sections": SECTIONS,
        "tokens": await adapter.tokens(ctx),
        "roles": [r.value for r in Role],
        "new_token": secret,
    }
    return render(request, "admin.html", context, status=201)


async def revoke_token(request: web.Request) -> web.Response:
    """Revoke a token; its sessions end with it."""
    ctx = request.app[NODE]
    await adapter.end_token(ctx, request.match_info["id"], actor=f"admin {caller(request).name}")
    raise web.HTTPSeeOther(f"{PREFIX}/admin/tokens")
