"""Workflows the console shares with the command line: channels, joins, subscription requests.

An administrator founds a channel, changes its members, asks a programme
channel's owner to join, decides the join requests partners send, and asks a
partner for a subscription — each through the service the API (and so
``baliza channel …`` / ``baliza subscriptions request``) calls
(``workflow_adapter``). Nothing is signed blind: founding a channel or
changing its members first shows the change (members added and removed,
version N → N+1, owners, threshold) and signs only when the administrator
ticks that it read it; the signing step carries the version it was read
against, and a channel that moved on since is refused (``conflict``).
Routes need the administrator role, as the API's do, and the form's CSRF
token.
"""

from __future__ import annotations

import base64
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from baliza.node.console import adapter, admin_adapter, workflow_adapter
from baliza.node.console.i18n import N_
from baliza.node.console.reasons import explain
from baliza.node.console.web import FORMATTER, PREFIX, posted, render
from baliza.node.http.appkeys import DELIVERY, NODE
from baliza.node.http.errors import http_status
from baliza.node.services.channel_admin import Signed
from baliza.protocol.canonical import Value
from baliza.protocol.channels import ChannelKind
from baliza.protocol.errors import BalizaError, InputError, ReasonCode
from baliza.protocol.ids import AgencyId, agency_id, channel_id, envelope_id
from baliza.protocol.notices import Category, Programme
from baliza.protocol.subscriptions import SubscriptionFilter

Form = MultiDictProxy[str | bytes | bytearray | web.FileField]
# What a subscription may narrow to, as the request form offers it.
SUBSCRIBABLE_KINDS = ("notice.alert", "notice.seizure", "notice.outcome", "notice.case")
KIND_WORDS = {
    "notice.alert": N_("Pre-arrival alerts"),
    "notice.seizure": N_("Seizures"),
    "notice.outcome": N_("Outcomes"),
    "notice.case": N_("Case notices"),
}
CHANNEL_FIELDS = ("id", "name", "kind", "programme", "threshold", "valid_days")


def _strings(form: Form, name: str) -> list[str]:
    return [v.strip() for v in form.getall(name, []) if isinstance(v, str) and v.strip()]


