"""Channels: programme feeds and JITs whose member lists are signed by their owners.

A node keeps every membership version it accepted (``storage.sql.channels``).
Versions arrive three ways, all through ``apply_chain``: an owner here signs
one (API or CLI), a member pushes one (``POST /fed/v1/channels``), or this
node pulls what it missed from the owners. Each version passes the rules of
``baliza.crypto.channels`` against the one in force, a chain is applied all
or nothing, and a version new here is passed on to the other members of the
old and new lists, so a removed member hears of its removal and a new one of
its admission.

A chain that contradicts the one held (another founding under the same id,
another kind, a fork at any version, a version no current owner signed) or
that starts a channel anywhere but at its version 1 is refused **and raised
as an alarm**: a ``channel.conflict`` trust event (``channel_alarms`` reads
them for the status, the console and the CLI) and the counter
``baliza_channel_conflicts_total``. Nothing that contradicts the chain held
is ever skipped in silence: someone is squatting the channel's id, or its
owners signed two histories.

The roster of a version answers the recipient resolver's question "who is in
this channel at version N" for sending (seal to the latest version's members)
and receiving (``check_channel_envelope``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from sqlalchemy import Connection

from baliza.crypto import PublicKeys
from baliza.crypto.channels import (
    IsMember,
    OwnerKeys,
    admit_membership,
    check_known,
    parse_membership,
)
from baliza.node.core.clock import now_ms
from baliza.node.core.trust import TrustView
from baliza.node.services.context import NodeContext
from baliza.node.services.recipients import ChannelRoster
from baliza.node.services.rules.audience import check_jit_kind
from baliza.node.services.rules.channel_reach import last_visible
from baliza.node.storage.channels import StoredMembership
from baliza.node.storage.sql import channels as channel_rows
from baliza.node.storage.sql import trust as trust_rows
from baliza.node.storage.trust import TrustEvent
from baliza.protocol.channels import SignedMembership
from baliza.protocol.envelope import Header
from baliza.protocol.errors import InputError, ReasonCode, StorageError, TrustError
from baliza.protocol.ids import AgencyId, ChannelId, KeyId

log = logging.getLogger(__name__)

MAX_CHAIN = 50
# Signature entries a chain may carry and still be checked on the event loop.
INLINE_SIGNATURES = 8
CONFLICT_EVENT = "channel.conflict"
CONFLICT_METRIC = "baliza_channel_conflicts_total"
# Refusals that mean the chain offered contradicts the one held, or tries to
# start a channel past its founding: an attack or a split, never routine.
# (An expired version, an unknown directory member or a threshold not yet
# met can be honest lag; they are refused without an alarm.)
ALARMS = frozenset(
    {
        ReasonCode.CHANNEL_CONFLICT,
        ReasonCode.CHANNEL_UNFOUNDED,
        ReasonCode.MEMBERSHIP_FORK,
        ReasonCode.MEMBERSHIP_MISMATCH,
        ReasonCode.NOT_AN_OWNER,
    }
)
# Alarms that leave this node unable to tell which of two histories of a
# channel it holds is genuine: another founding, another kind, or other
# bytes at a version held. Until its administrator decides, the node seals
# nothing to the channel (``channel_under_alarm``), unless this agency owns
# the chain it holds (it signed that history itself). The other alarms
# (a version no owner signed, a chain not starting at version 1) leave the
# chain held beyond doubt, and sends go on.
PAUSING = frozenset(
    {ReasonCode.CHANNEL_CONFLICT, ReasonCode.MEMBERSHIP_FORK, ReasonCode.MEMBERSHIP_MISMATCH}
)
PAUSE_METRIC = "baliza_channel_sends_paused_total"
RESOLVED_EVENT = "channel.alarm_resolved"


def owner_keys(trust: TrustView) -> OwnerKeyLookup:
    """The directory's answer to "which key of this owner signed, and was it valid then"."""
    return OwnerKeyLookup(trust)


@dataclass(frozen=True, slots=True)
class OwnerKeyLookup:
    """Looks owners' keys up in the trusted directory (rotation and revocation included)."""

    trust: TrustView

    def __call__(self, agency: AgencyId, key: KeyId, at_ms: int) -> PublicKeys:
        return self.trust.sender_key(agency, key, at_ms, now_ms()).keys


