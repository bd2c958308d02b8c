"""What administrators read and decide about trust: local blocks, the trust-event log,
the history of directory versions.

Each change is recorded as a trust event naming who made it, in the same
unit of work as the change. Local decisions can only narrow what the
directory allows. Reads take the ``Database`` so that the CLI, which has no
running node, calls the same ones as the admin API; blocking and lifting take
the running node, whose ``BlockList`` holds the blocks in memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Protocol

from sqlalchemy import Connection

from baliza.node.core.notify import BLOCKS_CHANNEL, signal_in
from baliza.node.storage import Database
from baliza.node.storage.directory import DirectoryVersion
from baliza.node.storage.sql import directory as directory_rows
from baliza.node.storage.sql import trust as trust_rows
from baliza.node.storage.trust import BlockKind, LocalBlock, TrustEvent
from baliza.protocol.errors import InputError, ReasonCode

__all__ = [
    "BlockKind",
    "BlockList",
    "DirectoryVersion",
    "HoldsBlocks",
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


class BlockList:
    """This node's local blocks and pauses, held in memory: a hot fact.

    Every federation request asks whether its sender is blocked, and blocks
    change only when an administrator says so. The set is read by one read
    unit on first use and kept; a change through this process drops it when
    its unit commits, and a change through another worker on the same
    PostgreSQL database drops it when that worker's signal arrives
    (``BLOCKS_CHANNEL``, sent on commit; see services/crossworker.py). The
    next use reads it again. A read that a drop overtook answers its own
    caller but is not kept. Ingest still checks the block inside its own
    unit, so this is the cheap door, not the only one.
    """

    def __init__(self) -> None:
        self._blocks: Mapping[str, LocalBlock] | None = None
        self._generation = 0

    def invalidate(self) -> None:
        """Forget the set: something changed it; the next use reads it again."""
        self._blocks = None
        self._generation += 1

    async def current(self, db: Database) -> Mapping[str, LocalBlock]:
        """The blocks and pauses in force, by agency (one read unit when not held)."""
        blocks = self._blocks
        if blocks is None:
            generation = self._generation
            blocks = await db.run(_blocks_by_agency, write=False)
            if generation == self._generation:
                self._blocks = blocks
        return blocks


class HoldsBlocks(Protocol):
    """What blocking needs of a running node (``NodeContext``): its database and block list."""

    db: Database
    blocks: BlockList


async def is_blocked(ctx: HoldsBlocks, agency: str) -> bool:
    """Whether this node refuses ``agency``'s envelopes by a local block (read from memory)."""
    block = (await ctx.blocks.current(ctx.db)).get(agency)
    return block is not None and block.kind is BlockKind.BLOCK


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
    signal_in(connection, BLOCKS_CHANNEL, [block.agency])


def _lift(connection: Connection, agency: str, at_ms: int, actor: str) -> None:
    if not trust_rows.remove_block(connection, agency):
        raise InputError(ReasonCode.NOT_FOUND, f"{agency} is not blocked here", path="agency")
    trust_rows.record_event(
        connection, at_ms=at_ms, actor=f"admin {actor}", action="peer.unblock", subject=agency
    )
    signal_in(connection, BLOCKS_CHANNEL, [agency])


async def block_agency(
    ctx: HoldsBlocks, agency: str, kind: BlockKind, reason: str, *, at_ms: int, actor: str
) -> None:
    """Block (refuse its envelopes, stop delivery) or pause (stop delivery) ``agency``."""
    block = LocalBlock(agency=agency, kind=kind, reason=reason, at_ms=at_ms, actor=actor)
    try:
        await ctx.db.run(partial(_block, block=block), write=True)
    finally:
        # Even a failed unit may have committed (a connection lost at COMMIT).
        ctx.blocks.invalidate()


async def lift_block(ctx: HoldsBlocks, agency: str, *, at_ms: int, actor: str) -> None:
    """Lift a local block or pause; ``InputError`` (not found) if there is none."""
    try:
        await ctx.db.run(partial(_lift, agency=agency, at_ms=at_ms, actor=actor), write=True)
    finally:
        ctx.blocks.invalidate()
