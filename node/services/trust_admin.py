"""What administrators read and decide about trust: local blocks, the trust-event log,
the history of directory versions.

Each change is recorded as a trust event naming who made it, in the same
transaction as the change. Local decisions can only narrow what the
directory allows. Functions take the ``Database`` so that the CLI, which
has no running node, calls the same ones as the admin API.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from baliza.node.storage import Database
from baliza.node.storage.directory import DirectoryVersion, DirectoryVersions
from baliza.node.storage.sql import trust as trust_rows
from baliza.node.storage.trust import BlockKind, LocalBlock, LocalBlocks, TrustEvent, TrustEvents
from baliza.protocol.errors import InputError, ReasonCode

__all__ = [
    "BlockKind",
    "DirectoryVersion",
    "LocalBlock",
    "TrustEvent",
    "block_agency",
    "directory_history",
    "is_blocked",
    "lift_block",
    "local_blocks",
    "record_trust_event",
    "trust_events",
]


async def directory_history(db: Database) -> Sequence[DirectoryVersion]:
    """Every directory version this node applied, oldest first."""
    async with db.transaction(readonly=True) as session:
        return await DirectoryVersions(session).history()


async def trust_events(db: Database, *, after: int = 0, limit: int = 500) -> list[TrustEvent]:
    """The trust-event log after sequence number ``after``, oldest first, at most ``limit``."""
    async with db.transaction(readonly=True) as session:
        return await TrustEvents(session).list(after_seq=after, limit=limit)


async def record_trust_event(
    db: Database, *, at_ms: int, actor: str, action: str, subject: str
) -> None:
    """Record a trust change made outside the node's services (a key made by the CLI)."""
    async with db.transaction() as session:
        await TrustEvents(session).record(at_ms=at_ms, actor=actor, action=action, subject=subject)


async def local_blocks(db: Database) -> dict[str, LocalBlock]:
    """This node's local blocks and pauses, by agency."""
    async with db.transaction(readonly=True) as session:
        return {b.agency: b for b in await LocalBlocks(session).all()}


async def is_blocked(db: Database, agency: str) -> bool:
    """Whether this node refuses ``agency``'s envelopes by a local block."""
    return await db.run(partial(trust_rows.is_blocked, agency=agency), write=False)


async def block_agency(
    db: Database, agency: str, kind: BlockKind, reason: str, *, at_ms: int, actor: str
) -> None:
    """Block (refuse its envelopes, stop delivery) or pause (stop delivery) ``agency``."""
    async with db.transaction() as session:
        await LocalBlocks(session).set(
            LocalBlock(agency=agency, kind=kind, reason=reason, at_ms=at_ms, actor=actor)
        )
        await TrustEvents(session).record(
            at_ms=at_ms,
            actor=f"admin {actor}",
            action=f"peer.{kind.value}",
            subject=agency,
            detail={"reason": reason},
        )


async def lift_block(db: Database, agency: str, *, at_ms: int, actor: str) -> None:
    """Lift a local block or pause; ``InputError`` (not found) if there is none."""
    async with db.transaction() as session:
        if not await LocalBlocks(session).remove(agency):
            raise InputError(ReasonCode.NOT_FOUND, f"{agency} is not blocked here", path="agency")
        await TrustEvents(session).record(
            at_ms=at_ms, actor=f"admin {actor}", action="peer.unblock", subject=agency
        )
