"""The rules a publication passes before anything is sealed.

- ``supersedes`` may name only a notice this agency sent (``foreign_supersedes``).
- A notice with exactly the content of one received from another agency is
  that agency's notice: re-publishing it as one's own (at any TLP, so also a
  lower one) is refused (``republish_forbidden``); sharing it keeps its
  handling and names the original.
- Nominal data (persons, companies, documents) goes only to the agencies the
  node's policy lists (``nominal_recipients``; unset: every named recipient,
  no subscriber). Naming anyone else is refused naming them
  (``nominal_not_allowed``), unless the officer asked for the non-nominal
  version for them: they then get a second envelope without that section.
- Admitted subscribers whose filter matches are added, except where the
  handling forbids it (TLP:RED, AMBER+STRICT) or the notice holds nominal data
  they may not receive; those are reported as withheld, with the rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy.ext.asyncio import AsyncSession

from baliza.node.core.config import NodeConfig
from baliza.node.services.context import NodeContext
from baliza.node.services.index import content_hash
from baliza.node.services.recipients import Audience, ChannelRoster
from baliza.node.services.subscriptions import matching
from baliza.node.storage.sql import envelopes as envelope_rows
from baliza.node.storage.sql import notices as notice_rows
from baliza.node.storage.sql.bridge import in_session
from baliza.protocol.errors import InputError, ReasonCode, TrustError
from baliza.protocol.handling import Handling
from baliza.protocol.ids import AgencyId, EnvelopeId
from baliza.protocol.notices import CaseNotice, Notice, PreArrivalAlert, SeizureNotice
from baliza.protocol.sharing import subscriber_rule

RULE_NOMINAL = "nominal data only to the agencies and channels the node's policy lists"


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """Who gets the notice as written, who gets it without nominal data, who is withheld."""

    audience: Audience
    stripped: Notice | None = None
    stripped_audience: Audience = field(default_factory=Audience)
    withheld: tuple[tuple[AgencyId, str], ...] = ()


def nominal_allowed(config: NodeConfig, agency: str, *, subscriber: bool = False) -> bool:
    """Whether the node's policy lets ``agency`` receive nominal data."""
    if config.nominal_recipients is None:
        return not subscriber
    return agency in config.nominal_recipients


def has_nominal(notice: Notice) -> bool:
    """Whether the notice carries a nominal section."""
    return getattr(notice, "nominal", None) is not None


def without_nominal(notice: Notice) -> Notice:
    """The same notice without its nominal section (the non-nominal version)."""
    if isinstance(notice, SeizureNotice | PreArrivalAlert | CaseNotice):
        return replace(notice, nominal=None)
    return notice


async def check_supersedes(session: AsyncSession, supersedes: EnvelopeId | None) -> None:
    """Refuse ``supersedes`` of a notice another agency sent."""
    if supersedes is None:
        return
    ours = bool(await in_session(session, envelope_rows.sent_ids, [supersedes]))
    theirs = not ours and bool(await in_session(session, envelope_rows.received_ids, [supersedes]))
    sender = (
        (await in_session(session, envelope_rows.received, supersedes)).sender if theirs else None
    )
    if sender is not None:
        raise TrustError(
            ReasonCode.FOREIGN_SUPERSEDES,
            f"only its sender may supersede a notice: {supersedes} was sent by {sender}",
            path="supersedes",
        )


async def check_not_republished(
    session: AsyncSession, me: AgencyId, notice: Notice, plaintext: bytes | None = None
) -> None:
    """Refuse a notice whose content is that of one received from another agency.

    ``plaintext``: the notice's canonical bytes, when the caller has them.
    """
    copy = await in_session(
        session, notice_rows.copy_from_another, content_hash(notice, plaintext), me
    )
    if copy is not None:
        raise TrustError(
            ReasonCode.REPUBLISH_FORBIDDEN,
            f"this is {copy.sender}'s notice {copy.envelope_id} (TLP:{copy.tlp.upper()}): "
            "a received notice is passed on by sharing it, under its own handling, "
            "never re-published as one's own",
            path="notice",
        )


async def plan(
    ctx: NodeContext,
    *,
    notice: Notice,
    recipients: tuple[AgencyId, ...],
    handling: Handling,
    supersedes: EnvelopeId | None,
    non_nominal: bool,
    channel: ChannelRoster | None = None,
    plaintext: bytes | None = None,
) -> Plan:
    """Apply the rules of this module; raise naming the rule, or say who gets what.

    A channel notice goes to the channel's members only: its header names the
    channel instead of agencies, so it cannot also carry subscribers. The
    nominal-data policy then applies to the channel id. ``plaintext`` is
    ``encode_notice(notice)`` when the caller has it (it is not encoded again).
    """
    wire = notice.to_wire()
    # The rules' reads share one transaction (each costs more than its query).
    async with ctx.db.transaction(readonly=True) as session:
        await check_supersedes(session, supersedes)
        await check_not_republished(session, ctx.agency, notice, plaintext)
        subscribed = (
            ()
            if channel is not None
            else await matching(session, ctx.agency, notice.kind.value, wire)
        )
    nominal = has_nominal(notice)
    if channel is not None:
        if not nominal or nominal_allowed(ctx.config, channel.channel):
            return Plan(
                audience=Audience(channel=channel),
                stripped=None,
                stripped_audience=Audience(),
                withheld=(),
            )
        if not non_nominal:
            raise TrustError(
                ReasonCode.NOMINAL_NOT_ALLOWED,
                f"{RULE_NOMINAL}; not allowed: channel {channel.channel} "
                "(ask for the non-nominal version with non_nominal: true)",
                path="channel",
            )
        return Plan(
            audience=Audience(),
            stripped=without_nominal(notice),
            stripped_audience=Audience(channel=channel),
            withheld=(),
        )
    named = list(recipients)
    stripped_to: list[AgencyId] = []  # named recipients barred from nominal data
    stripped_subscribers: list[AgencyId] = []
    if nominal:
        barred = [a for a in named if not nominal_allowed(ctx.config, a)]
        if barred and not non_nominal:
            raise TrustError(
                ReasonCode.NOMINAL_NOT_ALLOWED,
                f"{RULE_NOMINAL}; not allowed: {', '.join(barred)} "
                "(ask for the non-nominal version for them with non_nominal: true)",
                path="recipients",
            )
        named = [a for a in named if a not in barred]
        stripped_to += barred
    withheld: list[tuple[AgencyId, str]] = []
    subscribers: list[AgencyId] = []
    for agency in subscribed:
        if agency in recipients or agency == ctx.agency:
            continue
        rule = subscriber_rule(handling)
        if rule is None and nominal and not nominal_allowed(ctx.config, agency, subscriber=True):
            if non_nominal:
                stripped_subscribers.append(agency)
                continue
            rule = RULE_NOMINAL
        if rule is None:
            subscribers.append(agency)
        else:
            withheld.append((agency, rule))
    copy_wanted = bool(stripped_to or stripped_subscribers)
    stripped = without_nominal(notice) if copy_wanted else None
    if not named and not subscribers and not copy_wanted:
        raise InputError(ReasonCode.MISSING_FIELD, "name at least one recipient", path="recipients")
    return Plan(
        audience=Audience(agencies=tuple(named), subscribers=tuple(subscribers)),
        stripped=stripped,
        stripped_audience=Audience(
            agencies=tuple(sorted(set(stripped_to))), subscribers=tuple(stripped_subscribers)
        ),
        withheld=tuple(withheld),
    )
