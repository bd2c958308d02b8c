"""Administrator endpoints under ``/api/v1/admin/`` (admin role only).

Everything here changes or shows trust: the federation directory, local
blocks and pauses, this node's keys, API tokens and the trust-event log.
Each change is recorded as a trust event naming the token holder who made it.
Local decisions can only narrow what the directory allows.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from baliza.node.core.clock import now_ms
from baliza.node.http.appkeys import DELIVERY, NODE
from baliza.node.http.json_body import json_object
from baliza.node.http.routes import Access, Route, caller
from baliza.node.http.server import read_body
from baliza.node.services.accounts import fold_login
from baliza.node.services.directory_sync import describe_directory
from baliza.node.services.plausibility import check_not_self, check_plain_text
from baliza.node.services.tokens import ListedToken, Role, issue_token, list_tokens
from baliza.node.services.trust_admin import (
    BlockKind,
    block_agency,
    directory_history,
    lift_block,
    local_blocks,
    trust_events,
)
from baliza.node.services.views.keys import key_views
from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.federation import MEDIA_TYPE
from baliza.protocol.fields import check_enum, check_str
from baliza.protocol.ids import agency_id

MAX_DIRECTORY = 4 << 20


async def get_directory(request: web.Request) -> web.Response:
    """The directory in force, for people; 404 before the first one."""
    ctx = request.app[NODE]
    if ctx.trust.directory is None:
        raise InputError(ReasonCode.NOT_FOUND, "no directory applied yet")
    return web.json_response(describe_directory(ctx.trust.directory.signed_bytes))


async def get_directory_history(request: web.Request) -> web.Response:
    """Every version this node applied: when, signed by whom."""
    history = await directory_history(request.app[NODE].db)
    return web.json_response(
        [
            {
                "version": v.version,
                "applied_ms": v.applied_ms,
                "expires_ms": v.expires_ms,
                "signers": list(v.signers),
            }
            for v in history
        ]
    )


async def post_directory(request: web.Request) -> web.Response:
    """Apply a signed directory version (``?fingerprint=`` pins the first one), then gossip it."""
    who = caller(request)
    if request.content_type != MEDIA_TYPE:
        raise InputError(ReasonCode.UNSUPPORTED_MEDIA, f"expected {MEDIA_TYPE}")
    signed = await read_body(request, request.app[NODE].config)
    if len(signed) > MAX_DIRECTORY:
        raise InputError(ReasonCode.TOO_LARGE, "directory too large")
    applied = await request.app[DELIVERY].apply_and_gossip(
        signed, actor=f"admin {who.name}", fingerprint=request.query.get("fingerprint")
    )
    ctx = request.app[NODE]
    return web.json_response({"applied": applied, "version": ctx.trust.version})


async def list_peers(request: web.Request) -> web.Response:
    """Members, their current keys, and this node's local decisions about them."""
    ctx = request.app[NODE]
    blocks = await local_blocks(ctx.db)
    peers = [
        {
            "agency": p.agency,
            "name": p.name,
            "url": p.url,
            "fingerprint": p.keys.fingerprint(),
            "local": None if p.agency not in blocks else blocks[p.agency].kind.value,
            "reason": None if p.agency not in blocks else blocks[p.agency].reason,
        }
        for p in ctx.peers()
    ]
    return web.json_response({"peers": peers})


async def block_peer(request: web.Request) -> web.Response:
    """Block (refuse its envelopes, stop delivery) or pause (stop delivery) an agency."""
    who = caller(request)
    ctx = request.app[NODE]
    agency = agency_id(request.match_info["agency"], "agency")
    body = await json_object(request)
    kind = check_enum(body.get("kind", "block"), "kind", BlockKind)
    check_not_self(agency, ctx.agency)
    reason = check_plain_text(check_str(body.get("reason"), "reason", max_len=500), "reason")
    await block_agency(ctx, agency, kind, reason, at_ms=now_ms(), actor=who.name)
    return web.json_response({"agency": agency, "local": kind.value})


async def unblock_peer(request: web.Request) -> web.Response:
    """Lift a local block or pause: trust goes back to what the directory says, no further."""
    who = caller(request)
    ctx = request.app[NODE]
    agency = agency_id(request.match_info["agency"], "agency")
    await lift_block(ctx, agency, at_ms=now_ms(), actor=who.name)
    ctx.wakeup(agency).set()
    return web.json_response({"agency": agency, "local": None})


async def list_keys(request: web.Request) -> web.Response:
    """This node's key sets, with fingerprints and whether the directory vouches for them."""
    return web.json_response(
        {"keys": [k.to_json() for k in key_views(request.app[NODE], now_ms())]}
    )


async def list_events(request: web.Request) -> web.Response:
    """The trust-event log: who changed what trust, when."""
    raw_after = request.query.get("after", "0")
    after = min(int(raw_after), 2**63 - 1) if raw_after.isdigit() else 0
    events = await trust_events(request.app[NODE].db, after=after, limit=500)
    return web.json_response(
        [
            {
                "seq": e.seq,
                "at_ms": e.at_ms,
                "actor": e.actor,
                "action": e.action,
                "subject": e.subject,
                "detail": e.detail,
            }
            for e in events
        ]
    )


async def post_token(request: web.Request) -> web.Response:
    """Create an API token, a person's (``owner``: their login) or a service's; the secret is
    in this answer only."""
    who = caller(request)
    body = await json_object(request)
    name = check_plain_text(check_str(body.get("name"), "name", max_len=100), "name")
    role = check_enum(body.get("role"), "role", Role)
    raw_owner = body.get("owner")
    owner = None if raw_owner is None else check_str(raw_owner, "owner", max_len=64)
    ctx = request.app[NODE]
    token = await issue_token(
        ctx.db, name, role.value, now_ms(), owner=owner, actor=f"admin {who.name}"
    )
    owned_by = fold_login(owner) if owner and owner.strip() else None
    answer = {"token": token, "name": name, "role": role.value, "owner": owned_by}
    return web.json_response(answer, status=201)


async def get_tokens(request: web.Request) -> web.Response:
    """Every API token (revoked ones too) with its owner; never a secret."""
    return web.json_response([token_json(t) for t in await list_tokens(request.app[NODE].db)])


def token_json(listed: ListedToken) -> dict[str, Any]:
    """A listed token as the API shows it: ``owner`` is the person's login, None for a service's."""
    token, owner = listed.token, listed.owner
    return {
        "id": token.id,
        "name": token.name,
        "role": token.role.value,
        "owner": None if owner is None else owner.login,
        "owner_name": None if owner is None else owner.name,
        "created_ms": token.created_ms,
        "revoked_ms": token.revoked_ms,
    }


ROUTES = (
    Route("GET", "/api/v1/admin/directory", get_directory, Access.ADMIN),
    Route("POST", "/api/v1/admin/directory", post_directory, Access.ADMIN),
    Route("GET", "/api/v1/admin/directory/history", get_directory_history, Access.ADMIN),
    Route("GET", "/api/v1/admin/peers", list_peers, Access.ADMIN),
    Route("POST", "/api/v1/admin/peers/{agency}/block", block_peer, Access.ADMIN),
    Route("DELETE", "/api/v1/admin/peers/{agency}/block", unblock_peer, Access.ADMIN),
    Route("GET", "/api/v1/admin/keys", list_keys, Access.ADMIN),
    Route("GET", "/api/v1/admin/events", list_events, Access.ADMIN),
    Route("GET", "/api/v1/admin/tokens", get_tokens, Access.ADMIN),
    Route("POST", "/api/v1/admin/tokens", post_token, Access.ADMIN),
)
