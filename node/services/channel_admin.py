"""What a channel owner's node does: found a channel, change its members, sign proposals.

Every change is a new membership version signed with this agency's key. When
this node's signature completes the owners' threshold, the version is
applied here at once (and the caller passes it on); otherwise the caller gets
the proposal back, to hand to the other owners, whose nodes add their
signatures with ``sign_proposal`` until the threshold is met.

A proposal another owner made is never signed blind: ``review_proposal``
says what it changes against the version in force here and who has signed
it, and ``sign_proposal`` signs only what the caller confirmed by its
fingerprint, naming any change that gives power away
(``rules.channel_signing``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import aiohttp
from sqlalchemy import Connection

from baliza.crypto.channel_review import (
    MembershipChanges,
    change_lines,
    membership_changes,
    membership_fingerprint,
)
from baliza.crypto.channels import (
    owners_who_signed,
    parse_membership,
    propose_membership,
    sign_membership,
)
from baliza.node.core.clock import now_ms
from baliza.node.services.channel_sync import ChannelSync
from baliza.node.services.channels import Applied, apply_chain, owner_keys
from baliza.node.services.context import NodeContext
from baliza.node.services.fedclient import request_join
from baliza.node.services.rules.channel_signing import (
    NamedChange,
    changes_to_name,
    check_signing,
)
from baliza.node.storage.channels import JoinRequest, JoinState
from baliza.node.storage.sql import channels as channel_rows
from baliza.protocol.canonical import Limits, decode
from baliza.protocol.channels import ChannelKind, Membership, SignedMembership
from baliza.protocol.errors import InputError, ReasonCode, TrustError
from baliza.protocol.fields import FieldReader, check_enum, check_int, check_str
from baliza.protocol.ids import AgencyId, ChannelId, agency_id, channel_id
from baliza.protocol.notices.common import Programme

DAY_MS = 24 * 3600 * 1000
MAX_VALID_DAYS = 730
JOIN_LIMITS = Limits(max_size=4096, max_depth=1, max_items=4, max_str=500)


@dataclass(frozen=True, slots=True, kw_only=True)
class Signed:
    """The outcome of signing: applied here, or a proposal still waiting for owners."""

    proposal: bytes
    applied: Applied | None
    signed_by: tuple[AgencyId, ...]
    threshold: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnerState:
    """An owner of the version in force or of the proposal, and whether its signature verifies."""

    agency: AgencyId
    in_force: bool
    proposed: bool
    signed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ProposalReview:
    """What an owner reads before signing: changes against the version in force, who signed."""

    changes: MembershipChanges
    fingerprint: str
    must_name: frozenset[NamedChange]
    owners: tuple[OwnerState, ...]
    threshold_in_force: int | None
    threshold_proposed: int

    @property
    def lines(self) -> list[str]:
        """The changes in English lines (the command line prints them)."""
        return change_lines(self.changes)

    @property
    def signed_by(self) -> tuple[AgencyId, ...]:
        """The owners (in force or proposed) whose signature on the proposal verifies."""
        return tuple(o.agency for o in self.owners if o.signed)

    def to_json(self) -> dict[str, object]:
        """The API's form (``POST /api/v1/channels/{channel}/proposals/review``)."""
        return {
            "channel": self.changes.channel,
            "version": self.changes.version,
            "in_force": self.changes.in_force,
            "fingerprint": self.fingerprint,
            "changes": self.changes.to_json(),
            "lines": self.lines,
            "must_name": sorted(n.value for n in self.must_name),
            "owners": [
                {
                    "agency": o.agency,
                    "in_force": o.in_force,
                    "proposed": o.proposed,
                    "signed": o.signed,
                }
                for o in self.owners
            ],
            "signed_by": list(self.signed_by),
            "threshold": {"in_force": self.threshold_in_force, "proposed": self.threshold_proposed},
        }


def agencies_from_json(raw: Any, path: str) -> tuple[AgencyId, ...]:
    """A JSON list of agency ids, sorted and unique; errors name the item."""
    if not isinstance(raw, list):
        raise InputError(ReasonCode.WRONG_TYPE, "must be a list of agency ids", path=path)
    return tuple(sorted({agency_id(a, f"{path}[{i}]") for i, a in enumerate(raw)}))


