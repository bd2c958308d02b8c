"""The administrator's pages: keys, directory, peers, channels, subscriptions, tokens, events.

Views over what the node holds, plus the decisions the API offers an
administrator, through the same services: token creation and revocation
(``services.tokens``, recorded as trust events naming the administrator),
admitting or refusing a partner's subscription request
(``services.subscriptions``), reading a directory proposal against the
version in force (``admin_adapter.review_proposal``), and reading, then
signing, another owner's channel proposal (``admin_adapter
.review_channel_proposal`` / ``sign_channel_proposal``): the page shows the
changes and who signed, the administrator ticks that it read them and
names any change that gives power away. A section is an entry in
``SECTIONS`` and a reader in ``adapter`` or ``admin_adapter``.
"""

from __future__ import annotations

import base64

from aiohttp import web

from baliza.node.console import adapter, admin_adapter, admin_words, workflow_adapter
from baliza.node.console.i18n import N_
from baliza.node.console.places import countries, sort_key
from baliza.node.console.reasons import MESSAGES, explain
from baliza.node.console.web import FORMATTER, PREFIX, posted, render
from baliza.node.http.appkeys import DELIVERY, NODE
from baliza.node.http.routes import caller
from baliza.node.services.rules.channel_signing import NamedChange
from baliza.node.services.tokens import Role
from baliza.protocol.errors import BalizaError, InputError, ReasonCode
from baliza.protocol.fields import check_enum, check_str

# The administrator's sections, in menu order (the hook for channels/subscriptions).
SECTIONS = {
    "keys": N_("Keys"),
    "directory": N_("Directory"),
    "peers": N_("Peers"),
    "channels": N_("Channels"),
    "subscriptions": N_("Subscriptions"),
    "tokens": N_("Tokens"),
    "people": N_("People"),  # its own page and module: console/people.py
    "events": N_("Trust events"),
}

# What either side may do to a decided subscription, as its buttons say it.
SUBSCRIPTION_ACTIONS = {"pause": N_("Pause"), "resume": N_("Resume"), "cancel": N_("Cancel")}


async def section(request: web.Request) -> web.Response:
    """One administrator section."""
    name = request.match_info.get("section", "keys")
    if name not in SECTIONS:
        raise web.HTTPNotFound()
    return render(request, "admin.html", await _context(request, name))


async def _context(request: web.Request, name: str) -> dict[str, object]:
    ctx = request.app[NODE]
    fmt = request[FORMATTER]
    waiting = await workflow_adapter.waiting(ctx)
    alarms = await adapter.channel_alarms(ctx)
    context: dict[str, object] = {
        "section": name,
        "event_words": lambda action: admin_words.trust_event(action, fmt),
        "subscription_state": lambda state: admin_words.subscription_state(state, fmt),
        "subscription_reason": lambda reason: admin_words.subscription_reason(reason, fmt),
        "filter_lines": lambda raw: admin_words.filter_lines(raw, fmt),
        "country_names": dict(countries(fmt.lang)),
        "confirm_revoke": None,
        "sections": SECTIONS,
        "new_token": None,
        "proposal": None,
        "proposal_b64": "",
        "proposal_error": "",
        # Channel alarms show on every administrator page until they age out
        # of the newest events: a squatted or forked channel is never quiet.
        "alarms": alarms,
        # The decision is offered once per channel, on its newest alarm (alarms come newest first).
        "alarm_decide_at": {a.channel: i for i, a in reversed(list(enumerate(alarms)))},
        "reason_messages": {code.value: text for code, text in MESSAGES.items()},
        "channel_review": None,
        "channel_proposal_b64": "",
        "channel_error": "",
        "channel_signed": None,
        "tab_waiting": {"subscriptions": waiting.subscriptions, "channels": waiting.joins},
        "request_asked": request.query.get("asked", ""),
        "join_peers": adapter.peer_agencies(ctx),
        "subscription_actions": SUBSCRIPTION_ACTIONS,
        # Channels whose sends wait for the administrator's decision on an alarm.
        "paused": await workflow_adapter.paused(ctx),
    }
    if name == "keys":
        context["keys"] = adapter.keys(ctx)
    elif name == "directory":
        context["versions"] = await adapter.directory_versions(ctx)
        context["in_force"] = ctx.trust.version
        held = ctx.trust.directory
        context["members"] = (
            sorted(held.directory.members, key=lambda m: sort_key(m.name)) if held else []
        )
    elif name == "peers":
        context["peers"] = await adapter.peers(ctx)
    elif name == "channels":
        context["channels"] = await adapter.channels(ctx)
    elif name == "subscriptions":
        context["subscriptions"] = await admin_adapter.subscriptions(ctx)
    elif name == "tokens":
        context["tokens"] = await adapter.tokens(ctx)
        context["roles"] = [r.value for r in Role]
        # Who may own a new token: people whose accounts are enabled.
        context["owners"] = await adapter.token_owners(ctx)
    else:
        context["events"] = await adapter.trust_events(ctx)
    return context


async def create_token(request: web.Request) -> web.Response:
    """Create a token, a person's or a service's (``owner`` empty), and show its secret once."""
    form = await posted(request)
    name = check_str(str(form.get("name", "")).strip(), "name", max_len=100)
    role = str(form.get("role", ""))
    owner = str(form.get("owner", "")).strip() or None
    if not name:
        raise InputError(ReasonCode.MISSING_FIELD, "is required", path="name")
    ctx = request.app[NODE]
    secret = await adapter.new_token(
        ctx, name, role, owner=owner, actor=f"admin {caller(request).name}"
    )
    context = await _context(request, "tokens")
    context["new_token"] = secret
    return render(request, "admin.html", context, status=201)


