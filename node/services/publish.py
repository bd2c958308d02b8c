"""Outbound notices: validate, seal once for every recipient, store and queue.

One transaction writes the sealed envelope, its index row and one outbox row
per destination, so a notice is either queued for all its recipients or for
none; the couriers then deliver it at least once, and receivers de-duplicate.
The sender seals to its own key as well, so it can always read what it sent.
Before sealing, the facts are read once and the one publication decision
(``services/rules/decide.py``) applies every rule and adds the partner
subscribers whose filter matches; a notice whose nominal data some recipients
may not receive goes to them as a second envelope without its nominal
section, when the officer asked for that.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from baliza.crypto import seal_bytes
from baliza.node.core.clock import new_envelope_id, now_ms
from baliza.node.services.announce import announce_written, wants_hits
from baliza.node.services.context import NodeContext
from baliza.node.services.index import index_notice
from baliza.node.services.publication_facts import read_publication_facts
from baliza.node.services.publications import Publication
from baliza.node.services.recipients import MAX_RECIPIENTS, Audience, resolve
from baliza.node.services.rules.decide import PublicationRequest, decide_publication
from baliza.node.services.rules.facts import Policy
from baliza.node.storage.envelopes import SentEnvelope
from baliza.node.storage.notices import Direction
from baliza.protocol.errors import BalizaError, InputError, ReasonCode
from baliza.protocol.fields import check_str
from baliza.protocol.handling import Handling
from baliza.protocol.ids import AgencyId, ChannelId, EnvelopeId, agency_id, channel_id, envelope_id
from baliza.protocol.notices import Notice, encode_notice, notice_from_written_json


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishRequest:
    """A validated request to publish one notice."""

    notice: Notice
    recipients: tuple[AgencyId, ...] = ()
    channel: ChannelId | None = None
    handling: Handling
    supersedes: EnvelopeId | None = None
    # Send recipients the policy keeps from nominal data a copy without it.
    non_nominal: bool = False

    @classmethod
    def from_json(cls, body: Any) -> PublishRequest:
        """Validate the JSON body of ``POST /api/v1/notices``; errors name the field."""
        if not isinstance(body, dict):
            raise InputError(ReasonCode.WRONG_TYPE, "the body must be a JSON object")
        if "kind" in body:
            raise InputError(
                ReasonCode.WRONG_TYPE,
                'this is a bare notice: post {"notice": ..., "recipients": [...]}',
                path="kind",
            )
        allowed = {"notice", "recipients", "channel", "handling", "supersedes", "non_nominal"}
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise InputError(ReasonCode.UNKNOWN_FIELD, "is not a known field", path=unknown[0])
        if "notice" not in body:
            raise InputError(ReasonCode.MISSING_FIELD, "is required", path="notice")
        try:
            notice = notice_from_written_json(body["notice"])
        except BalizaError as err:
            raise err.at("notice") from None
        channel = None if body.get("channel") is None else channel_id(body["channel"], "channel")
        raw_recipients = body.get("recipients")
        # A correction or retraction names what it replaces; the envelope says it too.
        supersedes = body.get("supersedes", getattr(notice, "supersedes", None))
        if supersedes is not None and raw_recipients is None and channel is None:
            raw_recipients = []  # it goes to whoever received what it supersedes
        elif channel is not None:
            # A channel envelope names the channel instead of agencies (its header
            # holds exactly one of the two).
            if raw_recipients:
                raise InputError(
                    ReasonCode.INCONSISTENT,
                    "name either recipients or a channel, not both",
                    path="recipients",
                )
            raw_recipients = []
        elif not isinstance(raw_recipients, list) or not 1 <= len(raw_recipients) <= MAX_RECIPIENTS:
            raise InputError(
                ReasonCode.BAD_LENGTH,
                f"must list 1 to {MAX_RECIPIENTS} agencies",
                path="recipients",
            )
        recipients = tuple(
            sorted({agency_id(r, f"recipients[{i}]") for i, r in enumerate(raw_recipients)})
        )
        handling = _handling(body.get("handling", {"tlp": "amber"}))
        non_nominal = body.get("non_nominal", False)
        if not isinstance(non_nominal, bool):
            raise InputError(ReasonCode.WRONG_TYPE, "must be true or false", path="non_nominal")
        return cls(
            non_nominal=non_nominal,
            notice=notice,
            recipients=recipients,
            channel=channel,
            handling=handling,
            supersedes=None
            if supersedes is None
            else envelope_id(check_str(supersedes, "supersedes", max_len=36), "supersedes"),
        )

    def publication(self) -> PublicationRequest:
        """The request as the publication decision reads it."""
        return PublicationRequest(
            notice=self.notice,
            recipients=self.recipients,
            channel=self.channel,
            handling=self.handling,
            supersedes=self.supersedes,
            non_nominal=self.non_nominal,
        )


def _handling(raw: Any) -> Handling:
    if not isinstance(raw, dict):
        raise InputError(ReasonCode.WRONG_TYPE, "must be an object", path="handling")
    # The JSON form mirrors the wire form, so the wire's strict reader serves.
    return Handling.from_wire(dict(raw), "handling")


@dataclass(frozen=True, slots=True, kw_only=True)
class Published:
    """What the publisher gets back: the envelope, its recipients, and what else happened.

    ``non_nominal`` is the second envelope (without the nominal section) when
    one was sent; ``withheld`` lists subscribers the handling kept out, with
    the rule. ``id`` is None when every recipient got the non-nominal copy.
    """

    id: EnvelopeId | None
    recipients: tuple[AgencyId, ...]
    size: int
    non_nominal: Published | None = None
    withheld: tuple[tuple[AgencyId, str], ...] = ()

    @property
    def envelope_ids(self) -> list[str]:
        """Every envelope this publication sent: what its author is recorded as publishing."""
        return [str(p.id) for p in (self, self.non_nominal) if p is not None and p.id]


async def publish(
    ctx: NodeContext, request: PublishRequest, *, only: frozenset[AgencyId] | None = None
) -> Published:
    """Read the facts, ask the publication decision, then seal to every recipient, store and queue.

    First publications, corrections, retractions, outcomes and channel posts
    all come here and are held to the same rules (``services/rules``).
    ``only`` limits delivery to some of the recipients (a channel notice
    re-sealed for the members that refused a stale version); the envelope is
    sealed to all of them either way, as its header says.
    """
    facts = await read_publication_facts(
        ctx, notice=request.notice, channel=request.channel, supersedes=request.supersedes
    )
    decided = decide_publication(
        facts, request.publication(), Policy.of(ctx.config), now_ms=now_ms()
    )
    superseded = facts.superseded
    if request.channel is not None and superseded is not None and superseded.reached:
        # Sealed to the channel as it is now, delivered to the members the
        # superseded envelope went to: one who joined since never had it.
        reached = frozenset(a for a, _ in superseded.reached)
        only = reached if only is None else only & reached
    main: Published | None = None
    audience = decided.audience
    if audience.agencies or audience.subscribers or audience.channel:
        main = await seal_and_queue(
            ctx,
            request.notice,
            audience,
            request.handling,
            supersedes=request.supersedes,
            only=only,
        )
    copy: Published | None = None
    if decided.stripped is not None:
        copy = await seal_and_queue(
            ctx,
            decided.stripped,
            decided.stripped_audience,
            request.handling,
            supersedes=request.supersedes,
            only=only,
        )
    if main is None:
        if copy is None:  # pragma: no cover - the decision always leaves someone to send to
            raise InputError(ReasonCode.MISSING_FIELD, "nobody to send to", path="recipients")
        return Published(
            id=None, recipients=(), size=0, non_nominal=copy, withheld=decided.withheld
        )
    return Published(
        id=main.id,
        recipients=main.recipients,
        size=main.size,
        non_nominal=copy,
        withheld=decided.withheld,
    )


async def seal_and_queue(
    ctx: NodeContext,
    notice: Notice,
    audience: Audience,
    handling: Handling,
    *,
    supersedes: EnvelopeId | None = None,
    shares: EnvelopeId | None = None,
    only: frozenset[AgencyId] | None = None,
    plaintext: bytes | None = None,
) -> Published:
    """Seal ``notice`` to every recipient the resolver names, store it and queue its delivery.

    With ``only``, delivery goes to those of the recipients alone; ``plaintext``
    is what to seal when the caller has it already: ``encode_notice(notice)``,
    or for a share the ``SharedOriginal`` carrying the originator's envelope
    (the index row is always ``notice``'s).
    """
    started = time.perf_counter()
    now = now_ms()
    resolution = resolve(ctx.trust, audience, me=ctx.agency, now_ms=now)
    sender = ctx.signing_keys()
    if plaintext is None:  # sealed, and hashed for the index: encoded once
        plaintext = encode_notice(notice)
    envelope = seal_bytes(
        plaintext,
        kind=notice.kind,
        sender=sender,
        recipients=resolution.sealing_keys(sender.public()),
        handling=handling,
        envelope_id=new_envelope_id(),
        created_ms=now,
        supersedes=supersedes,
        channel=resolution.channel,
        membership_version=resolution.membership_version,
        shares=shares,
    )
    addressees = resolution.addressees()
    destinations = [a for a in resolution.agencies if only is None or a in only]
    indexed = index_notice(envelope, notice, Direction.OUT, now, plaintext=plaintext)
    written = await ctx.publications.submit(
        Publication(
            envelope=SentEnvelope(
                id=envelope.id,
                kind=envelope.header.kind.value,
                created_ms=now,
                recipients=tuple(a for a in addressees if a.agency in destinations),
                raw=envelope.raw,
            ),
            notice=indexed.row,
            with_hits=wants_hits(ctx),
        )
    )
    for agency in destinations:
        ctx.wakeup(agency).set()
    announce_written(ctx, [written])
    ctx.count("baliza_notices_published_total")
    ctx.observe("baliza_publish_duration_seconds", time.perf_counter() - started)
    return Published(id=envelope.id, recipients=tuple(destinations), size=len(envelope.raw))