def membership_from_json(body: Any, *, me: AgencyId, now: int) -> Membership:
    """Version 1 of a new channel from ``POST /api/v1/channels``; errors name the field."""
    if not isinstance(body, dict):
        raise InputError(ReasonCode.WRONG_TYPE, "the body must be a JSON object")
    allowed = {"id", "kind", "name", "programme", "owners", "threshold", "members", "valid_days"}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InputError(ReasonCode.UNKNOWN_FIELD, "is not a known field", path=unknown[0])
    for required in ("id", "kind", "name", "members"):
        if required not in body:
            raise InputError(ReasonCode.MISSING_FIELD, "is required", path=required)
    owners = agencies_from_json(body.get("owners", [me]), "owners")
    if me not in owners:
        raise InputError(ReasonCode.INCONSISTENT, "this agency must be an owner", path="owners")
    members = tuple(sorted({*agencies_from_json(body["members"], "members"), *owners}))
    days = check_int(body.get("valid_days", 180), "valid_days", lo=1, hi=MAX_VALID_DAYS)
    programme = body.get("programme")
    return Membership(
        channel=channel_id(body["id"], "id"),
        kind=check_enum(body["kind"], "kind", ChannelKind),
        name=check_str(body["name"], "name", min_len=1, max_len=200),
        programme=None if programme is None else check_enum(programme, "programme", Programme),
        owners=owners,
        threshold=check_int(body.get("threshold", 1), "threshold", lo=1, hi=len(owners)),
        members=members,
        version=1,
        issued_ms=now,
        expires_ms=now + days * DAY_MS,
    )


async def found_channel(ctx: NodeContext, membership: Membership) -> Signed:
    """Sign version 1 of a new channel; apply it if this owner alone meets the threshold."""
    existing = await ctx.db.run(
        partial(channel_rows.latest, channel=membership.channel), write=False
    )
    if existing is not None:
        raise InputError(
            ReasonCode.CONFLICT, f"channel {membership.channel} exists already", path="id"
        )
    return await _sign_and_apply(ctx, propose_membership(membership))


async def change_members(
    ctx: NodeContext,
    channel: ChannelId,
    *,
    add: tuple[AgencyId, ...] = (),
    remove: tuple[AgencyId, ...] = (),
    valid_days: int | None = None,
    expect_version: int | None = None,
) -> Signed:
    """Sign the next version of ``channel`` with members added or removed.

    With ``expect_version`` (the version in force when the change was shown
    to the person signing it), a channel that moved on since is refused
    (``CONFLICT``): nobody signs a change against a version it did not read.
    """
    held, proposal = await _next_version(
        ctx, channel, add=add, remove=remove, valid_days=valid_days
    )
    if expect_version is not None and held.membership.version != expect_version:
        raise InputError(
            ReasonCode.CONFLICT,
            f"{channel} is at version {held.membership.version} now, not {expect_version}: "
            "read the change again",
            path="version",
        )
    return await _sign_and_apply(ctx, propose_membership(proposal))


async def preview_members(
    ctx: NodeContext,
    channel: ChannelId,
    *,
    add: tuple[AgencyId, ...] = (),
    remove: tuple[AgencyId, ...] = (),
) -> MembershipChanges:
    """What ``change_members`` would sign, against the version in force; nothing is signed.

    The same checks as signing (an owner's node, no owner removed), so a
    change shown is one that can be signed.
    """
    held, proposal = await _next_version(ctx, channel, add=add, remove=remove, valid_days=None)
    return membership_changes(held.membership, proposal)


def preview_founding(membership: Membership) -> MembershipChanges:
    """What founding ``membership`` would sign: everything in it is new."""
    return membership_changes(None, membership)


async def _next_version(
    ctx: NodeContext,
    channel: ChannelId,
    *,
    add: tuple[AgencyId, ...],
    remove: tuple[AgencyId, ...],
    valid_days: int | None,
) -> tuple[SignedMembership, Membership]:
    """The version held here and the next one, members added and removed (unsigned)."""
    now = now_ms()
    latest = await ctx.db.run(partial(channel_rows.latest, channel=channel), write=False)
    if latest is None:
        raise InputError(
            ReasonCode.NOT_FOUND, f"this node knows no channel {channel}", path="channel"
        )
    held = parse_membership(latest.raw)
    current = held.membership
    if ctx.agency not in current.owners:
        raise TrustError(ReasonCode.NOT_AN_OWNER, f"{ctx.agency} does not own {channel}")
    for i, agency in enumerate(remove):
        if agency in current.owners:
            raise InputError(
                ReasonCode.INCONSISTENT,
                "an owner cannot be removed by a member change",
                path=f"remove[{i}]",
            )
    members = tuple(sorted((set(current.members) | set(add)) - set(remove)))
    lifetime = current.expires_ms - current.issued_ms
    return held, Membership(
        channel=current.channel,
        kind=current.kind,
        name=current.name,
        programme=current.programme,
        owners=current.owners,
        threshold=current.threshold,
        members=members,
        version=current.version + 1,
        issued_ms=now,
        expires_ms=now + (valid_days * DAY_MS if valid_days else lifetime),
        founding=held.founding,
    )


