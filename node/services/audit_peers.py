"""Peers' audit logs as this node sees them: their signed heads, checked and kept (spec 11 §6).

A node keeps the newest head each peer gave it that checked, and checks
every new one against it (``check_peer_head``): the signature by the key
the directory in force gives the peer, then the verdict of
``rules.audit_heads``; a larger head is kept only once the peer's
consistency proof from the held head verifies. A head that contradicts the
one held (equivocation: same size, another root, or a failing consistency
proof; rollback: smaller and signed later) is **refused and raised as an
alarm**: both signed heads kept (the offered one in ``audit_peer_heads``
with ``accepted`` false, both in the detail of an ``audit.equivocation``
trust event, itself a leaf of this node's own log), the counter
``baliza_audit_equivocations_total``, a warning in the log, and the status
endpoint lists it (``audit_alarms``). The held head is not replaced: the
peer's next heads must still extend it.

Heads travel with federation traffic: after a successful push, a courier
checks the peer's head (``PeerHeads.after_push``), at most once per
``audit_peer_check_ms`` per peer; the peer serves it from memory. A sender
can ask a recipient for an inclusion proof of an envelope it delivered
(``prove_delivered``), verified against the recipient's head, which is
checked against the one held like any other.

Heads are also passed on (gossip, spec 11 §5): a node answers
``GET /fed/v1/audit/heads`` with the newest head it accepted of every
other member (``held_heads``), and after checking a peer's own head it
asks that peer for the heads it holds and checks each as if its signer had
offered it (``gossip_from``): its signature by the signer's key in this
node's directory, then consistency with the head held, the signer asked
for the proof. A member that signed two histories for two partners is
caught by either as soon as one passes on what it was given, even if they
never ask it directly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

import aiohttp
from sqlalchemy import Connection

from baliza.crypto.audit import verify_tree_head
from baliza.node.core.clock import now_ms
from baliza.node.core.trust import Peer
from baliza.node.services.context import NodeContext
from baliza.node.services.fedclient import (
    fetch_consistency,
    fetch_held_heads,
    fetch_inclusion,
    fetch_tree_head,
)
from baliza.node.services.rules.audit_heads import (
    HeadVerdict,
    check_extends,
    judge_peer_head,
    refusal,
)
from baliza.node.storage.sql import audit as audit_rows
from baliza.node.storage.sql import envelopes as envelope_rows
from baliza.node.storage.sql import trust as trust_rows
from baliza.node.storage.trust import TrustEvent
from baliza.protocol import merkle
from baliza.protocol.audit import (
    MAX_GOSSIP,
    AuditEntry,
    ConsistencyProof,
    EntryKind,
    HeldHeads,
    InclusionBundle,
    SignedTreeHead,
    TreeHead,
    content_digest,
)
from baliza.protocol.errors import (
    BalizaError,
    InputError,
    ReasonCode,
    TransportError,
    TrustError,
)

log = logging.getLogger(__name__)

EQUIVOCATION_EVENT = "audit.equivocation"
EQUIVOCATION_METRIC = "baliza_audit_equivocations_total"
CHECKED_METRIC = "baliza_audit_peer_heads_checked_total"
REFUSED_METRIC = "baliza_audit_peer_heads_refused_total"


def _verified(ctx: NodeContext, peer: str, signed: SignedTreeHead) -> TreeHead:
    """The head, if the key the directory gives ``peer`` signed it; ``TrustError`` otherwise."""
    head = signed.head
    if head.log != peer:
        raise TrustError(
            ReasonCode.KEY_ID_MISMATCH, f"{peer} answered the head of {head.log}'s log", path="log"
        )
    member = ctx.trust.sender_key(peer, signed.key_id, head.at_ms, now_ms())
    return verify_tree_head(member.keys, signed)


def _held(connection: Connection, peer: str) -> SignedTreeHead | None:
    raw = audit_rows.peer_head(connection, peer)
    return None if raw is None else SignedTreeHead.from_bytes(raw)


def _keep(connection: Connection, *, peer: str, signed: SignedTreeHead, accepted: bool) -> None:
    head = signed.head
    audit_rows.keep_peer_head(
        connection,
        peer=peer,
        size=head.size,
        root=head.root,
        at_ms=head.at_ms,
        seen_ms=now_ms(),
        accepted=accepted,
        signed=signed.to_bytes(),
    )


def _record_alarm(
    connection: Connection,
    *,
    peer: str,
    held: SignedTreeHead,
    offered: SignedTreeHead,
    err: TrustError,
    actor: str,
) -> bool:
    """Unit of work: keep the offered head as evidence and record the alarm, once per pair.

    True if the alarm is new (a peer serving the same contradicting head
    again raises one alarm, not one per check).
    """
    _keep(connection, peer=peer, signed=offered, accepted=False)
    detail = {
        "reason": err.reason.value,
        "detail": err.detail,
        "held_size": held.head.size,
        "held_root": held.head.root.hex(),
        "held_signed_head": held.to_bytes().hex(),
        "offered_size": offered.head.size,
        "offered_root": offered.head.root.hex(),
        "offered_signed_head": offered.to_bytes().hex(),
    }
    for event in trust_rows.events_of(connection, action=EQUIVOCATION_EVENT, limit=50):
        same = (event.detail.get("offered_root"), event.detail.get("held_root"))
        if event.subject == peer and same == (detail["offered_root"], detail["held_root"]):
            return False
    trust_rows.record_event(
        connection,
        at_ms=now_ms(),
        actor=actor,
        action=EQUIVOCATION_EVENT,
        subject=peer,
        detail=detail,
    )
    return True


async def _alarm(
    ctx: NodeContext,
    peer: str,
    held: SignedTreeHead,
    offered: SignedTreeHead,
    err: TrustError,
    actor: str,
) -> TrustError:
    ctx.count(EQUIVOCATION_METRIC)
    log.warning("ALARM audit log of %s: %s (%s): %s", peer, err.reason.value, actor, err.detail)
    await ctx.db.run(
        partial(_record_alarm, peer=peer, held=held, offered=offered, err=err, actor=actor),
        write=True,
    )
    return err


async def check_peer_head(
    ctx: NodeContext,
    session: aiohttp.ClientSession,
    peer: Peer,
    offered: SignedTreeHead | None = None,
    *,
    actor: str = "head exchange",
) -> TreeHead:
    """Check ``offered`` (or the peer's head, fetched) against the head held from it; keep it.

    Returns the head now held from the peer. Raises ``TrustError``: the
    signature's reasons (nothing kept, no alarm: a head not signed by the
    peer is nobody's evidence), or ``AUDIT_EQUIVOCATION`` / ``AUDIT_ROLLBACK``
    (alarm raised, both heads kept). ``TransportError`` when the peer cannot
    be asked (nothing kept; the next check asks again).
    """
    if offered is None:
        raw = await fetch_tree_head(session, ctx.signing_keys(), peer)
        try:
            offered = SignedTreeHead.from_bytes(raw)
        except BalizaError as err:
            raise TransportError(ReasonCode.PEER_REFUSED, f"unreadable tree head: {err}") from None
    try:
        head = _verified(ctx, peer.agency, offered)
    except BalizaError:
        ctx.count(REFUSED_METRIC)
        raise
    ctx.count(CHECKED_METRIC)
    held = await ctx.db.run(partial(_held, peer=peer.agency), write=False)
    verdict = judge_peer_head(None if held is None else held.head, head)
    if verdict in (HeadVerdict.SAME, HeadVerdict.STALE):
        assert held is not None
        return held.head
    if held is not None:  # EQUIVOCATION, ROLLBACK or EXTENDS
        refused = refusal(held.head, head, verdict)
        if refused is not None:
            raise await _alarm(ctx, peer.agency, held, offered, refused, actor)
        await _check_extends(ctx, session, peer, held, offered, actor)
    await ctx.db.run(partial(_keep, peer=peer.agency, signed=offered, accepted=True), write=True)
    return head


async def _check_extends(
    ctx: NodeContext,
    session: aiohttp.ClientSession,
    peer: Peer,
    held: SignedTreeHead,
    offered: SignedTreeHead,
    actor: str,
) -> None:
    """Ask the peer for the consistency proof from the held head; an alarm if it fails."""
    first, second = held.head.size, offered.head.size
    raw = await fetch_consistency(session, ctx.signing_keys(), peer, first, second)
    try:
        try:
            answer = ConsistencyProof.from_bytes(raw)
        except BalizaError as err:
            raise TrustError(ReasonCode.AUDIT_EQUIVOCATION, f"unreadable proof: {err}") from None
        check_extends(held.head, offered.head, answer)
    except TrustError as err:
        raise await _alarm(ctx, peer.agency, held, offered, err, actor) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivered:
    """What a recipient proved to the sender: its envelope is leaf ``index`` of the head."""

    head: TreeHead
    index: int
    entry: AuditEntry


def _sent(connection: Connection, envelope: str) -> bytes | None:
    return envelope_rows.sent_raw_or_none(connection, envelope)


async def prove_delivered(
    ctx: NodeContext, session: aiohttp.ClientSession, peer: Peer, envelope: str
) -> Delivered:
    """Ask ``peer`` to prove that it logged the envelope this node delivered to it; check it.

    The head of the answer is checked as any head from the peer (signature
    by the directory's key, consistency with the one held; an alarm when it
    contradicts it); then the entry: received from this node, about this
    envelope, its digest the hash of the bytes this node sent, at the index
    the inclusion proof leads from to the head's root. Raises ``TrustError``
    (``AUDIT_PROOF_FAILED`` or the head's reasons).
    """
    raw = await ctx.db.run(partial(_sent, envelope=envelope), write=False)
    if raw is None:
        raise InputError(ReasonCode.NOT_FOUND, f"this node sent no envelope {envelope}")
    answer = await fetch_inclusion(session, ctx.signing_keys(), peer, envelope)
    try:
        bundle = InclusionBundle.from_bytes(answer)
        signed = SignedTreeHead.from_bytes(bundle.head)
        entry = AuditEntry.from_bytes(bundle.entry)
    except BalizaError as err:
        raise TransportError(ReasonCode.PEER_REFUSED, f"unreadable proof: {err}") from None
    head = _verified(ctx, peer.agency, signed)
    expected = (EntryKind.ENVELOPE_RECEIVED, envelope, ctx.agency, content_digest(raw))
    if (entry.kind, entry.subject, entry.peer, entry.digest) != expected:
        raise TrustError(
            ReasonCode.AUDIT_PROOF_FAILED,
            f"{peer.agency} logged another entry, not the envelope {envelope} this node sent",
            path="entry",
        )
    merkle.verify_inclusion(
        merkle.leaf_hash(bundle.entry), bundle.index, head.size, bundle.proof, head.root
    )
    await check_peer_head(ctx, session, peer, signed, actor=f"inclusion of {envelope}")
    return Delivered(head=head, index=bundle.index, entry=entry)


def _newest_held(connection: Connection, caller: str) -> list[bytes]:
    newest: dict[str, bytes] = {}
    for peer, _, _, _, _, accepted, signed in audit_rows.peer_heads(connection):
        if accepted and peer != caller and peer not in newest:  # rows come newest first
            newest[peer] = signed
    return list(newest.values())


async def held_heads(ctx: NodeContext, caller: str) -> HeldHeads:
    """The newest head accepted of each member's log but ``caller``'s, for ``caller``."""
    heads = await ctx.db.run(partial(_newest_held, caller=caller), write=False)
    return HeldHeads(heads=tuple(heads[:MAX_GOSSIP]))


@dataclass(frozen=True, slots=True, kw_only=True)
class Gossiped:
    """What became of one head a peer passed on: the log it is of and the refusal, if any."""

    log: str
    size: int
    refused: ReasonCode | None


async def gossip_from(
    ctx: NodeContext, session: aiohttp.ClientSession, peer: Peer
) -> list[Gossiped]:
    """Ask ``peer`` for the heads it holds of others; check each against the one held here.

    A head of this node's own log or of ``peer``'s is skipped (the first is
    this node's to know, the second is checked directly). Each other head
    goes through ``check_peer_head`` with its signer as the peer: an
    equivocation or rollback raises the alarm there, naming the signer and
    who passed the head on. Raises ``TransportError`` when ``peer`` cannot
    be asked or answers something unreadable.
    """
    raw = await fetch_held_heads(session, ctx.signing_keys(), peer)
    try:
        offered = HeldHeads.from_bytes(raw)
    except BalizaError as err:
        raise TransportError(ReasonCode.PEER_REFUSED, f"unreadable heads: {err}") from None
    out: list[Gossiped] = []
    for raw_head in offered.heads:
        try:
            signed = SignedTreeHead.from_bytes(raw_head)
        except BalizaError:
            ctx.count(REFUSED_METRIC)
            continue
        log_of = signed.head.log
        if log_of in (ctx.agency, peer.agency):
            continue
        try:
            signer = ctx.trust.peer(log_of, now_ms())
            await check_peer_head(
                ctx, session, signer, signed, actor=f"head passed on by {peer.agency}"
            )
            out.append(Gossiped(log=log_of, size=signed.head.size, refused=None))
        except BalizaError as err:
            log.info("head of %s from %s not taken: %s", log_of, peer.agency, err.reason.value)
            out.append(Gossiped(log=log_of, size=signed.head.size, refused=err.reason))
    return out


class PeerHeads:
    """Checks a peer's head after pushes to it, at most once per ``every_ms`` per peer.

    Then asks it for the heads it holds of others (``gossip_from``).
    """

    def __init__(self, ctx: NodeContext, session: aiohttp.ClientSession, every_ms: int) -> None:
        self._ctx = ctx
        self._session = session
        self._every_ms = every_ms
        self._checked: dict[str, int] = {}

    async def after_push(self, peer: Peer) -> None:
        """Check ``peer``'s head if it is due; an alarm or failure is logged, never raised."""
        now = now_ms()
        if now - self._checked.get(peer.agency, -self._every_ms) < self._every_ms:
            return
        self._checked[peer.agency] = now
        try:
            await check_peer_head(self._ctx, self._session, peer)
        except BalizaError as err:
            log.info("head of %s not taken: %s: %s", peer.agency, err.reason.value, err.detail)
        try:
            await gossip_from(self._ctx, self._session, peer)
        except BalizaError as err:
            log.info("heads held by %s not read: %s", peer.agency, err.reason.value)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditAlarm:
    """A peer head refused as equivocation or rollback: what the status shows."""

    at_ms: int
    peer: str
    reason: str
    detail: str
    held_size: int
    offered_size: int

    @classmethod
    def of(cls, event: TrustEvent) -> AuditAlarm:
        """The alarm an ``audit.equivocation`` trust event records."""
        d = event.detail
        return cls(
            at_ms=event.at_ms,
            peer=event.subject,
            reason=str(d.get("reason", "")),
            detail=str(d.get("detail", "")),
            held_size=int(d.get("held_size", 0)),
            offered_size=int(d.get("offered_size", 0)),
        )

    def to_json(self) -> dict[str, object]:
        """The JSON form of the status endpoint."""
        return {
            "at_ms": self.at_ms,
            "peer": self.peer,
            "reason": self.reason,
            "detail": self.detail,
            "held_size": self.held_size,
            "offered_size": self.offered_size,
        }


async def audit_alarms(ctx: NodeContext, limit: int = 20) -> list[AuditAlarm]:
    """The newest equivocation and rollback alarms, newest first."""
    events = await ctx.db.run(
        partial(trust_rows.events_of, action=EQUIVOCATION_EVENT, limit=limit), write=False
    )
    return [AuditAlarm.of(e) for e in events]


def _peer_heads(connection: Connection) -> list[dict[str, object]]:
    return [
        {
            "peer": peer,
            "size": size,
            "root": root.hex(),
            "at_ms": at_ms,
            "seen_ms": seen_ms,
            "accepted": accepted,
            "signed_head": signed.hex(),
        }
        for peer, size, root, at_ms, seen_ms, accepted, signed in audit_rows.peer_heads(connection)
    ]


async def peer_heads(ctx: NodeContext) -> list[dict[str, object]]:
    """Every head kept from peers, newest first per peer: accepted ones and evidence."""
    return await ctx.db.run(_peer_heads, write=False)
