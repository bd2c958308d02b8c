"""Who receives a notice: the one place that decides it, for sending and receiving.

Rules of this file:

- A publication names its audience three ways: agencies typed by the
  publisher, a channel at one membership version, and the subscribers whose
  filter matched (the subscription service decides the match). ``resolve``
  turns that into recipients, each with the key set to seal to, the node to
  deliver to, and why it receives (``via``). Publishing, read receipts,
  channel posts and shares all ask it; nothing else looks up a recipient.
- ``check_addressed`` is the receiving side of the same rule: an envelope is
  for this node if its header names this agency, or names a channel at a
  membership version that lists it.
- Both are pure: the trust snapshot, the channel roster and the time are
  arguments, so the rules read and test without a database or a clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from baliza.crypto import PublicKeys
from baliza.node.core.trust import TrustView
from baliza.node.storage.recipients import Addressee
from baliza.protocol.envelope import Header
from baliza.protocol.errors import BalizaError, InputError, ReasonCode, TrustError
from baliza.protocol.ids import AgencyId, ChannelId

MAX_RECIPIENTS = 64


class Via(StrEnum):
    """Why an agency receives a notice."""

    NAMED = "named"  # the publisher named it
    CHANNEL = "channel"  # a member of the channel at the stated version
    SUBSCRIPTION = "subscription"  # its subscription's filter matched


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelRoster:
    """The members of a channel at one membership version, as the channel service knows it."""

    channel: ChannelId
    version: int
    members: frozenset[AgencyId]


@dataclass(frozen=True, slots=True, kw_only=True)
class Audience:
    """Who a publication is addressed to, as the publisher (or a rule) said it."""

    agencies: tuple[AgencyId, ...] = ()
    channel: ChannelRoster | None = None
    subscribers: tuple[AgencyId, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipient:
    """One receiving agency: the keys to seal to, its node, and why it receives."""

    agency: AgencyId
    keys: PublicKeys
    url: str
    via: Via


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolution:
    """The recipients of one publication, and the channel fields of its header."""

    recipients: tuple[Recipient, ...]
    channel: ChannelId | None = None
    membership_version: int | None = None

    @property
    def agencies(self) -> tuple[AgencyId, ...]:
        """The receiving agencies, sorted."""
        return tuple(r.agency for r in self.recipients)

    def sealing_keys(self, own: PublicKeys) -> list[PublicKeys]:
        """The key sets to wrap the content key for: every recipient's, and our own.

        The sender seals to itself too, so it can always read what it sent.
        """
        return [r.keys for r in self.recipients] + [own]

    def addressees(self) -> tuple[Addressee, ...]:
        """The recipients as the envelope repositories record them."""
        return tuple(Addressee(r.agency, r.via.value) for r in self.recipients)

    def via(self, agency: str) -> Via | None:
        """Why ``agency`` receives, or None if it does not."""
        return next((r.via for r in self.recipients if r.agency == agency), None)


def resolve(trust: TrustView, audience: Audience, *, me: AgencyId, now_ms: int) -> Resolution:
    """The recipients of ``audience`` as the directory in force says them now.

    Raises ``InputError`` naming ``recipients[i]`` for a named agency that is
    this one or not a member this node can send to, ``channel`` when this
    agency is not a member of the channel it posts to, and ``recipients`` when
    nobody (or more than ``MAX_RECIPIENTS``) would receive. A channel member
    or subscriber without a usable key now is left out rather than failing the
    whole publication: it cannot read anything sealed now anyway, and the
    channel owners see it in the roster.
    """
    chosen: dict[AgencyId, Recipient] = {}
    for i, agency in enumerate(audience.agencies):
        if agency == me:
            raise InputError(
                ReasonCode.INCONSISTENT, "do not list your own agency", path=f"recipients[{i}]"
            )
        try:
            chosen[agency] = _recipient(trust, agency, Via.NAMED, now_ms)
        except TrustError as err:
            raise InputError(
                ReasonCode.NOT_FOUND,
                f"{agency} is not a member this node can send to: {err.detail}",
                path=f"recipients[{i}]",
            ) from None
    roster = audience.channel
    if roster is not None:
        if me not in roster.members:
            raise InputError(
                ReasonCode.NOT_A_MEMBER,
                f"this agency is not a member of {roster.channel} at version {roster.version}",
                path="channel",
            )
        _add_quietly(chosen, trust, sorted(roster.members - {me}), Via.CHANNEL, now_ms)
    _add_quietly(chosen, trust, sorted(set(audience.subscribers) - {me}), Via.SUBSCRIPTION, now_ms)
    if not chosen and roster is None:
        raise InputError(ReasonCode.MISSING_FIELD, "name at least one recipient", path="recipients")
    if len(chosen) > MAX_RECIPIENTS:
        raise InputError(
            ReasonCode.BAD_LENGTH, f"at most {MAX_RECIPIENTS} recipients", path="recipients"
        )
    return Resolution(
        recipients=tuple(chosen[a] for a in sorted(chosen)),
        channel=roster.channel if roster else None,
        membership_version=roster.version if roster else None,
    )


def check_addressed(header: Header, *, me: AgencyId, roster: ChannelRoster | None) -> None:
    """Raise ``TrustError`` unless the envelope with ``header`` is for this agency.

    ``roster`` is the channel at the header's membership version, when the
    header names a channel and this node knows that version.
    """
    if header.channel is None:
        if me not in header.recipients:
            raise TrustError(ReasonCode.NOT_A_RECIPIENT, "this agency is not a recipient")
        return
    if roster is None or roster.channel != header.channel:
        raise TrustError(
            ReasonCode.NOT_A_RECIPIENT,
            f"this node does not know {header.channel} at version {header.membership_version}",
            path="header.membership_version",
        )
    if me not in roster.members:
        raise TrustError(
            ReasonCode.NOT_A_RECIPIENT,
            f"this agency is not a member of {header.channel} at version {roster.version}",
            path="header.channel",
        )
    if header.sender not in roster.members:
        raise TrustError(
            ReasonCode.NOT_A_MEMBER,
            f"{header.sender} is not a member of {header.channel} at version {roster.version}",
            path="header.sender",
        )


def header_recipients(header: Header, roster: ChannelRoster | None) -> tuple[AgencyId, ...]:
    """The agencies an envelope was addressed to, other than its sender."""
    named = set(header.recipients)
    if roster is not None and header.channel == roster.channel:
        named |= roster.members
    return tuple(sorted(named - {header.sender}))


def _recipient(trust: TrustView, agency: AgencyId, via: Via, now_ms: int) -> Recipient:
    peer = trust.peer(agency, now_ms)
    return Recipient(agency=peer.agency, keys=peer.keys, url=peer.url, via=via)


def _add_quietly(
    chosen: dict[AgencyId, Recipient],
    trust: TrustView,
    agencies: Sequence[AgencyId],
    via: Via,
    now_ms: int,
) -> None:
    for agency in agencies:
        if agency in chosen:
            continue
        try:
            chosen[agency] = _recipient(trust, agency, via, now_ms)
        except BalizaError:
            continue