async def review_proposal(
    ctx: NodeContext, proposal: bytes, *, channel: ChannelId | None = None
) -> ProposalReview:
    """What ``proposal`` changes against the version in force here, and who has signed it.

    Reads only. With ``channel``, a proposal for another channel is refused
    (``INCONSISTENT``); bytes that are not a proposal raise ``InputError``.
    """
    document = _parse_proposal(proposal)
    offered = document.membership
    if channel is not None and offered.channel != channel:
        raise InputError(
            ReasonCode.INCONSISTENT, f"a proposal for {offered.channel}", path="proposal"
        )
    latest = await ctx.db.run(partial(channel_rows.latest, channel=offered.channel), write=False)
    current = parse_membership(latest.raw).membership if latest is not None else None
    changes = membership_changes(current, offered)
    in_force_owners = set(current.owners) if current else set()
    everyone = sorted(in_force_owners | set(offered.owners))
    signed = owners_who_signed(document, everyone, owner_keys(ctx.trust))
    return ProposalReview(
        changes=changes,
        fingerprint=membership_fingerprint(document.signed),
        must_name=changes_to_name(changes, ctx.agency),
        owners=tuple(
            OwnerState(
                agency=a,
                in_force=a in in_force_owners,
                proposed=a in offered.owners,
                signed=a in signed,
            )
            for a in everyone
        ),
        threshold_in_force=current.threshold if current else None,
        threshold_proposed=offered.threshold,
    )


async def sign_proposal(
    ctx: NodeContext,
    proposal: bytes,
    *,
    confirm: str | None,
    accept: frozenset[NamedChange] = frozenset(),
    channel: ChannelId | None = None,
) -> Signed:
    """Add this owner's signature to another owner's ``proposal`` if the caller consented.

    The proposal is reviewed here against the version in force (never
    against what the caller was shown elsewhere); ``confirm`` must be its
    fingerprint and ``accept`` must name every change that gives power away
    (``rules.channel_signing``). Raises ``NOT_AN_OWNER`` when this agency owns
    neither the channel nor the proposed version, ``INCONSISTENT`` for a
    proposal of another ``channel``. Applied here if the threshold is met.
    """
    review = await review_proposal(ctx, proposal, channel=channel)
    owners = {o.agency for o in review.owners}
    if ctx.agency not in owners:
        raise TrustError(
            ReasonCode.NOT_AN_OWNER,
            f"{ctx.agency} owns neither {review.changes.channel} nor the proposed version",
            path="proposal",
        )
    changes = review.changes
    if changes.in_force is not None and changes.version <= changes.in_force:
        # At a version held here: the same bytes change nothing (refused below
        # as a rollback), but other bytes contradict the chain held (another
        # founding, a fork) and are refused by the chain's rules, as an alarm.
        await apply_chain(ctx, [proposal], actor=f"signed by {ctx.agency}")
    check_signing(changes, review.fingerprint, ctx.agency, confirm=confirm, accept=accept)
    return await _sign_and_apply(ctx, proposal)


def _parse_proposal(proposal: bytes) -> SignedMembership:
    try:
        return parse_membership(proposal)
    except InputError as err:
        raise err.at("proposal") from None


async def _sign_and_apply(ctx: NodeContext, proposal: bytes) -> Signed:
    """Add this owner's signature to ``proposal``; apply it here if the threshold is now met."""
    signed = sign_membership(proposal, ctx.signing_keys())
    document = parse_membership(signed)
    m = document.membership
    latest = await ctx.db.run(partial(channel_rows.latest, channel=m.channel), write=False)
    # Who signed, among the owners in force as well as the proposed ones: a
    # proposal that drops an owner still needs (and shows) its signature.
    in_force = parse_membership(latest.raw).membership if latest is not None else None
    owners = {*m.owners, *(in_force.owners if in_force is not None else ())}
    signers = owners_who_signed(document, sorted(owners), owner_keys(ctx.trust))
    applied = None
    # In force once both the owners in force and the proposed ones have their threshold.
    if len(signers & set(m.owners)) >= m.threshold and (
        in_force is None or len(signers & set(in_force.owners)) >= in_force.threshold
    ):
        applied = await apply_chain(ctx, [signed], actor=f"signed by {ctx.agency}")
    return Signed(
        proposal=signed,
        applied=applied,
        signed_by=tuple(sorted(signers)),
        threshold=m.threshold,
    )


