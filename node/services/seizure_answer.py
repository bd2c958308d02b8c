"""A seizure that answers a received alert: the seizure notice and its outcome, as one act.

An officer who seized what an alert announced used to publish the seizure,
copy its id, then publish an outcome naming it. Here both go out from one
request: the outcome (result ``seizure``, naming the new seizure's id) is
checked before anything is sent, the seizure is published, then the
outcome; the outcome goes to everyone the alert was addressed to
(``rules.audience.outcome_recipients``), with the seizure's handling.
"""

from __future__ import annotations

from dataclasses import dataclass

from baliza.node.core.clock import now_ms
from baliza.node.services.context import NodeContext
from baliza.node.services.publish import Published, PublishRequest, publish
from baliza.node.services.views.feed import stored_notice
from baliza.protocol.envelope import MessageKind
from baliza.protocol.errors import InputError, ReasonCode, StorageError
from baliza.protocol.ids import AgencyId, EnvelopeId, envelope_id
from baliza.protocol.notices import AlertOutcome, OutcomeResult


@dataclass(frozen=True, slots=True, kw_only=True)
class SeizureAnswer:
    """The seizure published and the outcome that links it to the alert."""

    seizure: Published
    outcome: Published


def _outcome(alert: EnvelopeId, seizure: EnvelopeId, at_ms: int) -> AlertOutcome:
    return AlertOutcome(alert=alert, result=OutcomeResult.SEIZURE, at_ms=at_ms, seizure=seizure)


async def publish_seizure_answer(
    ctx: NodeContext, seizure: PublishRequest, raw_alert: str
) -> SeizureAnswer:
    """Publish ``seizure``, then the outcome answering ``raw_alert`` with it.

    Refused before anything is sent when the alert is not one this node
    received (``answers``) or the seizure is not a first publication.
    """
    alert = envelope_id(raw_alert, "answers")
    try:
        row = await stored_notice(ctx, alert)
    except StorageError:
        raise InputError(
            ReasonCode.NOT_FOUND, "this node holds no such alert", path="answers"
        ) from None
    if row.kind != MessageKind.ALERT.value or row.sender == ctx.agency:
        raise InputError(
            ReasonCode.INCONSISTENT,
            "answers only an alert received from another agency",
            path="answers",
        )
    if seizure.notice.kind is not MessageKind.SEIZURE or seizure.supersedes is not None:
        raise InputError(
            ReasonCode.INCONSISTENT, "a new seizure notice answers an alert", path="notice"
        )
    _outcome(alert, alert, now_ms())  # the outcome's own checks, before the seizure leaves
    published = await publish(ctx, seizure)
    if published.id is None:  # every recipient got the non-nominal copy: link that one
        assert published.non_nominal is not None and published.non_nominal.id is not None
        seized = published.non_nominal.id
    else:
        seized = published.id
    answer = PublishRequest(
        notice=_outcome(alert, seized, now_ms()),
        recipients=(AgencyId(row.sender),),
        handling=seizure.handling,
    )
    return SeizureAnswer(seizure=published, outcome=await publish(ctx, answer))
