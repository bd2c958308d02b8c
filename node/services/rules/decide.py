"""The publication decision: every path that emits an envelope asks it.

First publication, correction, retraction, outcome, channel post and the
console's publication all call ``decide_publication``; a share calls
``decide_share``. Both are pure: facts read beforehand (``facts.py``), the
request, the node's policy and the time in; a ``Plan`` out, or a
``BalizaError`` naming the rule. The checks run in this order, the first
refusal wins:

1. the channel named is known here and its membership unexpired;
2. what the publication supersedes: this agency's own notice, of the same
   kind, not lowered in handling, in the same channel (``lifecycle.py``);
3. a case notice only inside a JIT channel (``audience.check_jit``);
4. not another agency's notice re-published as one's own
   (``identity.py``; before the unit check, so that copying another
   agency's notice is refused by the rule that names what happened);
5. the reporting unit is this agency or one of its units;
6. who receives it: named recipients, channel, subscribers, each under the
   nominal and handling rules (``audience.py``); what supersedes a notice
   goes to every agency that notice went to, and to no other; an outcome
   goes to everyone its alert was addressed to (``outcome_recipients``).
"""

from __future__ import annotations

from dataclasses import dataclass

from baliza.node.services.plausibility import check_unit_agency
from baliza.node.services.recipients import Via
from baliza.node.services.rules.audience import (
    Plan,
    channel_plan,
    check_jit,
    check_not_from_jit,
    named_plan,
    nominal_barred,
    outcome_recipients,
    refuse_nominal,
)
from baliza.node.services.rules.facts import (
    ChannelFacts,
    Policy,
    PublicationFacts,
    ReceivedCopy,
    ShareFacts,
)
from baliza.node.services.rules.identity import notice_identity
from baliza.node.services.rules.lifecycle import (
    check_handling_kept,
    check_same_channel,
    check_same_kind,
    check_supersedes_owner,
)
from baliza.protocol.errors import InputError, ReasonCode, TrustError
from baliza.protocol.handling import Handling
from baliza.protocol.ids import AgencyId, ChannelId, EnvelopeId
from baliza.protocol.notices import Notice
from baliza.protocol.sharing import ShareRule, share_rule


@dataclass(frozen=True, slots=True, kw_only=True)
class PublicationRequest:
    """What the publisher asks for, as the decision sees it (validated already)."""

    notice: Notice
    recipients: tuple[AgencyId, ...] = ()
    channel: ChannelId | None = None
    handling: Handling
    supersedes: EnvelopeId | None = None
    non_nominal: bool = False


def decide_publication(
    facts: PublicationFacts, request: PublicationRequest, policy: Policy, *, now_ms: int
) -> Plan:
    """Apply every rule in order; raise naming the first broken, or say who gets what."""
    channel = _channel(facts.channel, request.channel, now_ms)
    _check_supersedes(facts, request)
    check_jit(request.notice, None if channel is None else channel.kind)
    _check_not_republished(facts, request)
    check_unit_agency(request.notice, facts.me)
    if channel is not None:
        return channel_plan(policy, request.notice, channel.roster, non_nominal=request.non_nominal)
    recipients, subscribed = _audience(facts, request)
    return named_plan(
        policy,
        request.notice,
        me=facts.me,
        recipients=recipients,
        subscribed=subscribed,
        handling=request.handling,
        non_nominal=request.non_nominal,
    )


def _audience(
    facts: PublicationFacts, request: PublicationRequest
) -> tuple[tuple[AgencyId, ...], tuple[AgencyId, ...]]:
    """Named recipients and subscribers: for what supersedes a notice, whoever received it.

    A correction or retraction reaches every agency the superseded envelope
    went to, named or subscribed, whatever the subscriber's filter says of
    the new notice (a retraction names no programme); those it never went to
    cannot take it (``check_supersedes_owner`` at the receiver), so naming
    one is refused here.
    """
    superseded = facts.superseded
    if request.supersedes is None or superseded is None:
        answered = facts.answered
        if answered is None:
            return request.recipients, facts.subscribers
        answer_to = outcome_recipients(
            facts.me, request.recipients, answered.sender, answered.recipients
        )
        return answer_to, facts.subscribers
    reached = dict(superseded.reached)
    for i, agency in enumerate(request.recipients):
        if agency not in reached:
            raise TrustError(
                ReasonCode.FOREIGN_SUPERSEDES,
                f"{agency} never received {superseded.id}: what supersedes a notice goes "
                "to those who received it (publish a new notice to others)",
                path=f"recipients[{i}]",
            )
    named = {a for a, via in reached.items() if via != Via.SUBSCRIPTION.value}
    subscribed = {a for a, via in reached.items() if via == Via.SUBSCRIPTION.value}
    return tuple(sorted(named | set(request.recipients))), tuple(sorted(subscribed))


