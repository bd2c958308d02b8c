"""Passing a received notice on: a share, and the originator's permission where needed.

A share is a new envelope sealed by this node carrying the originator's own
signed envelope and its content key (``shared_original``), under the
original's handling unchanged, with the original envelope's id in the signed
header field ``shares``: the receiver verifies that the words are the
originator's, sees whose notice it is, and nobody can lower its TLP by
passing it on. ``protocol.sharing.share_rule`` decides: never (TLP:RED,
AMBER+STRICT), now, or after the originator's officer grants a signed
permission request (H2, H3). Nominal data goes only where the node's policy
allows. Every refusal names its rule.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import partial

import aiohttp
from sqlalchemy import Connection

from baliza.node.core.clock import new_envelope_id, now_ms
from baliza.node.services import messages
from baliza.node.services.context import NodeContext
from baliza.node.services.person_actions import record_action
from baliza.node.services.publish import Published, seal_and_queue
from baliza.node.services.recipients import Audience
from baliza.node.services.rules.content import carried
from baliza.node.services.rules.decide import decide_share
from baliza.node.services.rules.facts import Policy, ShareFacts
from baliza.node.services.shared_original import carried_original
from baliza.node.storage.notices import Direction, StoredNotice
from baliza.node.storage.sql import channels as channel_rows
from baliza.node.storage.sql import envelopes as envelope_rows
from baliza.node.storage.sql import messages as message_rows
from baliza.node.storage.sql import notices as notice_rows
from baliza.node.storage.sql import permissions as permission_rows
from baliza.node.storage.sql import users as user_rows
from baliza.node.storage.subscriptions import Permission
from baliza.protocol.envelope import Envelope, parse_envelope
from baliza.protocol.errors import BalizaError, InputError, ReasonCode, StorageError, TrustError
from baliza.protocol.handling import Handling
from baliza.protocol.ids import AgencyId, EnvelopeId
from baliza.protocol.notices import Notice, notice_from_json
from baliza.protocol.sharing import ShareNeed
from baliza.protocol.subscriptions import PermissionDecision, PermissionRequest, PermissionState

log = logging.getLogger(__name__)
P = PermissionState


@dataclass(frozen=True, slots=True, kw_only=True)
class ShareOutcome:
    """``sent`` with the new envelope, or ``pending`` with the permission request."""

    state: str
    share: Published | None = None
    permission: str | None = None
    rule: str | None = None


def _handling(row: StoredNotice) -> Handling:
    return Handling.from_wire(json.loads(row.handling_json), "handling")


async def share(
    ctx: NodeContext,
    http: aiohttp.ClientSession,
    eid: EnvelopeId,
    recipients: tuple[AgencyId, ...],
    note: str | None = None,
    *,
    user_id: str | None = None,
) -> ShareOutcome:
    """Pass received notice ``eid`` on to ``recipients``, now or once the originator grants it.

    ``user_id`` names the person who shared (a console session, or the
    owner of the token), recorded as their action on ``eid``; a service
    token's share is the token's.
    """
    row, facts, copy = await read_share_facts(ctx, eid)
    notice = notice_from_json(json.loads(row.notice_json))
    rule = decide_share(facts, notice, recipients, Policy.of(ctx.config))
    # A share names the first envelope; its originator is the one to ask,
    # however many agencies passed it on in between.
    original = EnvelopeId(row.shares) if row.shares else eid
    originator = facts.originator
    if rule.need is ShareNeed.FREE:
        sent = await _seal_share(ctx, row, copy, notice, recipients)
        if user_id is not None:
            # The share went through the group commit with others': its person in a unit of its own.
            await record_action(ctx.db, user_id, "shared", str(eid), now_ms())
        return ShareOutcome(state="sent", share=sent)
    request = PermissionRequest(
        id=new_envelope_id(),
        envelope=original,
        requester=ctx.agency,
        originator=originator,
        recipients=recipients,
        created_ms=now_ms(),
        note=note,
    )
    peer = ctx.trust.peer(request.originator, now_ms())
    seq = await ctx.db.run(
        partial(
            _record_and_queue,
            item=_stored(request),
            destination=peer.agency,
            path="/fed/v1/permissions",
            body=request.to_bytes(),
            now=now_ms(),
            person=None if user_id is None else (user_id, str(eid)),
        ),
        write=True,
    )
    await messages.send_now(ctx, http, peer.agency, seq)
    return ShareOutcome(state="pending", permission=request.id, rule=rule.rule)


async def read_share_facts(
    ctx: NodeContext, eid: EnvelopeId
) -> tuple[StoredNotice, ShareFacts, Envelope | None]:
    """The stored notice ``eid``, what ``decide_share`` needs about it, and the envelope received.

    One read; the envelope is None for a notice this node sent.
    """
    row, copy, channel_kind = await ctx.db.run(partial(_share_reads, envelope_id=eid), write=False)
    channel = None if copy is None else copy.header.channel
    notice = notice_from_json(json.loads(row.notice_json))
    facts = ShareFacts(
        me=ctx.agency,
        received=row.direction is Direction.IN,
        sender=AgencyId(row.sender),
        originator=_originator(ctx, row, notice) if row.direction is Direction.IN else ctx.agency,
        handling=_handling(row),
        channel=channel,
        channel_kind=channel_kind,
        had=frozenset(row.recipients),
    )
    return row, facts, copy


def _share_reads(
    connection: Connection, *, envelope_id: str
) -> tuple[StoredNotice, Envelope | None, str | None]:
    """Unit of work: the notice with its addressees; if received, its envelope and channel kind."""
    row = notice_rows.get(connection, envelope_id)
    if row.direction is not Direction.IN:
        return row, None, None
    raw = envelope_rows.received_raw(connection, row.sender, [envelope_id]).get(envelope_id)
    if raw is None:
        raise StorageError(ReasonCode.NOT_FOUND, f"no received envelope {envelope_id}")
    copy = parse_envelope(raw)
    channel = copy.header.channel
    latest = None if channel is None else channel_rows.latest(connection, channel)
    return row, copy, None if latest is None else latest.kind


def _record_and_queue(
    connection: Connection,
    *,
    item: Permission,
    destination: str,
    path: str,
    body: bytes,
    now: int,
    person: tuple[str, str] | None = None,
) -> int:
    """Unit of work: store a permission request with the message carrying it; its number.

    ``person`` (user id, notice) records who asked to share, in the same unit.
    """
    permission_rows.add(connection, item)
    if person is not None:
        user_rows.record_action(
            connection, at_ms=now, user_id=person[0], action="shared", subject=person[1]
        )
    return message_rows.add(connection, destination, path, body, now)


async def send_share(
    ctx: NodeContext, row: StoredNotice, recipients: tuple[AgencyId, ...]
) -> Published:
    """Seal the original notice, with its handling, to ``recipients``, naming the original.

    The share decision is asked again here: a share granted later goes out
    under the rules (and the node's policy) in force when it is sent.
    """
    notice = notice_from_json(json.loads(row.notice_json))
    _, facts, copy = await read_share_facts(ctx, EnvelopeId(row.envelope_id))
    decide_share(facts, notice, recipients, Policy.of(ctx.config))
    return await _seal_share(ctx, row, copy, notice, recipients)


async def _seal_share(
    ctx: NodeContext,
    row: StoredNotice,
    copy: Envelope | None,
    notice: Notice,
    recipients: tuple[AgencyId, ...],
) -> Published:
    """Seal the originator's envelope and its key (``SharedOriginal``), not a notice of ours."""
    if copy is None:  # pragma: no cover - decide_share passes on received notices only
        raise InputError(ReasonCode.INCONSISTENT, "only a received notice is shared", path="id")
    carried = carried_original(ctx, copy)
    return await seal_and_queue(
        ctx,
        notice,
        Audience(agencies=recipients),
        _handling(row),
        shares=EnvelopeId(row.shares or row.envelope_id),
        plaintext=carried.to_bytes(),
    )


def _originator(ctx: NodeContext, row: StoredNotice, notice: Notice) -> AgencyId:
    """Whose notice this is: the sender, or for a share the member whose unit wrote it."""
    if not row.shares:
        return AgencyId(row.sender)
    unit = str(getattr(getattr(carried(notice), "unit", None), "agency", row.sender))
    candidate = unit
    while candidate:  # a unit may be a member's own sub-unit (member.unit)
        try:
            return ctx.trust.peer(candidate, now_ms()).agency
        except BalizaError:
            candidate = candidate.rpartition(".")[0]
    raise TrustError(
        ReasonCode.NOT_A_MEMBER, f"the notice's originator {unit} is not a member", path="unit"
    )


def _stored(request: PermissionRequest) -> Permission:
    return Permission(
        id=request.id,
        envelope_id=request.envelope,
        requester=request.requester,
        originator=request.originator,
        recipients=request.recipients,
        state=P.PENDING.value,
        created_ms=request.created_ms,
        note=request.note,
    )


async def receive_request(ctx: NodeContext, origin: AgencyId, request: PermissionRequest) -> None:
    """Hold a partner's request for an officer here; only a recipient of our notice may ask."""
    if request.requester != origin or request.originator != ctx.agency:
        raise TrustError(ReasonCode.FORBIDDEN, f"{origin} cannot ask this for another agency")
    await ctx.db.run(partial(_hold_request, origin=origin, request=request), write=True)


def _hold_request(connection: Connection, *, origin: AgencyId, request: PermissionRequest) -> None:
    """Unit of work: store the request if ``origin`` did receive the notice from this agency."""
    ours = bool(envelope_rows.sent_ids(connection, [request.envelope]))
    # A recipient of ours, or an agency that one of them was allowed to share it with.
    reached = envelope_rows.includes(
        connection, request.envelope, origin
    ) or permission_rows.granted_to(connection, request.envelope, origin)
    if not ours or not reached:
        raise TrustError(
            ReasonCode.NOT_A_RECIPIENT,
            f"{origin} did not receive {request.envelope} from this agency",
            path="envelope",
        )
    permission_rows.add(connection, _stored(request))


async def decide(
    ctx: NodeContext,
    http: aiohttp.ClientSession,
    pid: str,
    grant: bool,
    reason: str | None,
    *,
    user_id: str | None = None,
) -> tuple[Permission, bool]:
    """An officer here grants or refuses; the requester is told by a signed decision.

    ``user_id`` names the officer (a console session, or a token's owner): recorded as their
    ``granted`` or ``refused`` on the original notice, in the same unit.
    """
    state = P.GRANTED if grant else P.REFUSED
    now = now_ms()
    item, seq = await ctx.db.run(
        partial(
            _decide, me=ctx.agency, pid=pid, state=state, reason=reason, now=now, user_id=user_id
        ),
        write=True,
    )
    try:
        return item, await messages.send_now(ctx, http, item.requester, seq)
    except BalizaError as err:
        log.warning("%s refused the decision on %s: %s", item.requester, pid, err)
        return item, False


def _decide(
    connection: Connection,
    *,
    me: AgencyId,
    pid: str,
    state: PermissionState,
    reason: str | None,
    now: int,
    user_id: str | None = None,
) -> tuple[Permission, int]:
    """Unit of work: record the originator's decision and queue the signed message telling it."""
    item = permission_rows.get(connection, pid, lock=True)
    if item.originator != me:
        raise TrustError(ReasonCode.FORBIDDEN, "only the originator decides", path="id")
    if item.state != P.PENDING.value:
        raise InputError(ReasonCode.CONFLICT, f"already {item.state}", path="id")
    permission_rows.decide(connection, pid, state.value, at_ms=now, reason=reason)
    item = permission_rows.get(connection, pid)
    if user_id is not None:
        action = "granted" if state is P.GRANTED else "refused"
        user_rows.record_action(
            connection, at_ms=now, user_id=user_id, action=action, subject=item.envelope_id
        )
    decision = PermissionDecision(
        id=EnvelopeId(pid),
        envelope=EnvelopeId(item.envelope_id),
        state=state,
        at_ms=now,
        reason=reason,
    )
    path = "/fed/v1/permissions/decision"
    return item, message_rows.add(connection, item.requester, path, decision.to_bytes(), now)


async def receive_decision(
    ctx: NodeContext, origin: AgencyId, decision: PermissionDecision
) -> None:
    """The originator's signed decision: on a grant the share goes out now."""
    item, row = await ctx.db.run(partial(_permission_and_copy, pid=decision.id), write=False)
    if item.originator != origin or item.requester != ctx.agency:
        raise TrustError(ReasonCode.FORBIDDEN, f"{origin} did not receive this request")
    if item.envelope_id != decision.envelope:
        raise TrustError(ReasonCode.INCONSISTENT, "another envelope", path="envelope")
    if item.state != P.PENDING.value:
        raise InputError(ReasonCode.CONFLICT, f"already {item.state}", path="id")
    share_id: str | None = None
    if decision.state is P.GRANTED:
        sent = await send_share(ctx, row, tuple(AgencyId(a) for a in item.recipients))
        share_id = sent.id
    await ctx.db.run(
        partial(
            permission_rows.decide,
            pid=item.id,
            state=decision.state.value,
            at_ms=now_ms(),
            reason=decision.reason,
            share_id=share_id,
        ),
        write=True,
    )


def _permission_and_copy(connection: Connection, *, pid: str) -> tuple[Permission, StoredNotice]:
    """Unit of work: a permission request this node sent and its received copy of the notice."""
    item = permission_rows.get(connection, pid)
    return item, notice_rows.received_copy_of(connection, item.envelope_id)


def permission_json(item: Permission, me: str) -> dict[str, object]:
    """The API's JSON form of a permission request."""
    return {
        "id": item.id,
        "side": "originator" if item.originator == me else "requester",
        "envelope": item.envelope_id,
        "requester": item.requester,
        "originator": item.originator,
        "recipients": list(item.recipients),
        "state": item.state,
        "note": item.note,
        "reason": item.reason,
        "created_ms": item.created_ms,
        "decided_ms": item.decided_ms,
        "share": item.share_id,
        "refusal": None
        if item.state != P.REFUSED.value
        else {"reason": ReasonCode.PERMISSION_REFUSED.value, "detail": item.reason},
    }
