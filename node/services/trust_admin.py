"""What administrators read and decide about trust: local blocks, the trust-event log,
the history of directory versions.

Each change is recorded as a trust event naming who made it, in the same
unit of work as the change. Local decisions can only narrow what the
directory allows. Functions take the ``Database`` so that the CLI, which
has no running node, calls the same ones as the admin API.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from sqlalchemy import Connection

from baliza.node.storage import Database
from baliza.node.storage.directory import DirectoryVersion
from baliza.node.storage.sql import directory as directory_rows
from baliza.node.storage.sql import trust as trust_rows
from baliza.node.storage.trust import BlockKind, LocalBlock, TrustEvent
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
    return await db.run(directory_rows.history, write=False)


async def trust_events(db: Database, *, after: int = 0, limit: int = 500) -> list[TrustEvent]:
    """The trust-event log after sequence number ``after``, oldest first, at most ``limit``."""
    return await db.run(partial(trust_rows.events_after, after_seq=after, limit=limit), write=False)


async def record_trust_event(
    db: Database, *, at_ms: int, actor: str, action: str, subject: str
) -> None:
    """Record a trust change made outside the node's services (a key made by the CLI)."""
    await db.run(
        partial(trust_rows.record_event, at_ms=at_ms, actor=actor, action=action, subject=subject),
        write=True,
    )


def _blocks_by_agency(connection: Connection) -> dict[str, LocalBlock]:
    return {b.agency: b for b in trust_rows.all_blocks(connection)}


async def local_blocks(db: Database) -> dict[str, LocalBlock]:
    """This node's local blocks and pauses, by agency."""
    return await db.run(_blocks_by_agency, write=False)


async def is_blocked(db: Database, agency: str) -> bool:
    """Whether this node refuses ``agency``'s envelopes by a local block."""
    return await db.run(partial(trust_rows.is_blocked, agency=agency), write=False)


def _block(connection: Connection, block: LocalBlock) -> None:
    trust_rows.set_block(connection, block)
    trust_rows.record_event(
        connection,
        at_ms=block.at_ms,
        actor=f"admin {block.actor}",
        action=f"peer.{block.kind.value}",
        subject=block.agency,
        detail={"reason": block.reason},
    )


def _lift(connection: Connection, agency: str, at_ms: int, actor: str) -> None:
    if not trust_rows.remove_block(connection, agency):
        raise InputError(ReasonCode.NOT_FOUND, f"{agency} is not blocked here", path="agency")
    trust_rows.record_event(
        connection, at_ms=at_ms, actor=f"admin {actor}", action="peer.unblock", subject=agency
    )


async def block_agency(
    db: Database, agency: str, kind: BlockKind, reason: str, *, at_ms: int, actor: str
) -> None:
    """Block (refuse its envelopes, stop delivery) or pause (stop delivery) ``agency``."""
    block = LocalBlock(agency=agency, kind=kind, reason=reason, at_ms=at_ms, actor=actor)
    await db.run(partial(_block, block=block), write=True)


async def lift_block(db: Database, agency: str, *, at_ms: int, actor: str) -> None:
    """Lift a local block or pause; ``InputError`` (not found) if there is none."""
    await db.run(partial(_lift, agency=agency, at_ms=at_ms, actor=actor), write=True)
