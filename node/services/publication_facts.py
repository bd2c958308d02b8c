"""The facts a publication decision needs, read in one read unit of work.

The decision (``services/rules/decide.py``) is pure; this module is its one
door to storage: what the superseded envelope is, whether a received notice
is the same notice, which admitted subscribers match, what the named channel
is. It only reads, and reads everything a decision needs at once, so that it
can become one unit of work as it stands.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from sqlalchemy import Connection

from baliza.node.services.channels import roster
from baliza.node.services.context import NodeContext
from baliza.node.services.rules.content import carried
from baliza.node.services.rules.facts import (
    AnsweredAlert,
    ChannelFacts,
    PublicationFacts,
    ReceivedCopy,
    Superseded,
)
from baliza.node.services.rules.identity import notice_identity
from baliza.node.services.rules.lifecycle import check_supersedes_owner
from baliza.node.services.views.feed import stored_notice
from baliza.node.storage.notices import StoredNotice
from baliza.node.storage.sql import channels as channel_rows
from baliza.node.storage.sql import envelopes as envelope_rows
from baliza.node.storage.sql import notices as notice_rows
from baliza.node.storage.sql import subscriptions as subscription_rows
from baliza.protocol.envelope import MessageKind, parse_envelope
from baliza.protocol.errors import StorageError
from baliza.protocol.ids import AgencyId, ChannelId, EnvelopeId, envelope_id
from baliza.protocol.notices import AlertOutcome, Notice, notice_from_json
from baliza.protocol.subscriptions import SubscriptionFilter


async def read_publication_facts(
    ctx: NodeContext,
    *,
    notice: Notice,
    channel: ChannelId | None,
    supersedes: EnvelopeId | None,
) -> PublicationFacts:
    """Everything ``decide_publication`` needs about this node's state, in one read unit."""
    return await ctx.db.run(
        partial(
            publication_facts,
            me=ctx.agency,
            notice=notice,
            channel=channel,
            supersedes=supersedes,
        ),
        write=False,
    )


def publication_facts(
    connection: Connection,
    *,
    me: AgencyId,
    notice: Notice,
    channel: ChannelId | None,
    supersedes: EnvelopeId | None,
) -> PublicationFacts:
    """The read unit of a publication: superseded envelope, same notice, subscribers, channel."""
    identity = notice_identity(notice)
    superseded = None if supersedes is None else superseded_in(connection, me, supersedes)
    copy = None if identity is None else notice_rows.same_from_another(connection, identity, me)
    subscribers: tuple[AgencyId, ...] = ()
    channel_facts = None
    if channel is None:
        # What supersedes a notice goes to those who received it, filter or
        # not (``decide.py``); a subscriber that did not cannot take it.
        if supersedes is None:
            subscribers = _matching(subscription_rows.admitted_filters(connection, me), notice)
    else:
        membership = channel_rows.latest(connection, channel)
        if membership is not None:
            channel_facts = ChannelFacts(
                roster=roster(membership),
                kind=membership.kind,
                expires_ms=membership.expires_ms,
                alarm=channel_rows.alarm_reason(connection, channel),
            )
    return PublicationFacts(
        me=me,
        answered=_answered(connection, notice),
        superseded=superseded,
        same_as=None
        if copy is None
        else ReceivedCopy(envelope_id=copy[0], sender=copy[1], tlp=copy[2]),
        subscribers=subscribers,
        channel=channel_facts,
    )


def _answered(connection: Connection, notice: Notice) -> AnsweredAlert | None:
    """The alert an outcome answers, if this node holds it (an outcome's audience rule)."""
    if not isinstance(notice, AlertOutcome):
        return None
    try:
        row = notice_rows.get(connection, notice.alert)
    except StorageError:
        return None  # an alert this node never held: the named recipients only
    if row.kind != MessageKind.ALERT.value:
        return None
    return AnsweredAlert(
        sender=AgencyId(row.sender), recipients=tuple(AgencyId(a) for a in row.recipients)
    )


def _matching(admitted: list[tuple[str, str]], notice: Notice) -> tuple[AgencyId, ...]:
    """Subscribers whose filter matches the notice, or the replacement a correction carries.

    A correction reaches whoever its replacement would reach as a first
    publication (the rules then hold it to the same handling and nominal
    policy); a filter that names ``notice.correction`` itself matches too.
    """
    shapes = [(notice.kind.value, notice.to_wire())]
    inner = carried(notice)
    if inner is not notice:
        shapes.append((inner.kind.value, inner.to_wire()))
    found = {
        AgencyId(subscriber)
        for subscriber, filter_json in admitted
        if any(
            SubscriptionFilter.from_wire(json.loads(filter_json)).matches(kind, wire)
            for kind, wire in shapes
        )
    }
    return tuple(sorted(found))


def superseded_in(connection: Connection, me: AgencyId, eid: EnvelopeId) -> Superseded | None:
    """The envelope ``eid`` as this node holds it (sent from here first), or None."""
    raw = envelope_rows.sent_raw_or_none(connection, eid)
    if raw is not None:
        header = parse_envelope(raw).header
        stored = notice_rows.kind_and_json(connection, eid, me)
        kind, notice_json = stored if stored is not None else (header.kind.value, None)
        wire = None if notice_json is None else json.loads(notice_json)
        reached = envelope_rows.addressees(connection, [eid]).get(eid, ())
        return Superseded(
            id=eid,
            sender=me,
            kind=_carried_kind(kind, wire),
            handling=header.handling,
            channel=header.channel,
            identity=None if wire is None else notice_identity(notice_from_json(wire)),
            reached=tuple((AgencyId(a.agency), a.via) for a in reached),
        )
    raw = envelope_rows.first_received_raw(connection, eid)
    if raw is not None:
        header = parse_envelope(raw).header
        return Superseded(
            id=eid,
            sender=header.sender,
            kind=header.kind.value,
            handling=header.handling,
            channel=header.channel,
        )
    return None


def _carried_kind(kind: str, wire: Any) -> str:
    """The kind a stored notice carries: a correction's replacement kind, else its own."""
    if kind != MessageKind.CORRECTION.value or wire is None:
        return kind
    return str(wire["notice"]["kind"])


async def notice_to_correct(ctx: NodeContext, raw_id: str) -> StoredNotice:
    """A notice this agency sent, for the console to correct; another agency's is refused.

    The same ownership rule as publishing (``check_supersedes_owner``), so the
    console cannot offer to correct what the publication would refuse.
    """
    eid = envelope_id(raw_id, "of")
    superseded = await ctx.db.run(partial(superseded_in, me=ctx.agency, eid=eid), write=False)
    if superseded is not None:  # one it holds from nobody is simply not found
        check_supersedes_owner(ctx.agency, eid, superseded.sender, path="supersedes")
    return await stored_notice(ctx, eid, sender=ctx.agency)  # NOT_FOUND if none
