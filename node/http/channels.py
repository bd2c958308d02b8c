"""The channels part of the local API: list, found, change members, sign, join, approve.

Reading channels is for analysts; changing them is for administrators, and
only an owner's node can sign a new version. A version that this node's
signature completes is in force at once and passed on to the members; one
that needs more owners comes back as a proposal (base64) to hand to them.
Another owner's proposal is read first (``…/proposals/review``: its changes
against the version in force here, its fingerprint, who signed) and signed
only with that fingerprint in ``confirm`` and, for a lower threshold or
this agency leaving the owners, that change named in ``accept``.
"""

from __future__ import annotations

import base64
from enum import StrEnum
from typing import Any

from aiohttp import web

from baliza.node.core.clock import now_ms
from baliza.node.http.appkeys import DELIVERY, NODE
from baliza.node.http.json_body import json_body
from baliza.node.http.routes import Access, Route
from baliza.node.services.channel_admin import (
    Signed,
    agencies_from_json,
    ask_owner_to_join,
    change_members,
    decide_alarm,
    decide_join,
    found_channel,
    membership_from_json,
    review_proposal,
    sign_proposal,
)
from baliza.node.services.channels import describe
from baliza.node.services.rules.channel_signing import NamedChange
from baliza.node.services.views.channels import channel_list, channel_versions
from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.fields import check_enum, check_str
from baliza.protocol.ids import agency_id, channel_id


def _signed_json(request: web.Request, signed: Signed) -> dict[str, Any]:
    if signed.applied is not None:
        request.app[DELIVERY].channels.gossip(signed.applied)
    return {
        "applied": signed.applied is not None,
        "version": signed.applied.version if signed.applied else None,
        "signed_by": list(signed.signed_by),
        "threshold": signed.threshold,
        "proposal": None
        if signed.applied is not None
        else base64.b64encode(signed.proposal).decode("ascii"),
    }


async def list_channels(request: web.Request) -> web.Response:
    """Every channel this node knows (its latest version), with pending join requests."""
    items = []
    for entry in await channel_list(request.app[NODE]):
        item = dict(entry.described)
        item["joins"] = [
            {"agency": j.agency, "state": j.state.value, "requested_ms": j.requested_ms}
            for j in entry.joins
        ]
        items.append(item)
    return web.json_response({"items": items})


async def get_channel(request: web.Request) -> web.Response:
    """One channel: its latest version and the list of versions this node holds."""
    ctx = request.app[NODE]
    channel = channel_id(request.match_info["channel"], "channel")
    versions = await channel_versions(ctx, channel)
    if not versions:
        raise InputError(
            ReasonCode.NOT_FOUND, f"this node knows no channel {channel}", path="channel"
        )
    out = describe(versions[-1], ctx.agency)
    out["versions"] = [
        {"version": v.version, "members": list(v.members), "applied_ms": v.applied_ms}
        for v in versions
    ]
    return web.json_response(out)


async def post_channel(request: web.Request) -> web.Response:
    """Found a channel: version 1, signed by this agency as an owner."""
    ctx = request.app[NODE]
    membership = membership_from_json(await json_body(request), me=ctx.agency, now=now_ms())
    signed = await found_channel(ctx, membership)
    return web.json_response(
        {"channel": membership.channel, **_signed_json(request, signed)}, status=201
    )


async def post_members(request: web.Request) -> web.Response:
    """Add or remove members: the next version, signed by this owner."""
    ctx = request.app[NODE]
    channel = channel_id(request.match_info["channel"], "channel")
    body = await json_body(request)
    if not isinstance(body, dict) or not set(body) <= {"add", "remove", "valid_days"}:
        raise InputError(ReasonCode.UNKNOWN_FIELD, "expected add, remove, valid_days")
    add = agencies_from_json(body.get("add", []), "add")
    remove = agencies_from_json(body.get("remove", []), "remove")
    if not add and not remove:
        raise InputError(ReasonCode.MISSING_FIELD, "add or remove someone", path="add")
    signed = await change_members(ctx, channel, add=add, remove=remove)
    return web.json_response({"channel": channel, **_signed_json(request, signed)})


