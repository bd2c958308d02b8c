"""Who may receive a notice: the JIT rule, the nominal-data policy, the subscriber rule.

Rules of this file: pure; every recipient reason (named, channel,
subscription, share) asks the same predicates, and each looks through a
correction to the replacement it carries (``content.py``).

- A case notice, or a correction of one, travels only inside a JIT channel;
  nothing received in a JIT leaves it by a share (``wrong_channel``).
- Nominal data (persons, companies, documents) goes only to the agencies and
  channels the policy lists (``nominal_not_allowed``); a publisher may ask
  for the non-nominal version for the others instead.
- An outcome goes to everyone the alert it answers was addressed to (its
  sender and its other recipients, co-addressed transit agencies included),
  whoever the publisher named besides (``outcome_recipients``).
- Subscribers never receive TLP:RED or AMBER+STRICT
  (``protocol.sharing.subscriber_rule``), nor nominal data the policy keeps
  from them: they are reported as withheld, with the rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from baliza.node.services.recipients import Audience, ChannelRoster
from baliza.node.services.rules.content import carried_kind, has_nominal, without_nominal
from baliza.node.services.rules.facts import Policy
from baliza.protocol.channels import ChannelKind
from baliza.protocol.envelope import MessageKind
from baliza.protocol.errors import InputError, ReasonCode, TrustError
from baliza.protocol.handling import Handling
from baliza.protocol.ids import AgencyId, ChannelId
from baliza.protocol.notices import Notice
from baliza.protocol.sharing import subscriber_rule

RULE_NOMINAL = "nominal data only to the agencies and channels the node's policy lists"
RULE_JIT = "a case notice travels only inside a JIT channel"


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """Who gets the notice as written, who gets it without nominal data, who is withheld."""

    audience: Audience
    stripped: Notice | None = None
    stripped_audience: Audience = field(default_factory=Audience)
    withheld: tuple[tuple[AgencyId, str], ...] = ()


def outcome_recipients(
    me: AgencyId,
    named: tuple[AgencyId, ...],
    alert_sender: AgencyId,
    alert_recipients: tuple[AgencyId, ...],
) -> tuple[AgencyId, ...]:
    """Who an outcome goes to: those named, the alert's sender and its other addressees.

    Every agency an alert was addressed to watches it on its board; an
    outcome sent to the sender alone left a transit agency's board showing
    the alert open after the seizure. API, CLI and console all ask this.
    """
    everyone = {*named, alert_sender, *alert_recipients}
    everyone.discard(me)
    return tuple(sorted(everyone))


def check_jit(notice: Notice, channel_kind: str | None, *, path: str = "channel") -> None:
    """Refuse a case notice (wrapped in a correction or not) outside a JIT channel.

    ``channel_kind`` is the kind of the channel it travels in, None for none.
    """
    check_jit_kind(carried_kind(notice), channel_kind, path=path)


def check_jit_kind(kind: MessageKind, channel_kind: str | None, *, path: str) -> None:
    """The JIT rule for a kind alone: what a receiver can check before decrypting."""
    if kind is MessageKind.CASE and channel_kind != ChannelKind.JIT.value:
        raise TrustError(ReasonCode.WRONG_CHANNEL, RULE_JIT, path=path)


def check_not_from_jit(channel: ChannelId | None, channel_kind: str | None) -> None:
    """Nothing received in a JIT (or a channel no longer known here) leaves it by a share."""
    if channel is not None and channel_kind in (None, ChannelKind.JIT.value):
        raise TrustError(
            ReasonCode.WRONG_CHANNEL,
            f"received in the JIT {channel}: it stays inside the JIT",
            path="id",
        )


def nominal_allowed(policy: Policy, agency: str, *, subscriber: bool = False) -> bool:
    """Whether the policy lets ``agency`` (or a channel id) receive nominal data."""
    if policy.nominal_recipients is None:
        return not subscriber
    return agency in policy.nominal_recipients


def nominal_barred(
    policy: Policy, notice: Notice, agencies: tuple[str, ...], *, subscriber: bool = False
) -> list[str]:
    """Those of ``agencies`` the policy keeps from the notice's nominal data (if it has any)."""
    if not has_nominal(notice):
        return []
    return [a for a in agencies if not nominal_allowed(policy, a, subscriber=subscriber)]


def refuse_nominal(barred: list[str], *, path: str, hint: str = "") -> TrustError:
    """The refusal naming who may not receive the nominal data."""
    return TrustError(
        ReasonCode.NOMINAL_NOT_ALLOWED,
        f"{RULE_NOMINAL}; not allowed: {', '.join(barred)}{hint}",
        path=path,
    )


def channel_plan(
    policy: Policy, notice: Notice, roster: ChannelRoster, *, non_nominal: bool
) -> Plan:
    """A channel notice goes to the members only; the policy applies to the channel id."""
    if not nominal_barred(policy, notice, (roster.channel,)):
        return Plan(audience=Audience(channel=roster))
    if not non_nominal:
        raise refuse_nominal(
            [f"channel {roster.channel}"],
            path="channel",
            hint=" (ask for the non-nominal version with non_nominal: true)",
        )
    return Plan(
        audience=Audience(),
        stripped=without_nominal(notice),
        stripped_audience=Audience(channel=roster),
    )


def named_plan(
    policy: Policy,
    notice: Notice,
    *,
    me: AgencyId,
    recipients: tuple[AgencyId, ...],
    subscribed: tuple[AgencyId, ...],
    handling: Handling,
    non_nominal: bool,
) -> Plan:
    """Named recipients and matching subscribers, each held to the nominal and handling rules."""
    barred = nominal_barred(policy, notice, recipients)
    if barred and not non_nominal:
        raise refuse_nominal(
            barred,
            path="recipients",
            hint=" (ask for the non-nominal version for them with non_nominal: true)",
        )
    named = [a for a in recipients if a not in barred]
    stripped_subscribers: list[AgencyId] = []
    withheld: list[tuple[AgencyId, str]] = []
    subscribers: list[AgencyId] = []
    for agency in subscribed:
        if agency in recipients or agency == me:
            continue
        rule = subscriber_rule(handling)
        if rule is None and nominal_barred(policy, notice, (agency,), subscriber=True):
            if non_nominal:
                stripped_subscribers.append(agency)
                continue
            rule = RULE_NOMINAL
        if rule is None:
            subscribers.append(agency)
        else:
            withheld.append((agency, rule))
    copy_wanted = bool(barred or stripped_subscribers)
    if not named and not subscribers and not copy_wanted:
        raise InputError(ReasonCode.MISSING_FIELD, "name at least one recipient", path="recipients")
    return Plan(
        audience=Audience(agencies=tuple(named), subscribers=tuple(subscribers)),
        stripped=without_nominal(notice) if copy_wanted else None,
        stripped_audience=Audience(
            agencies=tuple(sorted(AgencyId(a) for a in set(barred))),
            subscribers=tuple(stripped_subscribers),
        ),
        withheld=tuple(withheld),
    )
