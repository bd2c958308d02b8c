"""What the console reads and changes, through the node's services (never storage).

The one place the console touches the node: pages call these functions and
never call a service themselves, so when a service moves only this module
follows it. No rule and no read model lives here: the notice, its delivery
per recipient, the alert board and peer health are the API's own models
(``services.views``); publishing goes through ``PublishRequest.from_json``
and ``publish`` exactly as the API's does, tokens through ``services.tokens``.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from baliza.node.core.clock import now_ms
from baliza.node.http.appkeys import ATTACHMENTS, DELIVERY, NODE
from baliza.node.services import sharing
from baliza.node.services.accounts import User, list_users
from baliza.node.services.attachment_transport import listed
from baliza.node.services.channels import ChannelAlarm
from baliza.node.services.channels import channel_alarms as _channel_alarms
from baliza.node.services.context import NodeContext
from baliza.node.services.person_actions import PersonAction, people_on, record_published
from baliza.node.services.publish import Published, PublishRequest, publish
from baliza.node.services.receipts import ReadMark, mark_read
from baliza.node.services.rules.audience import outcome_recipients
from baliza.node.services.seizure_answer import SeizureAnswer, publish_seizure_answer
from baliza.node.services.sharing import ShareOutcome
from baliza.node.services.tokens import ListedToken, issue_token, list_tokens, withdraw_token
from baliza.node.services.trust_admin import DirectoryVersion, TrustEvent
from baliza.node.services.trust_admin import directory_history as _directory_history
from baliza.node.services.trust_admin import trust_events as _trust_events
from baliza.node.services.views import (
    BOARD_PAGE,
    AlertBoard,
    AlertState,
    NoticeDetail,
    NoticeFilter,
    PeerHealth,
    RecipientDelivery,
    StoredNotice,
    alert_board,
    notice_detail,
    peer_health,
)
from baliza.node.services.views import delivery as _delivery
from baliza.node.services.views.channels import channel_list
from baliza.node.services.views.feed import FeedPage, feed_page, stored_notice
from baliza.node.services.views.keys import KeyView, key_views
from baliza.node.services.views.originals import newest_originals
from baliza.node.services.views.sharing import Permission, permissions_waiting
from baliza.node.services.views.sharing import permissions as _permissions
from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.ids import AgencyId, agency_id, envelope_id

FEED_PAGE = 100
# Charts read at most this many seizure notices (the newest): one page of the store.
CHART_LIMIT = 1000


async def feed(
    ctx: NodeContext,
    filters: NoticeFilter,
    *,
    before: int | None = None,
    after: int | None = None,
) -> tuple[list[StoredNotice], FeedPage]:
    """A page of notices matching ``filters``, newest first, with hits, total and position.

    The newest page by default; ``before`` a sequence number, the page of
    older ones below it; ``after``, the page of newer ones above it.
    """
    if after is not None:
        page = await feed_page(ctx, filters, after=after, limit=FEED_PAGE, with_total=True)
    else:
        page = await feed_page(
            ctx, filters, limit=FEED_PAGE, latest=True, with_total=True, before=before
        )
    return sorted(page.items, key=lambda r: -(r.seq or 0)), page


async def notice(ctx: NodeContext, raw_id: str) -> NoticeDetail:
    """One notice, its hits, attachments and delivery, as the API shows it; only read."""
    return await notice_detail(ctx, envelope_id(raw_id, "id"))


async def read(ctx: NodeContext, raw_id: str, reader: str | None = None) -> ReadMark:
    """A person marked the notice read: its sender gets a signed read receipt, once;
    ``reader`` (their account) is recorded here."""
    return await mark_read(ctx, envelope_id(raw_id, "id"), reader=reader)


async def delivery(ctx: NodeContext, eid: str) -> tuple[RecipientDelivery, ...]:
    """Where a notice this node sent stands at each recipient (empty for one received)."""
    return await _delivery(ctx, eid)


async def stored(ctx: NodeContext, raw_id: str) -> StoredNotice:
    """One stored notice, as it is indexed."""
    return await stored_notice(ctx, envelope_id(raw_id, "alert"))


async def submit(ctx: NodeContext, body: dict[str, Any], publisher: str | None = None) -> Published:
    """Publish the JSON body a form produced, exactly as ``POST /api/v1/notices`` does;
    ``publisher`` (the person's account) is recorded as its author."""
    published = await publish(ctx, PublishRequest.from_json(body))
    if publisher is not None:
        await record_published(ctx.db, publisher, published.envelope_ids, now_ms())
    return published


async def people(ctx: NodeContext, eid: str) -> list[PersonAction]:
    """Who here read or published a notice (names, units, times)."""
    return await people_on(ctx.db, eid)


async def submit_seizure_answer(
    ctx: NodeContext, body: dict[str, Any], alert: str, publisher: str | None = None
) -> SeizureAnswer:
    """Publish a seizure form's body and the outcome linking it to ``alert``, as one act;
    ``publisher`` (the person's account) is recorded as the author of both."""
    answered = await publish_seizure_answer(ctx, PublishRequest.from_json(body), alert)
    if publisher is not None:
        ids = [p.id for p in (answered.seizure, answered.outcome) if p.id]
        await record_published(ctx.db, publisher, [str(i) for i in ids], now_ms())
    return answered


def outcome_audience(ctx: NodeContext, alert: StoredNotice) -> list[str]:
    """Everyone an answer to ``alert`` goes to (the rule the publication decision applies)."""
    addressed = tuple(AgencyId(a) for a in alert.recipients)
    return list(outcome_recipients(ctx.agency, (), AgencyId(alert.sender), addressed))


async def share(
    app: web.Application,
    raw_id: str,
    recipients: list[str],
    note: str,
    user_id: str | None = None,
) -> ShareOutcome:
    """Pass a received notice on, exactly as ``POST /api/v1/notices/{id}/share`` does.

    The attachments the share lists are fetched first (this node serves
    them to its recipients).
    """
    ctx = app[NODE]
    eid = envelope_id(raw_id, "id")
    wanted = tuple(sorted({agency_id(r, f"recipients[{i}]") for i, r in enumerate(recipients)}))
    if not wanted:
        raise InputError(ReasonCode.MISSING_FIELD, "choose at least one agency", path="recipients")
    row = await stored_notice(ctx, eid)
    for entry in listed(row):
        await app[ATTACHMENTS].get(row, entry.sha256)
    return await sharing.share(
        ctx, app[DELIVERY].session, eid, wanted, note or None, user_id=user_id
    )


async def permissions(ctx: NodeContext) -> list[Permission]:
    """Every share-permission request, asked of this agency or by it."""
    return await _permissions(ctx)


async def shares_waiting(ctx: NodeContext) -> int:
    """How many share requests wait for this agency's decision."""
    return await permissions_waiting(ctx)


async def decide_share(
    app: web.Application, pid: str, grant: bool, reason: str | None, user_id: str | None = None
) -> None:
    """Grant or refuse a partner's request, as ``/api/v1/permissions/{id}/grant|refuse`` does."""
    await sharing.decide(app[NODE], app[DELIVERY].session, pid, grant, reason, user_id=user_id)


def peer_agencies(ctx: NodeContext) -> list[str]:
    """The agencies this node can send to now."""
    return sorted(p.agency for p in ctx.peers())


async def peers(ctx: NodeContext) -> tuple[PeerHealth, ...]:
    """Every member node with its delivery health (the API's ``/status`` model)."""
    return await peer_health(ctx)


def keys(ctx: NodeContext) -> list[KeyView]:
    """This node's key sets, as ``GET /api/v1/admin/keys`` shows them."""
    return key_views(ctx, now_ms())


async def directory_versions(ctx: NodeContext) -> list[DirectoryVersion]:
    """Every directory version this node applied, newest first."""
    return sorted(await _directory_history(ctx.db), key=lambda v: -v.version)


async def channels(ctx: NodeContext) -> list[dict[str, object]]:
    """Every channel this node knows (latest version), with its join requests."""
    return [{**entry.described, "joins": list(entry.joins)} for entry in await channel_list(ctx)]


async def channel_alarms(ctx: NodeContext) -> list[ChannelAlarm]:
    """The newest channel conflict alarms (a squatted id, a forked chain), newest first."""
    return await _channel_alarms(ctx)


async def tokens(ctx: NodeContext) -> list[ListedToken]:
    """Every API token with its owner, revoked ones included (for audit)."""
    return await list_tokens(ctx.db)


async def token_owners(ctx: NodeContext) -> list[User]:
    """The people who may own a new token: every enabled account, by login."""
    return [u for u in await list_users(ctx.db) if not u.disabled]


async def new_token(
    ctx: NodeContext, name: str, role: str, *, owner: str | None, actor: str
) -> str:
    """Create a token, owned by the person ``owner`` (a login) or a service's; shown once."""
    return await issue_token(ctx.db, name, role, now_ms(), owner=owner, actor=actor)


async def end_token(ctx: NodeContext, token_id: str, actor: str) -> None:
    """Revoke a token."""
    await withdraw_token(ctx.db, token_id, now_ms(), actor=actor)


async def trust_events(ctx: NodeContext, limit: int = 200) -> list[TrustEvent]:
    """The newest trust events, newest first."""
    last = await _trust_events(ctx.db, after=0, limit=100_000)
    return list(reversed(last))[:limit]


async def seizure_notices(ctx: NodeContext) -> list[dict[str, Any]]:
    """The JSON form of the newest seizure notices (sent and received), for the charts."""
    filters = NoticeFilter(kind="notice.seizure")
    rows = await newest_originals(ctx, filters, limit=CHART_LIMIT)
    return [json.loads(r.notice_json) for r in rows]  # a share is not a second seizure


async def board(ctx: NodeContext, now: int, *, state: AlertState | None, page: int) -> AlertBoard:
    """Page ``page`` (from 1) of the alert board: the API's own model (``GET /api/v1/alerts``)."""
    offset = (page - 1) * BOARD_PAGE
    return await alert_board(ctx, now, state=state, offset=offset, limit=BOARD_PAGE)


def agency_names(ctx: NodeContext) -> dict[str, str]:
    """Each member agency's name, as the directory in force gives it (empty before one)."""
    trusted = ctx.trust.directory
    if trusted is None:
        return {}
    return {m.agency: m.name for m in trusted.directory.members}
