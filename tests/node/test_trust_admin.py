"""Local blocks held in memory (services/trust_admin.py ``BlockList``), on each engine.

The blocks are read once and kept; a change made through the node drops
them as it commits, so the next question reads them again and sees it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import event

from baliza.node.services.trust_admin import (
    BlockKind,
    BlockList,
    block_agency,
    is_blocked,
    lift_block,
    trust_events,
)
from baliza.node.storage import Database
from baliza.protocol.errors import InputError, ReasonCode

AGENCY = "xx.bad.unit"


@dataclass
class Node:
    """What the block functions use of a running node: its database and its block list."""

    db: Database
    blocks: BlockList = field(default_factory=BlockList)


class Statements:
    """Counts the statements a database runs, on every engine it has."""

    def __init__(self, db: Database) -> None:
        self.count = 0
        for engine in db.engines:
            event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        self.count += 1


async def test_blocks_are_read_once_and_again_after_each_change(database: Database) -> None:
    node = Node(database)
    statements = Statements(database)
    assert not await is_blocked(node, AGENCY)
    read_once = statements.count
    assert read_once >= 1
    for _ in range(5):
        assert not await is_blocked(node, AGENCY)
    assert statements.count == read_once  # held in memory

    await block_agency(node, AGENCY, BlockKind.BLOCK, "leak", at_ms=1, actor="ops")
    assert await is_blocked(node, AGENCY)
    await block_agency(node, AGENCY, BlockKind.PAUSE, "maintenance", at_ms=2, actor="ops")
    assert not await is_blocked(node, AGENCY)  # a pause does not refuse envelopes
    assert (await node.blocks.current(database))[AGENCY].reason == "maintenance"
    await lift_block(node, AGENCY, at_ms=3, actor="ops")
    assert not await is_blocked(node, AGENCY)
    assert await node.blocks.current(database) == {}
    with pytest.raises(InputError) as caught:
        await lift_block(node, AGENCY, at_ms=4, actor="ops")
    assert caught.value.reason is ReasonCode.NOT_FOUND
    actions = [(e.action, e.subject) for e in await trust_events(database)]
    assert actions == [("peer.block", AGENCY), ("peer.pause", AGENCY), ("peer.unblock", AGENCY)]


async def test_a_read_overtaken_by_a_change_is_not_kept(database: Database) -> None:
    node = Node(database)
    other = Node(database)  # another worker on the same database
    reading = asyncio.create_task(other.blocks.current(database))
    await asyncio.sleep(0)  # the read starts and waits for its unit
    other.blocks.invalidate()  # a change signalled while the read is under way
    await reading
    await block_agency(node, AGENCY, BlockKind.BLOCK, "leak", at_ms=1, actor="ops")
    # Had the overtaken read been kept, the other worker would not see the block.
    assert await is_blocked(other, AGENCY)