async def revoke_token(request: web.Request) -> web.Response:
    """Revoke a token once the administrator confirmed it; its sessions end with it.

    The first press shows what will end (the administrator's own token signs
    them out at once) and asks again; only ``confirm=yes`` revokes.
    """
    form = await posted(request)
    ctx = request.app[NODE]
    token_id = request.match_info["id"]
    if form.get("confirm") != "yes":
        context = await _context(request, "tokens")
        tokens = [
            t.token
            for t in await adapter.tokens(ctx)
            if t.token.id == token_id and t.token.revoked_ms is None
        ]
        if not tokens:
            raise InputError(ReasonCode.NOT_FOUND, "no such token in use", path="id")
        context["confirm_revoke"] = {
            "token": tokens[0],
            "own": token_id == caller(request).token_id,
        }
        return render(request, "admin.html", context)
    await adapter.end_token(ctx, token_id, actor=f"admin {caller(request).name}")
    raise web.HTTPSeeOther(f"{PREFIX}/admin/tokens")


async def decide_subscription(request: web.Request) -> web.Response:
    """Admit or refuse a partner's subscription request; the partner is told, signed."""
    form = await posted(request)
    reason = str(form.get("reason", "")).strip() or None
    if request.match_info["action"] == "refuse" and reason is None:
        # The subscriber is told the reason: a refusal without one tells it nothing.
        raise InputError(ReasonCode.MISSING_FIELD, "a refusal needs its reason", path="reason")
    await admin_adapter.decide(
        request.app[NODE],
        request.app[DELIVERY].session,
        request.match_info["id"],
        request.match_info["action"],
        reason,
        caller(request).acting_person,
    )
    raise web.HTTPSeeOther(f"{PREFIX}/admin/subscriptions")


async def review_proposal(request: web.Request) -> web.Response:
    """Read a directory proposal file against the version in force (nothing is stored)."""
    form = await posted(request)
    upload = form.get("proposal")
    context = await _context(request, "directory")
    if not isinstance(upload, web.FileField):
        context["proposal_error"] = request[FORMATTER].gettext("Choose a proposal file.")
        return render(request, "admin.html", context, status=422)
    try:
        raw = upload.file.read()
    finally:
        upload.file.close()
    try:
        context["proposal"] = admin_adapter.review_proposal(request.app[NODE], raw)
        context["proposal_b64"] = base64.b64encode(raw).decode("ascii")
    except BalizaError as err:
        context["proposal_error"] = explain(err, request[FORMATTER])
        return render(request, "admin.html", context, status=422)
    return render(request, "admin.html", context)


async def apply_proposal(request: web.Request) -> web.Response:
    """Apply a fully signed proposal and pass it on to peers, as the admin API does."""
    form = await posted(request)
    try:
        signed = base64.b64decode(str(form.get("proposal_b64", "")), validate=True)
    except ValueError:
        raise InputError(ReasonCode.BAD_FORMAT, "must be base64", path="proposal") from None
    await admin_adapter.apply_directory(
        request.app[DELIVERY], signed, actor=f"admin {caller(request).name} (console)"
    )
    raise web.HTTPSeeOther(f"{PREFIX}/admin/directory")


async def review_channel_proposal(request: web.Request) -> web.Response:
    """Read another owner's channel proposal file against the version in force here."""
    form = await posted(request)
    upload = form.get("proposal")
    context = await _context(request, "channels")
    if not isinstance(upload, web.FileField):
        context["channel_error"] = request[FORMATTER].gettext("Choose a proposal file.")
        return render(request, "admin.html", context, status=422)
    try:
        raw = upload.file.read()
    finally:
        upload.file.close()
    return await _channel_review(request, context, raw)


async def _channel_review(
    request: web.Request, context: dict[str, object], raw: bytes, *, error: str = ""
) -> web.Response:
    try:
        context["channel_review"] = await admin_adapter.review_channel_proposal(
            request.app[NODE], raw
        )
        context["channel_proposal_b64"] = base64.b64encode(raw).decode("ascii")
    except BalizaError as err:
        context["channel_error"] = explain(err, request[FORMATTER])
        return render(request, "admin.html", context, status=422)
    context["channel_error"] = error
    return render(request, "admin.html", context, status=422 if error else 200)


async def sign_channel_proposal(request: web.Request) -> web.Response:
    """Sign the proposal just read, if the administrator ticked that it read the changes."""
    form = await posted(request)
    try:
        raw = base64.b64decode(str(form.get("proposal_b64", "")), validate=True)
    except ValueError:
        raise InputError(ReasonCode.BAD_FORMAT, "must be base64", path="proposal") from None
    # The fingerprint shown with the changes comes back only if the box was ticked.
    confirm = str(form.get("fingerprint", "")) if form.get("read") == "yes" else None
    accept = frozenset(check_enum(str(v), "accept", NamedChange) for v in form.getall("accept", []))
    context = await _context(request, "channels")
    ctx = request.app[NODE]
    try:
        signed = await admin_adapter.sign_channel_proposal(
            ctx, request.app[DELIVERY], raw, confirm=confirm, accept=accept
        )
    except BalizaError as err:
        return await _channel_review(request, context, raw, error=explain(err, request[FORMATTER]))
    context["channels"] = await adapter.channels(ctx)
    context["channel_signed"] = {
        "applied": signed.applied is not None,
        "version": signed.applied.version if signed.applied else None,
        "signed_by": signed.signed_by,
        "threshold": signed.threshold,
        "proposal_b64": base64.b64encode(signed.proposal).decode("ascii"),
    }
    return render(request, "admin.html", context)