def _proposal(body: Any, allowed: set[str]) -> bytes:
    if not isinstance(body, dict):
        raise InputError(ReasonCode.WRONG_TYPE, "the body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InputError(ReasonCode.UNKNOWN_FIELD, "is not a known field", path=unknown[0])
    try:
        raw = check_str(body.get("proposal"), "proposal", max_len=200_000)
        return base64.b64decode(raw, validate=True)
    except ValueError:  # binascii.Error, or characters that are not ASCII
        raise InputError(ReasonCode.BAD_FORMAT, "must be base64", path="proposal") from None


async def post_proposal_review(request: web.Request) -> web.Response:
    """What another owner's proposal (``{"proposal": base64}``) changes, and who signed it."""
    channel = channel_id(request.match_info["channel"], "channel")
    proposal = _proposal(await json_body(request), {"proposal"})
    review = await review_proposal(request.app[NODE], proposal, channel=channel)
    return web.json_response(review.to_json())


async def post_proposal(request: web.Request) -> web.Response:
    """Sign another owner's proposal the caller confirmed; apply it if complete.

    Body: ``{"proposal": base64, "confirm": fingerprint, "accept": [change, ...]}``.
    """
    ctx = request.app[NODE]
    channel = channel_id(request.match_info["channel"], "channel")
    body = await json_body(request)
    proposal = _proposal(body, {"proposal", "confirm", "accept"})
    confirm = body.get("confirm")
    if confirm is not None:
        confirm = check_str(confirm, "confirm", max_len=100)
    accept = body.get("accept", [])
    if not isinstance(accept, list) or len(accept) > len(NamedChange):
        raise InputError(ReasonCode.WRONG_TYPE, "must be a list of changes", path="accept")
    named = frozenset(check_enum(a, f"accept[{i}]", NamedChange) for i, a in enumerate(accept))
    signed = await sign_proposal(ctx, proposal, channel=channel, confirm=confirm, accept=named)
    return web.json_response({"channel": channel, **_signed_json(request, signed)})


async def post_join(request: web.Request) -> web.Response:
    """Ask the owner of a programme channel to admit this agency."""
    ctx = request.app[NODE]
    channel = channel_id(request.match_info["channel"], "channel")
    body = await json_body(request)
    if not isinstance(body, dict) or "owner" not in body:
        raise InputError(ReasonCode.MISSING_FIELD, "name the channel's owner", path="owner")
    owner = agency_id(body["owner"], "owner")
    note = body.get("note", "")
    await ask_owner_to_join(ctx, request.app[DELIVERY].session, channel, owner, note)
    return web.json_response({"channel": channel, "owner": owner, "state": "pending"})


async def post_join_decision(request: web.Request) -> web.Response:
    """Approve or refuse a pending join request to a channel this node owns."""
    ctx = request.app[NODE]
    channel = channel_id(request.match_info["channel"], "channel")
    agency = agency_id(request.match_info["agency"], "agency")
    body = await json_body(request)
    decision = check_enum(
        body.get("decision") if isinstance(body, dict) else None, "decision", _Decision
    )
    signed = await decide_join(ctx, channel, agency, approve=decision is _Decision.APPROVE)
    out: dict[str, Any] = {"channel": channel, "agency": agency, "decision": decision.value}
    if signed is not None:
        out.update(_signed_json(request, signed))
    return web.json_response(out)


async def post_alarm_decision(request: web.Request) -> web.Response:
    """Keep the chain held, or replace it with the one another member holds; sends resume."""
    ctx = request.app[NODE]
    channel = channel_id(request.match_info["channel"], "channel")
    body = await json_body(request)
    if not isinstance(body, dict) or not set(body) <= {"decision", "from"}:
        raise InputError(ReasonCode.UNKNOWN_FIELD, "expected decision and, to replace, from")
    decision = check_enum(body.get("decision"), "decision", _AlarmDecision)
    source = None
    if decision is _AlarmDecision.REPLACE:
        if body.get("from") is None:
            raise InputError(
                ReasonCode.MISSING_FIELD, "name the member whose chain replaces it", path="from"
            )
        source = agency_id(body.get("from"), "from")
    elif "from" in body:
        raise InputError(
            ReasonCode.INCONSISTENT, "from names a source to replace from", path="from"
        )
    applied = await decide_alarm(ctx, request.app[DELIVERY].channels, channel, source)
    out: dict[str, Any] = {"channel": channel, "decision": decision.value}
    if applied is not None:
        out["version"] = applied.version
    return web.json_response(out)


class _AlarmDecision(StrEnum):
    KEEP = "keep"
    REPLACE = "replace"


class _Decision(StrEnum):
    APPROVE = "approve"
    REFUSE = "refuse"


ROUTES = (
    Route("GET", "/api/v1/channels", list_channels, Access.ANALYST),
    Route("POST", "/api/v1/channels", post_channel, Access.ADMIN),
    Route("GET", "/api/v1/channels/{channel}", get_channel, Access.ANALYST),
    Route("POST", "/api/v1/channels/{channel}/members", post_members, Access.ADMIN),
    Route("POST", "/api/v1/channels/{channel}/proposals", post_proposal, Access.ADMIN),
    Route(
        "POST",
        "/api/v1/channels/{channel}/proposals/review",
        post_proposal_review,
        Access.ADMIN,
    ),
    Route("POST", "/api/v1/channels/{channel}/join", post_join, Access.ADMIN),
    Route("POST", "/api/v1/channels/{channel}/joins/{agency}", post_join_decision, Access.ADMIN),
    Route("POST", "/api/v1/channels/{channel}/alarm", post_alarm_decision, Access.ADMIN),
)
