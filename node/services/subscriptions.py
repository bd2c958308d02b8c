"""Partner subscriptions: requested by a partner, decided by the publisher, kept by both.

The subscriber's node sends a signed request; the publisher's policy admits
it at once (listed partner, or only listed programmes) or holds it for an
administrator. Every later change (decision, pause, resume, cancel) is made
on one side and sent to the other as a signed ``SubscriptionUpdate``; each
side checks that the change is one its sender may make (``check_change``).
Publishing reads the admitted subscriptions among its facts
(``publication_facts``), and the recipient resolver seals to the subscribers
whose filter the notice matches (``via`` = ``subscription``).

Each change is one unit of work: the new state and the message telling the
other side are written together, and the message is sent after it commits.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from functools import partial

import aiohttp
from sqlalchemy import Connection

from baliza.node.core.clock import new_envelope_id, now_ms
from baliza.node.services import messages
from baliza.node.services.context import NodeContext
from baliza.node.storage.sql import messages as message_rows
from baliza.node.storage.sql import subscriptions as subscription_rows
from baliza.node.storage.sql import users as user_rows
from baliza.node.storage.subscriptions import Subscription
from baliza.protocol.errors import InputError, ReasonCode, TrustError
from baliza.protocol.ids import AgencyId, EnvelopeId
from baliza.protocol.subscriptions import (
    SubscriptionFilter,
    SubscriptionRequest,
    SubscriptionState,
    SubscriptionUpdate,
)

log = logging.getLogger(__name__)
S = SubscriptionState
FINAL = (S.REFUSED, S.CANCELLED)
STATE_PATH = "/fed/v1/subscriptions/state"


def check_change(item: Subscription, new: S, *, by: AgencyId) -> None:
    """Raise unless ``by`` (publisher or subscriber) may move ``item`` to ``new``.

    The publisher decides (requested/pending → admitted, pending, refused);
    either side pauses an admitted subscription, and only the side that paused
    resumes it; either side cancels one that is not final.
    """
    if by not in (item.publisher, item.subscriber):
        raise TrustError(ReasonCode.FORBIDDEN, f"{by} is not a party to {item.id}")
    publisher = by == item.publisher
    current = S(item.state)
    if current in FINAL:
        raise InputError(ReasonCode.CONFLICT, f"the subscription is {current}", path="state")
    allowed: bool
    if new is S.CANCELLED:
        allowed = True
    elif new is S.PAUSED:
        allowed = current is S.ADMITTED
    elif new is S.ADMITTED and current is S.PAUSED:
        allowed = item.paused_by == by
        if not allowed:
            raise TrustError(
                ReasonCode.FORBIDDEN, f"only {item.paused_by}, who paused it, may resume it"
            )
    elif new in (S.ADMITTED, S.REFUSED, S.PENDING):
        if not publisher:
            raise TrustError(ReasonCode.FORBIDDEN, "only the publisher decides a subscription")
        allowed = current in (S.REQUESTED, S.PENDING)
    else:
        allowed = False
    if not allowed:
        raise InputError(ReasonCode.CONFLICT, f"cannot go from {current} to {new}", path="state")


def policy_admits(ctx: NodeContext, subscriber: AgencyId, wanted: SubscriptionFilter) -> bool:
    """Whether this node's policy admits the request without an administrator."""
    config = ctx.config
    if subscriber in config.subscription_auto_admit_partners:
        return True
    programmes = set(config.subscription_auto_admit_programmes)
    return bool(wanted.programmes) and set(wanted.programmes) <= programmes


async def request(
    ctx: NodeContext,
    http: aiohttp.ClientSession,
    publisher: AgencyId,
    wanted: SubscriptionFilter,
    note: str | None,
) -> Subscription:
    """Ask ``publisher``'s node for a subscription; return it as its answer left it."""
    if publisher == ctx.agency:
        raise InputError(ReasonCode.INCONSISTENT, "do not subscribe to yourself", path="publisher")
    now = now_ms()
    try:
        peer = ctx.trust.peer(publisher, now)
    except TrustError as err:
        raise InputError(ReasonCode.NOT_FOUND, err.detail, path="publisher") from None
    message = SubscriptionRequest(
        id=new_envelope_id(),
        subscriber=ctx.agency,
        publisher=publisher,
        filter=wanted,
        created_ms=now,
        note=note,
    )
    item = Subscription(
        id=message.id,
        publisher=publisher,
        subscriber=ctx.agency,
        filter_json=json.dumps(wanted.to_wire(), sort_keys=True),
        state=S.REQUESTED.value,
        created_ms=now,
        updated_ms=now,
        note=note,
    )
    seq = await ctx.db.run(
        partial(
            _add_and_queue,
            item=item,
            destination=peer.agency,
            path="/fed/v1/subscriptions",
            body=message.to_bytes(),
            now=now,
        ),
        write=True,
    )
    await messages.send_now(ctx, http, peer.agency, seq)
    return await ctx.db.run(partial(subscription_rows.get, sid=message.id), write=False)


def _add_and_queue(
    connection: Connection,
    *,
    item: Subscription,
    destination: str,
    path: str,
    body: bytes,
    now: int,
) -> int:
    """Unit of work: store a new subscription with the message announcing it; its number."""
    subscription_rows.add(connection, item)
    return message_rows.add(connection, destination, path, body, now)