def _channel(
    facts: ChannelFacts | None, channel: ChannelId | None, now_ms: int
) -> ChannelFacts | None:
    if channel is None:
        return None
    if facts is None:
        raise InputError(
            ReasonCode.NOT_FOUND, f"this node knows no channel {channel}", path="channel"
        )
    if facts.alarm is not None:
        raise TrustError(
            ReasonCode.CHANNEL_UNDER_ALARM,
            f"sends to {channel} are paused: this node was offered another history of it "
            f"({facts.alarm}); an administrator must keep or replace the chain held "
            "(`baliza channel alarm`)",
            path="channel",
        )
    if facts.expires_ms <= now_ms:
        raise InputError(
            ReasonCode.MEMBERSHIP_EXPIRED,
            f"the membership of {channel} expired: its owners must sign a new version",
            path="channel",
        )
    return facts


def _check_supersedes(facts: PublicationFacts, request: PublicationRequest) -> None:
    if request.supersedes is None:
        return
    superseded = facts.superseded
    if superseded is None:  # this node holds everything it ever sent
        raise TrustError(
            ReasonCode.FOREIGN_SUPERSEDES,
            f"only its sender may supersede a notice: this agency sent no {request.supersedes}",
            path="supersedes",
        )
    check_supersedes_owner(facts.me, request.supersedes, superseded.sender, path="supersedes")
    check_same_kind(request.notice, superseded)
    check_handling_kept(request.handling, superseded)
    check_same_channel(request.channel, superseded)


def _check_not_republished(facts: PublicationFacts, request: PublicationRequest) -> None:
    copy = facts.same_as
    if copy is None:
        return
    superseded = facts.superseded
    if superseded is not None and superseded.identity == notice_identity(request.notice):
        # Correcting this agency's own notice of that identity, published
        # before (or beside) the other agency's: its own, not a copy.
        return
    raise republished(copy)


def republished(copy: ReceivedCopy) -> TrustError:
    """The refusal of a notice that is ``copy``, another agency's notice."""
    return TrustError(
        ReasonCode.REPUBLISH_FORBIDDEN,
        f"this is {copy.sender}'s notice {copy.envelope_id} (TLP:{copy.tlp.upper()}): "
        "a received notice is passed on by sharing it, under its own handling, "
        "never re-published as one's own",
        path="notice",
    )


def decide_share(
    facts: ShareFacts, notice: Notice, recipients: tuple[AgencyId, ...], policy: Policy
) -> ShareRule:
    """Whether a received notice may go to ``recipients``: now, after a grant, or never (raises).

    Order: only received notices; nothing leaves a JIT, and no case notice
    (wrapped or not) leaves by a share; recipients are new and not the
    originator; the handling allows passing it on; the nominal policy.
    """
    if not facts.received:
        raise InputError(
            ReasonCode.INCONSISTENT, "share passes on received notices; publish your own", path="id"
        )
    check_not_from_jit(facts.channel, facts.channel_kind)
    check_jit(notice, None, path="id")
    for i, agency in enumerate(recipients):
        if agency in (facts.me, facts.sender, facts.originator):
            raise InputError(
                ReasonCode.INCONSISTENT,
                f"{agency} is this agency or the originator",
                path=f"recipients[{i}]",
            )
        if agency in facts.had:
            raise InputError(
                ReasonCode.INCONSISTENT, f"{agency} already received it", path=f"recipients[{i}]"
            )
    rule = share_rule(facts.handling)  # raises naming the rule for RED and AMBER+STRICT
    barred = nominal_barred(policy, notice, recipients)
    if barred:
        raise refuse_nominal(barred, path="recipients")
    return rule