def is_member(trust: TrustView) -> IsDirectoryMember:
    """Whether the federation directory in force lists an agency."""
    return IsDirectoryMember(trust)


@dataclass(frozen=True, slots=True)
class IsDirectoryMember:
    """The directory's member list, as a predicate."""

    trust: TrustView

    def __call__(self, agency: AgencyId) -> bool:
        directory = self.trust.directory
        return directory is not None and directory.directory.member(agency) is not None


def roster(membership: StoredMembership) -> ChannelRoster:
    """The resolver's view of one stored membership version."""
    return ChannelRoster(
        channel=ChannelId(membership.channel),
        version=membership.version,
        members=frozenset(AgencyId(a) for a in membership.members),
    )


def stored(document: SignedMembership, raw: bytes, applied_ms: int) -> StoredMembership:
    """The storage record of an accepted signed membership."""
    m = document.membership
    return StoredMembership(
        channel=m.channel,
        version=m.version,
        kind=m.kind.value,
        applied_ms=applied_ms,
        expires_ms=m.expires_ms,
        members=m.members,
        owners=m.owners,
        raw=raw,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Applied:
    """What applying a chain changed: the version now in force and who must hear of it."""

    channel: ChannelId
    version: int
    previous: StoredMembership | None
    chain: tuple[bytes, ...]
    members: frozenset[AgencyId]

    @property
    def audience(self) -> frozenset[AgencyId]:
        """Members of the old and the new list: removed ones hear of their removal."""
        old = (
            frozenset(AgencyId(a) for a in self.previous.members) if self.previous else frozenset()
        )
        return old | self.members


async def apply_chain(
    ctx: NodeContext, chain: Sequence[bytes], *, actor: str, replacing: bool = False
) -> Applied | None:
    """Apply membership versions of one channel in order; return what changed (None: nothing).

    Versions this node already holds (same bytes) are skipped; every other one
    must pass the update rules against the one before it; only the last must be
    unexpired. All or nothing: a refusal raises with the rule's reason code and
    stores nothing. The same chain may arrive twice at once (a push and a
    pull); the loser of that race checks again against what the winner stored.

    ``replacing``: the administrator's decision on a channel under alarm
    (``resolve_alarm``): the chain is admitted as if nothing were held, from
    its version 1, and replaces the chain held in the same transaction.
    """
    try:
        return await _apply_chain(ctx, chain, actor=actor, replacing=replacing)
    except StorageError as err:
        if err.reason != ReasonCode.CONFLICT or replacing:
            raise
        return await _apply_chain(ctx, chain, actor=actor)


async def _apply_chain(
    ctx: NodeContext, chain: Sequence[bytes], *, actor: str, replacing: bool = False
) -> Applied | None:
    if not chain:
        return None
    if len(chain) > MAX_CHAIN:
        raise InputError(ReasonCode.BAD_LENGTH, f"at most {MAX_CHAIN} versions", path="chain")
    documents = [parse_membership(raw) for raw in chain]
    channels = {d.membership.channel for d in documents}
    if len(channels) != 1:
        raise InputError(ReasonCode.INCONSISTENT, "one channel per chain", path="chain")
    channel = ChannelId(channels.pop())
    now = now_ms()
    previous, held_raw = await ctx.db.run(
        partial(_held, channel=channel, versions=[d.membership.version for d in documents]),
        write=False,
    )
    current = parse_membership(previous.raw) if previous else None
    held = {n: parse_membership(raw).signed for n, raw in held_raw.items()}
    if replacing:
        current, held = None, {}
    keys = CountedOwnerKeys(owner_keys(ctx.trust))
    admit = partial(
        _admit_in_order,
        current,
        held,
        documents,
        chain,
        owner_keys=keys,
        is_member=is_member(ctx.trust),
        now=now,
    )
    # Up to 50 versions of 16 hybrid signatures each: checked on a worker
    # thread when there are more than a few, so the event loop keeps serving.
    try:
        if sum(len(d.signatures) for d in documents) > INLINE_SIGNATURES:
            fresh = await asyncio.to_thread(admit)
        else:
            fresh = admit()
    except TrustError as err:
        if err.reason in ALARMS and not replacing:
            await _raise_alarm(ctx, channel, err, documents, current, actor=actor, now=now)
        raise
    finally:
        ctx.count("baliza_channel_signature_checks_total", keys.calls)
    if not fresh:
        return None
    newest = fresh[-1][0].membership
    await ctx.db.run(
        partial(
            _replace_versions if replacing else _store_versions,
            versions=[stored(document, raw, now) for document, raw in fresh],
            at_ms=now,
            actor=actor,
        ),
        write=True,
    )
    ctx.count("baliza_channel_versions_applied_total", len(fresh))
    log.info("channel %s version %d in force", newest.channel, newest.version)
    return Applied(
        channel=channel,
        version=newest.version,
        # A replaced chain's members are not this channel's: it goes to the new ones.
        previous=None if replacing else previous,
        chain=tuple(raw for _, raw in fresh),
        members=frozenset(newest.members),
    )


def _admit_in_order(
    current: SignedMembership | None,
    held: dict[int, bytes],
    documents: Sequence[SignedMembership],
    chain: Sequence[bytes],
    *,
    owner_keys: OwnerKeys,
    is_member: IsMember,
    now: int,
) -> list[tuple[SignedMembership, bytes]]:
    """The versions new here, each admitted against the one before it (pure CPU, no I/O).

    ``held``: the versions this node holds among those the chain names; a
    version not newer than the one in force changes nothing but must not
    contradict the chain held (``check_known``).
    """
    fresh: list[tuple[SignedMembership, bytes]] = []
    for position, (document, raw) in enumerate(
        sorted(zip(documents, chain, strict=True), key=lambda d: d[0].membership.version)
    ):
        version = document.membership.version
        if current is not None and version <= current.membership.version:
            check_known(current, document, held.get(version))
            continue
        current = admit_membership(
            current,
            raw,
            owner_keys=owner_keys,
            is_member=is_member,
            now_ms=now,
            final=position == len(chain) - 1,
        )
        fresh.append((current, raw))
    return fresh


class CountedOwnerKeys:
    """An ``OwnerKeys`` that counts its look-ups: one per owner signature the rules check.

    The count is reported as ``baliza_channel_signature_checks_total``, so
    what a push cost this node is a number an operator (and a test) can read.
    """

    def __init__(self, inner: OwnerKeys) -> None:
        self._inner = inner
        self.calls = 0

    def __call__(self, agency: AgencyId, key: KeyId, at_ms: int) -> PublicKeys:
        self.calls += 1
        return self._inner(agency, key, at_ms)


def _held(
    connection: Connection, *, channel: str, versions: list[int]
) -> tuple[StoredMembership | None, dict[int, bytes]]:
    """Unit of work: the version in force and the held versions a chain names."""
    return channel_rows.latest(connection, channel), channel_rows.raw_at(
        connection, channel, versions
    )


async def _raise_alarm(
    ctx: NodeContext,
    channel: ChannelId,
    err: TrustError,
    offered: Sequence[SignedMembership],
    held: SignedMembership | None,
    *,
    actor: str,
    now: int,
) -> None:
    """Record a refused, contradicting chain as an alarm: a trust event and a counter."""
    first = min(offered, key=lambda d: d.membership.version)
    detail: dict[str, object] = {
        "reason": err.reason.value,
        "detail": err.detail,
        "offered_versions": sorted(d.membership.version for d in offered),
        "offered_founding": first.founding.hex(),
        "offered_owners": list(first.membership.owners),
        "offered_kind": first.membership.kind.value,
        "held_version": held.membership.version if held else None,
        "held_founding": held.founding.hex() if held else None,
        "held_owners": list(held.membership.owners) if held else [],
    }
    pause = err.reason in PAUSING and held is not None and ctx.agency not in held.membership.owners
    ctx.count(CONFLICT_METRIC)
    log.warning("ALARM channel %s: %s (%s): %s", channel, err.reason.value, actor, err.detail)
    paused = await ctx.db.run(
        partial(_record_alarm, channel=channel, actor=actor, detail=detail, at_ms=now, pause=pause),
        write=True,
    )
    if paused:
        ctx.count(PAUSE_METRIC)
        log.warning("channel %s: sends paused until an administrator keeps or replaces it", channel)


def _record_alarm(
    connection: Connection,
    *,
    channel: str,
    actor: str,
    detail: dict[str, object],
    at_ms: int,
    pause: bool,
) -> bool:
    """Unit of work: a ``channel.conflict`` trust event, unless the newest one says the same.

    A peer that keeps offering the same contradicting chain (a courier
    retrying) raises one alarm, not one per retry; the counter counts each.
    With ``pause``, sends to the channel stop here until an administrator
    decides; True if this alarm paused them (they were not paused already).
    """
    paused = pause and channel_rows.open_alarm(
        connection, channel, at_ms=at_ms, reason=str(detail["reason"]), actor=actor
    )
    for event in trust_rows.events_of(connection, action=CONFLICT_EVENT, limit=20):
        if event.subject == channel:
            said = {k: v for k, v in event.detail.items() if k != "sends_paused"}
            if event.actor == actor and said == detail:
                return paused
            break
    trust_rows.record_event(
        connection,
        at_ms=at_ms,
        actor=actor,
        action=CONFLICT_EVENT,
        subject=channel,
        detail={**detail, "sends_paused": pause},
    )
    return paused


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelAlarm:
    """A refused chain that contradicted the one held: what the status and console show."""

    at_ms: int
    channel: str
    reason: str
    actor: str
    detail: str
    offered_owners: tuple[str, ...]
    held_owners: tuple[str, ...]

    @classmethod
    def of(cls, event: TrustEvent) -> ChannelAlarm:
        """The alarm a ``channel.conflict`` trust event records."""
        d = event.detail
        return cls(
            at_ms=event.at_ms,
            channel=event.subject,
            reason=str(d.get("reason", "")),
            actor=event.actor,
            detail=str(d.get("detail", "")),
            offered_owners=tuple(str(a) for a in d.get("offered_owners", ())),
            held_owners=tuple(str(a) for a in d.get("held_owners", ())),
        )

    def to_json(self) -> dict[str, object]:
        """The JSON form of the status endpoint."""
        return {
            "at_ms": self.at_ms,
            "channel": self.channel,
            "reason": self.reason,
            "actor": self.actor,
            "detail": self.detail,
            "offered_owners": list(self.offered_owners),
            "held_owners": list(self.held_owners),
        }


async def channel_alarms(ctx: NodeContext, limit: int = 20) -> list[ChannelAlarm]:
    """The newest channel conflict alarms, newest first."""
    events = await ctx.db.run(
        partial(trust_rows.events_of, action=CONFLICT_EVENT, limit=limit), write=False
    )
    return [ChannelAlarm.of(e) for e in events]


def _store_versions(
    connection: Connection, *, versions: list[StoredMembership], at_ms: int, actor: str
) -> None:
    """Unit of work: store accepted versions, oldest first, and the trust event naming them."""
    channel_rows.add(connection, versions)
    newest = versions[-1]
    trust_rows.record_event(
        connection,
        at_ms=at_ms,
        actor=actor,
        action="channel.membership",
        subject=f"{newest.channel} version {newest.version}",
        detail={
            "kind": newest.kind,
            "members": list(newest.members),
            "owners": list(newest.owners),
            "versions": [v.version for v in versions],
        },
    )


def _replace_versions(
    connection: Connection, *, versions: list[StoredMembership], at_ms: int, actor: str
) -> None:
    """Unit of work: the chain held under alarm out, ``versions`` in, the alarm closed.

    The forgotten chain's signed bytes stay in the trust event as evidence of
    what this node was offered and held.
    """
    channel = versions[0].channel
    if channel_rows.alarm_reason(connection, channel) is None:
        raise InputError(
            ReasonCode.NOT_FOUND,
            f"sends to {channel} are not paused: a chain is replaced only under an alarm",
            path="channel",
        )
    forgotten = channel_rows.forget(connection, channel)
    channel_rows.close_alarm(connection, channel)
    _record_resolution(
        connection,
        channel=channel,
        at_ms=at_ms,
        actor=actor,
        decision="replace",
        founding=versions[0].raw,
        forgotten=[raw.hex() for raw in forgotten],
    )
    _store_versions(connection, versions=versions, at_ms=at_ms, actor=actor)


def keep_held(connection: Connection, *, channel: str, at_ms: int, actor: str) -> None:
    """Unit of work: the administrator keeps the chain held; sends to ``channel`` resume."""
    if not channel_rows.close_alarm(connection, channel):
        raise InputError(ReasonCode.NOT_FOUND, f"sends to {channel} are not paused", path="channel")
    held = channel_rows.latest(connection, channel)
    _record_resolution(
        connection,
        channel=channel,
        at_ms=at_ms,
        actor=actor,
        decision="keep",
        founding=held.raw if held else None,
    )


def _record_resolution(
    connection: Connection,
    *,
    channel: str,
    at_ms: int,
    actor: str,
    decision: str,
    founding: bytes | None,
    **evidence: object,
) -> None:
    """The ``channel.alarm_resolved`` trust event: the decision and the founding now held."""
    trust_rows.record_event(
        connection,
        at_ms=at_ms,
        actor=actor,
        action=RESOLVED_EVENT,
        subject=channel,
        detail={
            "decision": decision,
            "founding": parse_membership(founding).founding.hex() if founding else None,
            **evidence,
        },
    )


async def paused_channels(ctx: NodeContext) -> list[str]:
    """The channels whose sends are paused here, under an alarm awaiting a decision."""
    return await ctx.db.run(channel_rows.paused, write=False)


def chain_for(
    connection: Connection, *, channel: str, agency: str, since: int, limit: int = MAX_CHAIN
) -> list[bytes]:
    """Unit-of-work body: the versions after ``since`` that ``agency`` may receive, oldest first.

    Up to the version that removed it, if it is not in the newest
    (``rules.channel_reach``); empty if it was never listed.
    """
    versions, listed = channel_rows.listing(connection, channel, agency)
    until = last_visible(versions, listed)
    return [
        v.raw for v in channel_rows.after(connection, channel, since, limit) if v.version <= until
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelView:
    """What ingest needs to know about the channel an envelope names."""

    at_version: StoredMembership | None
    later: tuple[StoredMembership, ...]


def check_channel_envelope(header: Header, view: ChannelView | None) -> ChannelRoster | None:
    """Refuse a channel envelope this node cannot accept; return the roster it was sealed to.

    Order: the kind may travel in this channel (``WRONG_CHANNEL``: case notices
    only in a JIT, and only in channels); the version is known here
    (``MEMBERSHIP_UNKNOWN``, retryable: the sender pushes it); no later
    version removed somebody (``MEMBERSHIP_STALE``, retryable: the sender
    re-seals for the current members). Membership of sender and receiver is
    the resolver's ``check_addressed``.

    A sender that is not a member of the version it names is answered as if
    this node did not hold that version at all: whether a channel exists, its
    kind and who left it are for its members (issue 17, item 16).
    """
    if header.channel is None:
        check_jit_kind(header.kind, None, path="header.kind")
        return None
    assert view is not None  # a channel header always gets a view
    if view.at_version is None or header.sender not in view.at_version.members:
        raise TrustError(
            ReasonCode.MEMBERSHIP_UNKNOWN,
            f"this node does not hold {header.channel} version {header.membership_version}",
            path="header.membership_version",
        )
    check_jit_kind(header.kind, view.at_version.kind, path="header.kind")
    sealed_to = set(view.at_version.members)
    for later in view.later:
        removed = sealed_to - set(later.members)
        if removed:
            raise TrustError(
                ReasonCode.MEMBERSHIP_STALE,
                f"sealed to version {view.at_version.version}; version {later.version} "
                f"removed {', '.join(sorted(removed))}: re-seal for the current members",
                path="header.membership_version",
            )
    return roster(view.at_version)


def describe(membership: StoredMembership, me: str) -> dict[str, object]:
    """A membership version as the API shows it."""
    document = parse_membership(membership.raw)
    m = document.membership
    return {
        "channel": m.channel,
        "kind": m.kind.value,
        "name": m.name,
        "programme": m.programme.value if m.programme else None,
        "version": m.version,
        "owners": list(m.owners),
        "threshold": m.threshold,
        "members": list(m.members),
        "issued_ms": m.issued_ms,
        "expires_ms": m.expires_ms,
        "founding": document.founding.hex(),
        "signed_by": sorted({s.agency for s in document.signatures}),
        "member": me in m.members,
        "owner": me in m.owners,
    }