async def ask_owner_to_join(
    ctx: NodeContext,
    http: aiohttp.ClientSession,
    channel: ChannelId,
    owner: AgencyId,
    note: str,
) -> None:
    """Ask ``owner``'s node to admit this agency to a programme channel (it records it pending)."""
    if owner == ctx.agency:  # it would ask itself over HTTP and relay its own refusal
        raise InputError(
            ReasonCode.INCONSISTENT, "this agency cannot ask itself to join", path="owner"
        )
    note = check_str(note, "note", min_len=0, max_len=500)
    try:
        peer = ctx.trust.peer(owner, now_ms())
    except TrustError as err:
        raise InputError(ReasonCode.NOT_FOUND, err.detail, path="owner") from None
    await request_join(http, ctx.signing_keys(), peer, channel, note)


async def decide_alarm(
    ctx: NodeContext, sync: ChannelSync, channel: ChannelId, source: AgencyId | None
) -> Applied | None:
    """Keep the chain held (``source`` None) or replace it with the one ``source`` holds.

    Sends to the channel resume either way (``ChannelSync.resolve_alarm``);
    a source the directory does not list is refused as ``NOT_FOUND``.
    """
    peer = None
    if source is not None:
        try:
            peer = ctx.trust.peer(source, now_ms())
        except TrustError as err:
            raise InputError(ReasonCode.NOT_FOUND, err.detail, path="from") from None
    actor = f"administrator of {ctx.agency}"
    return await sync.resolve_alarm(channel, source=peer, actor=actor)


def decode_join(body: bytes) -> str:
    """The note of a join request body (canonical ``{"note": str}``)."""
    reader = FieldReader(decode(body, JOIN_LIMITS))
    note = reader.opt_text("note", max_len=500) or ""
    reader.finish()
    return note


async def ask_to_join(
    ctx: NodeContext, channel: ChannelId, agency: AgencyId, note: str
) -> JoinState:
    """Record ``agency``'s request to join a programme channel this node owns.

    JITs are closed (``WRONG_CHANNEL``): their owners admit. An agency
    already in the channel gets ``approved`` back; asking twice keeps the
    first request.
    """
    return await ctx.db.run(
        partial(
            _ask_to_join, me=ctx.agency, channel=channel, agency=agency, note=note, now=now_ms()
        ),
        write=True,
    )


def _ask_to_join(
    connection: Connection,
    *,
    me: AgencyId,
    channel: ChannelId,
    agency: AgencyId,
    note: str,
    now: int,
) -> JoinState:
    """Unit of work: check the channel is an open one owned here, then record the request.

    A JIT is closed, and its existence is for those who were ever in it: to
    anyone else it answers exactly as a channel this node does not own.
    Programme channels are open to join requests, so they are no secret.
    """
    latest = channel_rows.latest(connection, channel)
    if (
        latest is None
        or me not in latest.owners
        or (
            latest.kind != ChannelKind.PROGRAMME.value
            and not channel_rows.ever_member(connection, channel, agency)
        )
    ):
        raise InputError(
            ReasonCode.NOT_FOUND, f"this node owns no channel {channel}", path="channel"
        )
    if latest.kind != ChannelKind.PROGRAMME.value:
        raise TrustError(
            ReasonCode.WRONG_CHANNEL,
            f"{channel} is a JIT: closed, its owners admit members",
            path="channel",
        )
    if agency in latest.members:
        return JoinState.APPROVED
    request = JoinRequest(
        channel=channel, agency=agency, requested_ms=now, note=note, state=JoinState.PENDING
    )
    if channel_rows.request_join(connection, request):
        return JoinState.PENDING
    return channel_rows.join_state(connection, channel, agency) or JoinState.PENDING


async def decide_join(
    ctx: NodeContext, channel: ChannelId, agency: AgencyId, *, approve: bool
) -> Signed | None:
    """Approve (a new version with ``agency`` in it) or refuse a pending join request.

    The new version is signed before the request is marked approved, so a
    failure leaves the request pending rather than approved with nobody added.
    """
    asked = await ctx.db.run(
        partial(channel_rows.join_state, channel=channel, agency=agency), write=False
    )
    if asked is not JoinState.PENDING:
        raise InputError(
            ReasonCode.NOT_FOUND, f"no pending request of {agency} for {channel}", path="agency"
        )
    signed = await change_members(ctx, channel, add=(agency,)) if approve else None
    state = JoinState.APPROVED if approve else JoinState.REFUSED
    await ctx.db.run(
        partial(
            channel_rows.decide_join, channel=channel, agency=agency, state=state, now_ms=now_ms()
        ),
        write=True,
    )
    return signed
