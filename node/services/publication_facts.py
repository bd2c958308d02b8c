"""The facts a publication decision needs, read in one read transaction.

The decision (``services/rules/decide.py``) is pure; this module is its one
door to storage: what the superseded envelope is, whether a received notice
is the same notice, which admitted subscribers match, what the named channel
is. It only reads, and reads everything a decision needs at once, so that it
can become one unit of work as it stands.
"""

from __future__ import annotations

import json

from sqlalchemy.ext.asyncio import AsyncSession

from baliza.node.services.channels import roster
from baliza.node.services.context import NodeContext
from baliza.node.services.rules.facts import (
    ChannelFacts,
    PublicationFacts,
    ReceivedCopy,
    Superseded,
)
from baliza.node.services.rules.identity import notice_identity
from baliza.node.services.rules.lifecycle import check_supersedes_owner
from baliza.node.services.subscriptions import matching
from baliza.node.storage.channels import Channels
from baliza.node.storage.envelopes import ReceivedEnvelopes, SentEnvelopes
from baliza.node.storage.notices import Notices, StoredNotice
from baliza.protocol.envelope import MessageKind, parse_envelope
from baliza.protocol.ids import AgencyId, ChannelId, EnvelopeId, envelope_id
from baliza.protocol.notices import Notice, notice_from_json


async def read_publication_facts(
    ctx: NodeContext,
    *,
    notice: Notice,
    channel: ChannelId | None,
    supersedes: EnvelopeId | None,
) -> PublicationFacts:
    """Everything ``decide_publication`` needs about this node's state, in one read."""
    identity = notice_identity(notice)
    async with ctx.db.transaction(readonly=True) as session:
        superseded = (
            None if supersedes is None else await read_superseded(session, ctx.agency, supersedes)
        )
        copy = (
            None
            if identity is None
            else await Notices(session).copy_from_another(identity, ctx.agency)
        )
        subscribers: tuple[AgencyId, ...] = ()
        channel_facts = None
        if channel is None:
            subscribers = await matching(session, ctx.agency, notice.kind.value, notice.to_wire())
        else:
            membership = await Channels(session).latest(channel)
            if membership is not None:
                channel_facts = ChannelFacts(
                    roster=roster(membership),
                    kind=membership.kind,
                    expires_ms=membership.expires_ms,
                )
    return PublicationFacts(
        me=ctx.agency,
        superseded=superseded,
        same_as=None
        if copy is None
        else ReceivedCopy(envelope_id=copy.envelope_id, sender=copy.sender, tlp=copy.tlp),
        subscribers=subscribers,
        channel=channel_facts,
    )


async def read_superseded(
    session: AsyncSession, me: AgencyId, eid: EnvelopeId
) -> Superseded | None:
    """The envelope ``eid`` as this node holds it (sent from here first), or None."""
    if await SentEnvelopes(session).exists(eid):
        header = parse_envelope((await SentEnvelopes(session).get(eid)).raw).header
        row = await Notices(session).get(eid, sender=me)
        return Superseded(
            id=eid,
            sender=me,
            kind=_carried_kind(row),
            handling=header.handling,
            channel=header.channel,
            identity=notice_identity(notice_from_json(json.loads(row.notice_json))),
        )
    if await ReceivedEnvelopes(session).exists(eid):
        header = parse_envelope(await ReceivedEnvelopes(session).get_raw(eid)).header
        return Superseded(
            id=eid,
            sender=header.sender,
            kind=header.kind.value,
            handling=header.handling,
            channel=header.channel,
        )
    return None


def _carried_kind(row: StoredNotice) -> str:
    """The kind a stored notice carries: a correction's replacement kind, else its own."""
    if row.kind != MessageKind.CORRECTION.value:
        return row.kind
    return str(json.loads(row.notice_json)["notice"]["kind"])


async def notice_to_correct(ctx: NodeContext, raw_id: str) -> StoredNotice:
    """A notice this agency sent, for the console to correct; another agency's is refused.

    The same ownership rule as publishing (``check_supersedes_owner``), so the
    console cannot offer to correct what the publication would refuse.
    """
    eid = envelope_id(raw_id, "of")
    async with ctx.db.transaction(readonly=True) as session:
        superseded = await read_superseded(session, ctx.agency, eid)
        owner = None if superseded is None else superseded.sender
        check_supersedes_owner(ctx.agency, eid, owner, path="supersedes")
        return await Notices(session).get(eid, sender=ctx.agency)  # NOT_FOUND if none