async def receive_request(
    ctx: NodeContext, http: aiohttp.ClientSession, origin: AgencyId, message: SubscriptionRequest
) -> Subscription:
    """Take a partner's request (publisher side): store it decided by policy, tell the partner."""
    if message.publisher != ctx.agency:
        raise TrustError(ReasonCode.WRONG_DESTINATION, "not addressed to this publisher")
    if message.subscriber != origin:
        raise TrustError(
            ReasonCode.FORBIDDEN, f"{origin} cannot subscribe for {message.subscriber}"
        )
    state = S.ADMITTED if policy_admits(ctx, origin, message.filter) else S.PENDING
    now = now_ms()
    item = Subscription(
        id=message.id,
        publisher=ctx.agency,
        subscriber=origin,
        filter_json=json.dumps(message.filter.to_wire(), sort_keys=True),
        state=state.value,
        created_ms=now,
        updated_ms=now,
        note=message.note,
        reason="admitted by policy" if state is S.ADMITTED else "held for an administrator",
    )
    seq = await ctx.db.run(
        partial(
            _add_and_queue,
            item=item,
            destination=origin,
            path=STATE_PATH,
            body=_update(item, state, item.reason, now),
            now=now,
        ),
        write=True,
    )
    await messages.send_now(ctx, http, origin, seq)
    return item


@dataclass(frozen=True, slots=True)
class Changed:
    """A subscription after a local change, and whether the other side heard of it."""

    subscription: Subscription
    notified: bool


async def change(
    ctx: NodeContext,
    http: aiohttp.ClientSession,
    sid: str,
    new: S,
    reason: str | None = None,
    *,
    decision: bool = False,
    user_id: str | None = None,
) -> Changed:
    """Make a change here (a decision, pause, resume, cancel) and tell the other side.

    ``decision`` marks an administrator's approve or refuse: only the publisher
    makes one, and only on a subscription not yet decided (resuming a pause
    is not approving). ``user_id`` names the administrator (a console
    session, or a token's owner): their ``admitted`` or ``refused`` is recorded in the same unit.
    """
    seq, item = await ctx.db.run(
        partial(
            _change,
            me=ctx.agency,
            sid=sid,
            new=new,
            reason=reason,
            decision=decision,
            now=now_ms(),
            user_id=user_id,
        ),
        write=True,
    )
    return Changed(item, await messages.send_now(ctx, http, _other(ctx.agency, item), seq))


def _change(
    connection: Connection,
    *,
    me: AgencyId,
    sid: str,
    new: S,
    reason: str | None,
    decision: bool,
    now: int,
    user_id: str | None = None,
) -> tuple[int, Subscription]:
    """Unit of work: check and record a change made here, and queue the message telling it."""
    item = subscription_rows.get(connection, sid, lock=True)
    if decision and item.publisher != me:
        raise TrustError(ReasonCode.FORBIDDEN, "only the publisher decides a subscription")
    if decision and S(item.state) not in (S.REQUESTED, S.PENDING):
        raise InputError(ReasonCode.CONFLICT, f"already {item.state}", path="state")
    if not decision and new is S.ADMITTED and S(item.state) is not S.PAUSED:
        raise InputError(ReasonCode.CONFLICT, "only a paused subscription resumes", path="state")
    check_change(item, new, by=me)
    paused_by = me if new is S.PAUSED else None
    subscription_rows.set_state(
        connection, sid, new.value, at_ms=now, reason=reason, paused_by=paused_by
    )
    item = replace(item, state=new.value, updated_ms=now, reason=reason, paused_by=paused_by)
    if decision and user_id is not None:
        action = "admitted" if new is S.ADMITTED else "refused"
        user_rows.record_action(connection, at_ms=now, user_id=user_id, action=action, subject=sid)
    body = _update(item, new, reason, now)
    return message_rows.add(connection, _other(me, item), STATE_PATH, body, now), item


async def receive_update(ctx: NodeContext, origin: AgencyId, update: SubscriptionUpdate) -> None:
    """Apply the other side's signed change, if it is one that side may make."""
    await ctx.db.run(
        partial(_receive_update, me=ctx.agency, origin=origin, update=update, now=now_ms()),
        write=True,
    )


def _receive_update(
    connection: Connection, *, me: AgencyId, origin: AgencyId, update: SubscriptionUpdate, now: int
) -> None:
    """Unit of work: check the other side's change against the stored subscription, record it."""
    item = subscription_rows.get(connection, update.id, lock=True)
    if (item.publisher, item.subscriber) != (update.publisher, update.subscriber):
        raise TrustError(ReasonCode.INCONSISTENT, "parties differ from the subscription")
    if me not in (item.publisher, item.subscriber) or origin == me:
        raise TrustError(ReasonCode.FORBIDDEN, "not a subscription between you and us")
    check_change(item, update.state, by=origin)
    paused_by = origin if update.state is S.PAUSED else None
    subscription_rows.set_state(
        connection,
        item.id,
        update.state.value,
        at_ms=now,
        reason=update.reason,
        paused_by=paused_by,
    )


def _other(me: str, item: Subscription) -> AgencyId:
    return AgencyId(item.subscriber if item.publisher == me else item.publisher)


def _update(item: Subscription, state: S, reason: str | None, at_ms: int) -> bytes:
    """The signed-at-sending update telling the other side of ``item``'s new ``state``."""
    return SubscriptionUpdate(
        id=EnvelopeId(item.id),
        publisher=AgencyId(item.publisher),
        subscriber=AgencyId(item.subscriber),
        state=state,
        at_ms=at_ms,
        reason=reason,
    ).to_bytes()


def subscription_json(item: Subscription, me: str) -> dict[str, object]:
    """The API's JSON form: both parties, our side, the filter and the state."""
    return {
        "id": item.id,
        "side": "publisher" if item.publisher == me else "subscriber",
        "publisher": item.publisher,
        "subscriber": item.subscriber,
        "filter": json.loads(item.filter_json),
        "state": item.state,
        "paused_by": item.paused_by,
        "note": item.note,
        "reason": item.reason,
        "created_ms": item.created_ms,
        "updated_ms": item.updated_ms,
    }
