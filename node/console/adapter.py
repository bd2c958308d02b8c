"""What the console reads and changes, through the node's own services and stores.

The one place the console touches the node: pages call these functions and
never open a store or a service themselves, so when a service moves (search,
alert board, channels) only this module follows it. No rule lives here:
publishing goes through ``PublishRequest.from_json`` and ``publish`` exactly
as the API's does, tokens through ``services.tokens``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from baliza.node.core.clock import now_ms
from baliza.node.services.channels import describe as describe_channel
from baliza.node.services.context import NodeContext
from baliza.node.services.publish import Published, PublishRequest, publish
from baliza.node.services.receipts import send_read_receipt
from baliza.node.services.tokens import create_token, revoke_token
from baliza.node.storage.channels import Channels
from baliza.node.storage.delivery import Destination, Destinations, Outbox
from baliza.node.storage.directory import DirectoryVersion, DirectoryVersions
from baliza.node.storage.notices import Hit, NoticeFilter, Notices, StoredNotice
from baliza.node.storage.receipts import Receipts, ReceiptState
from baliza.node.storage.tokens import ApiToken, ApiTokens
from baliza.node.storage.trust import TrustEvent, TrustEvents
from baliza.protocol.errors import BalizaError
from baliza.protocol.ids import envelope_id

FEED_PAGE = 100
# Charts read at most this many seizure notices (the newest): one page of the store.
CHART_LIMIT = 1000
BOARD_LIMIT = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertState:
    """A pre-arrival alert on the board: open, answered (with the result) or overdue."""

    alert: StoredNotice
    expected_ms: int
    state: str  # "open", "answered", "overdue"
    result: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecipientState:
    """One recipient of a sent notice: delivered, read, refused, or still pending.

    ``outcome`` is the result the recipient answered an alert with, if it has.
    """

    agency: str
    state: str
    delivered_ms: int | None
    read_ms: int | None
    refused: str | None
    outcome: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeView:
    """One notice with what links to it and, if this node sent it, its delivery."""

    notice: StoredNotice
    hits: list[Hit]
    recipients: list[RecipientState]


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerHealth:
    """A member node and how delivery to it is going."""

    agency: str
    name: str
    url: str
    fingerprint: str
    pending: int
    state: Destination | None


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyView:
    """One of this node's key sets."""

    fingerprint: str
    suite: str
    valid_from_ms: int
    valid_until_ms: int
    signing_now: bool
    vouched: bool


async def feed(ctx: NodeContext, filters: NoticeFilter) -> list[StoredNotice]:
    """The newest notices matching ``filters``, newest first."""
    async with ctx.db.transaction(readonly=True) as session:
        rows = await Notices(session).latest(FEED_PAGE, filters)
    return sorted(rows, key=lambda r: -(r.seq or 0))


async def notice(ctx: NodeContext, raw_id: str) -> NoticeView:
    """One notice, its hits and delivery; opening it sends the sender a read receipt."""
    eid = envelope_id(raw_id, "id")
    async with ctx.db.transaction(readonly=True) as session:
        notices = Notices(session)
        row = await notices.get(eid)
        hits = await notices.hits(eid)
    await send_read_receipt(ctx, row)
    return NoticeView(notice=row, hits=hits, recipients=await delivery(ctx, eid))


async def delivery(ctx: NodeContext, eid: str) -> list[RecipientState]:
    """Where a notice this node sent stands at each recipient (empty for one received).

    Read from the outbox, the receipts and the outcomes received, so the
    notice page and its live updates say the same thing.
    """
    async with ctx.db.transaction(readonly=True) as session:
        entries = await Outbox(session).state_for_envelope(eid)
        receipts = await Receipts(session).for_envelope(eid)
        answers = (
            await Notices(session).latest(CHART_LIMIT, NoticeFilter(kind="notice.outcome"))
            if entries
            else []
        )
    outcomes = {}
    for answer in sorted(answers, key=lambda r: r.seq or 0):
        body = json.loads(answer.notice_json)
        if body.get("alert") == eid:
            outcomes[answer.sender] = str(body.get("result"))
    recipients = []
    for entry in entries:
        read = [
            r.at_ms
            for r in receipts
            if r.from_agency == entry.destination and r.state is ReceiptState.READ
        ]
        recipients.append(
            RecipientState(
                agency=entry.destination,
                state=entry.state.value,
                delivered_ms=entry.delivered_ms,
                read_ms=min(read) if read else None,
                refused=entry.refused_reason,
                outcome=outcomes.get(entry.destination),
            )
        )
    return recipients


async def stored(ctx: NodeContext, raw_id: str) -> StoredNotice:
    """One stored notice, as it is indexed (no read receipt: nobody opened it)."""
    eid = envelope_id(raw_id, "alert")
    async with ctx.db.transaction(readonly=True) as session:
        return await Notices(session).get(eid)


