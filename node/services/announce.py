"""Live announcements: telling a node's followers about the notices it just stored.

A unit of work that stores notices returns them as they were written
(``StoredNotice`` built from what it inserted, with the ``seq`` the insert
returned) and, when someone follows, their newest hits read in the same
trip; announcing is then only handing them to the live feed. Nothing is read
back.

On PostgreSQL several workers share the database: the storing unit signals
the stored notices to every worker (``LIVE_CHANNEL``), this one included,
and each announces them to its own followers when the signal arrives
(``announce_relayed``, which must read them: they may be another worker's).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from baliza.node.services.index import hit_json, notice_row_json
from baliza.node.services.written import Written, written_with_hits
from baliza.node.storage.sql import notices as notice_rows

if TYPE_CHECKING:
    from baliza.node.services.context import NodeContext


def wants_hits(ctx: NodeContext) -> bool:
    """Whether a storing unit on this node should read hits for the live feed.

    On PostgreSQL the announcement goes through the cross-worker signal
    instead, so the storing unit reads nothing for it.
    """
    return ctx.live.followers > 0 and ctx.db.dialect != "postgresql"


def announce_written(ctx: NodeContext, written: Sequence[Written]) -> None:
    """Hand notices a unit of work just stored to this node's live followers (SQLite)."""
    if not written or not ctx.live.followers or ctx.db.dialect == "postgresql":
        return
    _publish(ctx, written)


def _publish(ctx: NodeContext, written: Sequence[Written]) -> None:
    for item in written:
        if item.revocations is not None:
            ctx.live.saw_revocations(item.revocations)
        ctx.live.publish(_event(item))


def _event(item: Written) -> dict[str, Any]:
    """The live event of a stored notice: its row, and its newest hits."""
    hits = [hit_json(h.envelope_id, h.sender, h.summary, h.handling_json, h.ref) for h in item.hits]
    return notice_row_json(item.notice, with_body=False) | {"hits": hits}


def _read_announced(connection: Connection, keys: Sequence[tuple[str, str]]) -> list[Written]:
    stored = notice_rows.get_many(connection, keys)
    found = [stored[key] for key in keys if key in stored]
    return written_with_hits(connection, found, with_hits=True)


async def announce_relayed(ctx: NodeContext, stored: Sequence[tuple[str, str]]) -> None:
    """Announce notices another worker (or this one) stored, as (sender, envelope id).

    Called when the cross-worker signal arrives (PostgreSQL); reads the
    notices and their hits in one unit. A notice not found is skipped: the
    signal is sent only after its commit, so that means it was removed since.
    """
    if not stored or not ctx.live.followers:
        return
    written = await ctx.db.run(partial(_read_announced, keys=list(stored)), write=False)
    _publish(ctx, written)
