"""Notices as lists: a feed page, a search page, one stored notice, its evidence.

What ``GET /api/v1/notices``, ``/search``, ``/stream`` (its replay), the
console's feed and charts read. Each function is one read-only transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from baliza.node.services.context import NodeContext
from baliza.node.storage.envelopes import ReceivedEnvelopes, SentEnvelopes
from baliza.node.storage.notices import Direction, NoticeFilter, Notices, StoredNotice
from baliza.protocol.errors import StorageError


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedPage:
    """Notices in storage order and how many hits each has; ``next`` is the cursor."""

    items: tuple[StoredNotice, ...]
    hit_counts: dict[str, int]
    next: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchPage:
    """Best matches first with their score, the total matching the filters, and hit counts."""

    found: tuple[tuple[float, StoredNotice], ...]
    total: int
    hit_counts: dict[str, int]


async def feed_page(
    ctx: NodeContext,
    filters: NoticeFilter,
    *,
    after: int = 0,
    limit: int,
    latest: bool = False,
    with_hits: bool = True,
) -> FeedPage:
    """A page after the cursor ``after`` (or the ``latest`` ones), oldest first.

    ``with_hits=False`` spares counting hits (a live stream's replay sends none).
    """
    async with ctx.db.transaction(readonly=True) as session:
        notices = Notices(session)
        if latest:
            rows = await notices.latest(limit, filters)
        else:
            rows = await notices.list_page(after, limit, filters)
        hits = await notices.hit_counts([r.envelope_id for r in rows]) if with_hits else {}
    return FeedPage(items=tuple(rows), hit_counts=hits, next=rows[-1].seq if rows else after)


async def search_page(
    ctx: NodeContext,
    text: str,
    filters: NoticeFilter,
    *,
    limit: int,
    after: tuple[float, int] | None,
) -> SearchPage:
    """Full-text search, best match first, keyset-paged after ``(score, seq)``."""
    async with ctx.db.transaction(readonly=True) as session:
        notices = Notices(session)
        found = await notices.ranked(text, filters, limit, after)
        total = await notices.count(filters)
        hits = await notices.hit_counts([n.envelope_id for _, n in found])
    return SearchPage(found=tuple(found), total=total, hit_counts=hits)


async def stored_notice(ctx: NodeContext, eid: str, sender: str | None = None) -> StoredNotice:
    """One stored notice as it is indexed; ``StorageError`` (not found) if there is none."""
    async with ctx.db.transaction(readonly=True) as session:
        return await Notices(session).get(eid, sender)


async def evidence(ctx: NodeContext, eid: str, sender: str | None) -> bytes:
    """The envelope exactly as sent or received.

    Which one is decided by the notice's direction, never by which table
    answers first: an envelope another agency sent under an id this node
    used must not stand in for this node's own evidence.
    """
    async with ctx.db.transaction(readonly=True) as session:
        try:
            row: StoredNotice | None = await Notices(session).get(eid, sender)
        except StorageError:
            row = None  # a receipt, not a notice: its envelope is still evidence
        if row is not None and row.direction is Direction.OUT:
            return (await SentEnvelopes(session).get(eid)).raw
        if row is not None:
            return await ReceivedEnvelopes(session).get_raw(eid, row.sender)
        if sender in (None, ctx.agency) and await SentEnvelopes(session).exists(eid):
            return (await SentEnvelopes(session).get(eid)).raw
        return await ReceivedEnvelopes(session).get_raw(eid, sender)