def _field(form: Form, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _agencies(raw: list[str], path: str) -> tuple[AgencyId, ...]:
    return tuple(sorted({agency_id(a, f"{path}[{i}]") for i, a in enumerate(raw)}))


def _where(err: BalizaError, fields: tuple[str, ...]) -> str:
    """The form field a refusal names (``members[2]`` → ``members``), or the top of the page."""
    head = (err.path or "").split("[")[0].split(".")[0]
    return head if head in fields else "top"


def _signed_view(signed: Signed) -> dict[str, object]:
    return {
        "applied": signed.applied is not None,
        "version": signed.applied.version if signed.applied else None,
        "signed_by": signed.signed_by,
        "threshold": signed.threshold,
        "proposal_b64": base64.b64encode(signed.proposal).decode("ascii"),
    }


# ---- founding a channel -------------------------------------------------------------------


def _founding_body(values: dict[str, str], lists: dict[str, list[str]]) -> dict[str, Any]:
    """The API's ``POST /api/v1/channels`` body from the form (the service reads it)."""
    body: dict[str, Any] = {
        "id": values.get("id", ""),
        "kind": values.get("kind", ""),
        "name": values.get("name", ""),
        "members": lists.get("members", []),
        "owners": sorted({*lists.get("owners", []), values["me"]}),
    }
    if values.get("programme"):
        body["programme"] = values["programme"]
    for number in ("threshold", "valid_days"):
        raw = values.get(number, "")
        body[number] = int(raw) if raw.isdigit() else raw
    return body


async def _new_page(
    request: web.Request,
    values: dict[str, str],
    lists: dict[str, list[str]],
    *,
    errors: dict[str, str] | None = None,
    review: object = None,
    signed: dict[str, object] | None = None,
    status: int = 200,
) -> web.Response:
    ctx = request.app[NODE]
    return render(
        request,
        "channel_new.html",
        {
            "values": values,
            "lists": lists,
            "errors": errors or {},
            "required": ("id", "name", "kind"),
            "peers": adapter.peer_agencies(ctx),
            "kinds": [k.value for k in ChannelKind],
            "channel_programmes": [p.value for p in Programme],
            "review": review,
            "signed": signed,
        },
        status=status,
    )


async def new_channel(request: web.Request) -> web.Response:
    """The form to found a channel (this agency an owner)."""
    return await _new_page(
        request, {"kind": "programme", "threshold": "1", "valid_days": "180"}, {}
    )


async def new_channel_submit(request: web.Request) -> web.Response:
    """Show the channel the form describes; found it once the administrator confirmed."""
    form = await posted(request)
    ctx = request.app[NODE]
    values = {k: _field(form, k) for k in CHANNEL_FIELDS}
    lists = {"members": _strings(form, "members"), "owners": _strings(form, "owners")}
    fmt = request[FORMATTER]
    review = None
    try:
        membership = workflow_adapter.founding(
            ctx, _founding_body({**values, "me": ctx.agency}, lists)
        )
        review = workflow_adapter.preview_founding(membership)
        if _field(form, "step") != "sign":
            return await _new_page(request, values, lists, review=review)
        if form.get("read") != "yes":
            raise InputError(
                ReasonCode.PROPOSAL_UNCONFIRMED, "tick that you read the channel", path="read"
            )
        signed = await workflow_adapter.found(ctx, request.app[DELIVERY], membership)
    except BalizaError as err:
        field = _where(err, (*CHANNEL_FIELDS, "members", "owners", "read"))
        errors = {field: explain(err, fmt)}
        # Kept in view when only the confirmation is missing: the person reads it again.
        shown = review if field == "read" else None
        return await _new_page(
            request, values, lists, errors=errors, review=shown, status=http_status(err)
        )
    return await _new_page(request, values, lists, signed=_signed_view(signed), status=201)


# ---- changing members ---------------------------------------------------------------------


async def _members_page(
    request: web.Request,
    lists: dict[str, list[str]],
    *,
    errors: dict[str, str] | None = None,
    review: object = None,
    signed: dict[str, object] | None = None,
    status: int = 200,
) -> web.Response:
    ctx = request.app[NODE]
    channel = channel_id(request.match_info["channel"], "channel")
    described = await workflow_adapter.owned_channel(ctx, channel)
    if described is None:
        raise InputError(
            ReasonCode.NOT_FOUND, f"this node knows no channel {channel}", path="channel"
        )
    members = [str(m) for m in described["members"]]  # type: ignore[attr-defined]
    return render(
        request,
        "channel_members.html",
        {
            "channel": described,
            "current": members,
            "owners": [str(o) for o in described["owners"]],  # type: ignore[attr-defined]
            "candidates": [a for a in adapter.peer_agencies(ctx) if a not in members],
            "joins": await workflow_adapter.joins_waiting(ctx, channel),
            "lists": lists,
            "values": {},
            "errors": errors or {},
            "required": (),
            "review": review,
            "signed": signed,
        },
        status=status,
    )


async def members_form(request: web.Request) -> web.Response:
    """The members of a channel this node owns, to add and remove."""
    return await _members_page(request, {})


async def members_submit(request: web.Request) -> web.Response:
    """Show the next version's changes; sign them once confirmed, at the version read."""
    form = await posted(request)
    ctx = request.app[NODE]
    channel = channel_id(request.match_info["channel"], "channel")
    lists = {"add": _strings(form, "add"), "remove": _strings(form, "remove")}
    fmt = request[FORMATTER]
    review = None
    try:
        add = _agencies(lists["add"], "add")
        remove = _agencies(lists["remove"], "remove")
        if not add and not remove:
            raise InputError(ReasonCode.MISSING_FIELD, "add or remove someone", path="add")
        review = await workflow_adapter.preview_members(ctx, channel, add, remove)
        if _field(form, "step") != "sign":
            return await _members_page(request, lists, review=review)
        if form.get("read") != "yes":
            raise InputError(
                ReasonCode.PROPOSAL_UNCONFIRMED, "tick that you read the change", path="read"
            )
        version = _field(form, "version")
        if not version.isdigit():
            raise InputError(
                ReasonCode.MISSING_FIELD, "the version read is missing", path="version"
            )
        signed = await workflow_adapter.change_members(
            ctx, request.app[DELIVERY], channel, add, remove, int(version)
        )
    except BalizaError as err:
        field = _where(err, ("add", "remove", "read"))
        errors = {field: explain(err, fmt)}
        shown = review if field == "read" else None
        return await _members_page(
            request, lists, errors=errors, review=shown, status=http_status(err)
        )
    return await _members_page(request, {}, signed=_signed_view(signed))


# ---- join requests --------------------------------------------------------------------------


async def decide_join(request: web.Request) -> web.Response:
    """Approve (a new version with the agency in it, signed now) or refuse a join request."""
    await posted(request)
    decision = request.match_info["decision"]
    if decision not in ("approve", "refuse"):
        raise web.HTTPNotFound()
    channel = channel_id(request.match_info["channel"], "channel")
    agency = agency_id(request.match_info["agency"], "agency")
    ctx = request.app[NODE]
    await workflow_adapter.decide_join(
        ctx, request.app[DELIVERY], channel, agency, decision == "approve"
    )
    raise web.HTTPSeeOther(f"{PREFIX}/admin/channels/{channel}/members")


async def ask_to_join(request: web.Request) -> web.Response:
    """Ask a programme channel's owner to admit this agency."""
    form = await posted(request)
    channel = channel_id(_field(form, "channel"), "channel")
    owner = agency_id(_field(form, "owner"), "owner")
    await workflow_adapter.ask_to_join(
        request.app[NODE], request.app[DELIVERY].session, channel, owner, _field(form, "note")
    )
    raise web.HTTPSeeOther(f"{PREFIX}/admin/channels?asked={channel}")


# ---- subscription requests ------------------------------------------------------------------

SUBSCRIBE_FIELDS = ("publisher", "kinds", "programmes", "categories", "countries", "places", "note")


async def _subscribe_page(
    request: web.Request,
    values: dict[str, str],
    lists: dict[str, list[str]],
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    return render(
        request,
        "subscribe.html",
        {
            "values": values,
            "lists": lists,
            "errors": errors or {},
            "required": ("publisher",),
            "peers": adapter.peer_agencies(request.app[NODE]),
            "sub_kinds": SUBSCRIBABLE_KINDS,
            "kind_words": KIND_WORDS,
            "sub_programmes": [p.value for p in Programme],
            "sub_categories": [c.value for c in Category],
        },
        status=status,
    )


async def subscribe_form(request: web.Request) -> web.Response:
    """The form to ask a partner for a subscription to its notices."""
    return await _subscribe_page(request, {}, {})


def _codes(raw: str) -> list[str]:
    """Codes typed with commas or spaces between them, upper case, sorted and unique."""
    return sorted({c.strip().upper() for c in raw.replace(",", " ").split() if c.strip()})


async def subscribe_submit(request: web.Request) -> web.Response:
    """Ask the partner; the request's state shows on the subscriptions page."""
    form = await posted(request)
    values = {k: _field(form, k) for k in ("publisher", "countries", "places", "note")}
    lists = {k: sorted(set(_strings(form, k))) for k in ("kinds", "programmes", "categories")}
    ctx = request.app[NODE]
    try:
        publisher = agency_id(values["publisher"], "publisher")
        chosen = {**lists, **{k: _codes(values[k]) for k in ("countries", "places")}}
        wire: dict[str, Value] = {k: list[Value](v) for k, v in chosen.items() if v}
        wanted = SubscriptionFilter.from_wire(wire)
        await workflow_adapter.subscribe(
            ctx, request.app[DELIVERY].session, publisher, wanted, values["note"] or None
        )
    except BalizaError as err:
        field = _where(err, SUBSCRIBE_FIELDS)
        return await _subscribe_page(
            request,
            values,
            lists,
            errors={field: explain(err, request[FORMATTER])},
            status=http_status(err),
        )
    raise web.HTTPSeeOther(f"{PREFIX}/admin/subscriptions")


async def subscription_state(request: web.Request) -> web.Response:
    """Pause, resume or cancel a subscription (either side); the other side is told, signed."""
    form = await posted(request)
    reason = _field(form, "reason") or None
    await admin_adapter.change_state(
        request.app[NODE],
        request.app[DELIVERY].session,
        str(envelope_id(request.match_info["id"], "id")),
        request.match_info["action"],
        reason,
    )
    raise web.HTTPSeeOther(f"{PREFIX}/admin/subscriptions")


async def decide_alarm(request: web.Request) -> web.Response:
    """Keep the chain held, or replace it with the one a named member holds; sends resume."""
    form = await posted(request)
    channel = channel_id(request.match_info["channel"], "channel")
    decision = _field(form, "decision")
    if decision not in ("keep", "replace"):
        raise InputError(ReasonCode.BAD_ENUM, "must be keep or replace", path="decision")
    source = agency_id(_field(form, "from"), "from") if decision == "replace" else None
    await workflow_adapter.decide_alarm(request.app[NODE], request.app[DELIVERY], channel, source)
    raise web.HTTPSeeOther(f"{PREFIX}/admin/channels")
