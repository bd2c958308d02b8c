"""Outbound notices: validate, seal once for every recipient, store and queue.

One transaction writes the sealed envelope, its index row and one outbox row
per destination, so a notice is either queued for all its recipients or for
none; the couriers then deliver it at least once, and receivers de-duplicate.
The sender seals to its own key as well, so it can always read what it sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from baliza.crypto import seal
from baliza.node.core.clock import new_envelope_id, now_ms
from baliza.node.services.context import NodeContext
from baliza.node.services.index import index_notice
from baliza.node.services.ingest import announce
from baliza.node.services.plausibility import check_unit_agency
from baliza.node.services.publications import Publication
from baliza.node.storage.envelopes import SentEnvelope
from baliza.node.storage.notices import Direction
from baliza.protocol.errors import BalizaError, InputError, ReasonCode, TrustError
from baliza.protocol.fields import check_str
from baliza.protocol.handling import Handling
from baliza.protocol.ids import AgencyId, EnvelopeId, agency_id, envelope_id
from baliza.protocol.notices import Notice, notice_from_json

MAX_RECIPIENTS = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishRequest:
    """A validated request to publish one notice."""

    notice: Notice
    recipients: tuple[AgencyId, ...]
    handling: Handling
    supersedes: EnvelopeId | None = None

    @classmethod
    def from_json(cls, body: Any) -> PublishRequest:
        """Validate the JSON body of ``POST /api/v1/notices``; errors name the field."""
        if not isinstance(body, dict):
            raise InputError(ReasonCode.WRONG_TYPE, "the body must be a JSON object")
        allowed = {"notice", "recipients", "handling", "supersedes"}
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise InputError(ReasonCode.UNKNOWN_FIELD, "is not a known field", path=unknown[0])
        if "notice" not in body:
            raise InputError(ReasonCode.MISSING_FIELD, "is required", path="notice")
        try:
            notice = notice_from_json(body["notice"])
        except BalizaError as err:
            raise err.at("notice") from None
        raw_recipients = body.get("recipients")
        if not isinstance(raw_recipients, list) or not 1 <= len(raw_recipients) <= MAX_RECIPIENTS:
            raise InputError(
                ReasonCode.BAD_LENGTH,
                f"must list 1 to {MAX_RECIPIENTS} agencies",
                path="recipients",
            )
        recipients = tuple(
            sorted({agency_id(r, f"recipients[{i}]") for i, r in enumerate(raw_recipients)})
        )
        handling = _handling(body.get("handling", {"tlp": "amber"}))
        supersedes = body.get("supersedes")
        return cls(
            notice=notice,
            recipients=recipients,
            handling=handling,
            supersedes=None
            if supersedes is None
            else envelope_id(check_str(supersedes, "supersedes", max_len=36), "supersedes"),
        )


def _handling(raw: Any) -> Handling:
    if not isinstance(raw, dict):
        raise InputError(ReasonCode.WRONG_TYPE, "must be an object", path="handling")
    # The JSON form mirrors the wire form, so the wire's strict reader serves.
    return Handling.from_wire(dict(raw), "handling")


@dataclass(frozen=True, slots=True, kw_only=True)
class Published:
    """What the publisher gets back."""

    id: EnvelopeId
    recipients: tuple[AgencyId, ...]
    size: int


async def publish(ctx: NodeContext, request: PublishRequest) -> Published:
    """Seal ``request`` to every recipient agency, store it and queue its delivery."""
    now = now_ms()
    check_unit_agency(request.notice, ctx.agency)
    peers = []
    for i, agency in enumerate(request.recipients):
        if agency == ctx.agency:
            raise InputError(
                ReasonCode.INCONSISTENT, "do not list your own agency", path=f"recipients[{i}]"
            )
        try:
            peers.append(ctx.trust.peer(agency, now))
        except TrustError as err:
            raise InputError(
                ReasonCode.NOT_FOUND,
                f"{agency} is not a member this node can send to: {err.detail}",
                path=f"recipients[{i}]",
            ) from None
    sender = ctx.signing_keys()
    envelope = seal(
        request.notice,
        sender=sender,
        recipients=[p.keys for p in peers] + [sender.public()],
        handling=request.handling,
        envelope_id=new_envelope_id(),
        created_ms=now,
        supersedes=request.supersedes,
    )
    indexed = index_notice(envelope, request.notice, Direction.OUT, now)
    await ctx.publications.submit(
        Publication(
            envelope=SentEnvelope(
                id=envelope.id,
                kind=envelope.header.kind.value,
                created_ms=now,
                recipients=tuple(p.agency for p in peers),
                raw=envelope.raw,
            ),
            notice=indexed.row,
        )
    )
    for peer in peers:
        ctx.wakeup(peer.agency).set()
    await announce(ctx, [envelope.id], sender=ctx.agency)
    ctx.count("baliza_notices_published_total")
    return Published(
        id=envelope.id, recipients=tuple(p.agency for p in peers), size=len(envelope.raw)
    )