async def submit(ctx: NodeContext, body: dict[str, Any]) -> Published:
    """Publish the JSON body a form produced, exactly as ``POST /api/v1/notices`` does."""
    return await publish(ctx, PublishRequest.from_json(body))


def peer_agencies(ctx: NodeContext) -> list[str]:
    """The agencies this node can send to now."""
    return sorted(p.agency for p in ctx.peers())


async def peers(ctx: NodeContext) -> list[PeerHealth]:
    """Every member node with its delivery health."""
    async with ctx.db.transaction(readonly=True) as session:
        states = {d.agency: d for d in await Destinations(session).all()}
        backlog = await Outbox(session).pending_counts()
    return [
        PeerHealth(
            agency=p.agency,
            name=p.name,
            url=p.url,
            fingerprint=p.keys.fingerprint(),
            pending=backlog.get(p.agency, 0),
            state=states.get(p.agency),
        )
        for p in ctx.peers()
    ]


def keys(ctx: NodeContext) -> list[KeyView]:
    """This node's key sets, with fingerprints and whether the directory vouches for them."""
    now = now_ms()
    signing = ctx.signing_keys().public().signing_key_id
    out = []
    for keyset in ctx.keyring:
        public = keyset.public()
        try:
            ctx.trust.sender_key(public.agency, public.signing_key_id, now, now)
            vouched = True
        except BalizaError:
            vouched = False
        out.append(
            KeyView(
                fingerprint=public.fingerprint(),
                suite=str(public.suite),
                valid_from_ms=public.valid_from_ms,
                valid_until_ms=public.valid_until_ms,
                signing_now=public.signing_key_id == signing,
                vouched=vouched,
            )
        )
    return out


async def directory_versions(ctx: NodeContext) -> list[DirectoryVersion]:
    """Every directory version this node applied, newest first."""
    async with ctx.db.transaction(readonly=True) as session:
        history = await DirectoryVersions(session).history()
    return sorted(history, key=lambda v: -v.version)


async def channels(ctx: NodeContext) -> list[dict[str, object]]:
    """Every channel this node knows (latest version), with its join requests."""
    async with ctx.db.transaction(readonly=True) as session:
        repository = Channels(session)
        latest = await repository.all_latest()
        joins = await repository.joins()
    out = []
    for membership in latest:
        item = describe_channel(membership, ctx.agency)
        item["joins"] = [j for j in joins if j.channel == membership.channel]
        out.append(item)
    return out


async def tokens(ctx: NodeContext) -> list[ApiToken]:
    """Every API token, revoked ones included (for audit)."""
    async with ctx.db.transaction(readonly=True) as session:
        return await ApiTokens(session).list()


async def new_token(ctx: NodeContext, name: str, role: str, actor: str) -> str:
    """Create a token; its secret is shown once."""
    async with ctx.db.transaction() as session:
        return await create_token(session, name, role, now_ms(), actor=actor)


async def end_token(ctx: NodeContext, token_id: str, actor: str) -> None:
    """Revoke a token."""
    async with ctx.db.transaction() as session:
        await revoke_token(session, token_id, now_ms(), actor=actor)


async def trust_events(ctx: NodeContext, limit: int = 200) -> list[TrustEvent]:
    """The newest trust events, newest first."""
    async with ctx.db.transaction(readonly=True) as session:
        last = await TrustEvents(session).list(after_seq=0, limit=100_000)
    return list(reversed(last))[:limit]


async def seizure_notices(ctx: NodeContext) -> list[dict[str, Any]]:
    """The JSON form of the newest seizure notices (sent and received), for the charts."""
    out: list[dict[str, Any]] = []
    async with ctx.db.transaction(readonly=True) as session:
        rows = await Notices(session).latest(CHART_LIMIT, NoticeFilter(kind="notice.seizure"))
    out.extend(json.loads(r.notice_json) for r in rows)
    return out


async def alert_board(ctx: NodeContext, now: int) -> list[AlertState]:
    """The newest alerts with their state: answered by an outcome, overdue, or open.

    Thin on purpose: when the workflow service offers its own board, this
    function forwards to it.
    """
    async with ctx.db.transaction(readonly=True) as session:
        notices = Notices(session)
        alerts = await notices.latest(BOARD_LIMIT, NoticeFilter(kind="notice.alert"))
        outcomes = await notices.latest(CHART_LIMIT, NoticeFilter(kind="notice.outcome"))
    answers = {}
    for outcome in outcomes:
        body = json.loads(outcome.notice_json)
        answers[body.get("alert")] = body.get("result")
    board = []
    for alert in reversed(alerts):
        expected = int(json.loads(alert.notice_json).get("expected_ms", 0))
        result = answers.get(alert.envelope_id)
        state = "answered" if result is not None else ("overdue" if expected < now else "open")
        board.append(AlertState(alert=alert, expected_ms=expected, state=state, result=result))
    return board
