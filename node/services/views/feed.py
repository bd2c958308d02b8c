"""Notices as lists: a feed page, a search page, one stored notice, its evidence.

What ``GET /api/v1/notices``, ``/search``, ``/stream`` (its replay), the
console's feed and charts read. Each function is one read unit of work
(``Database.run(…, write=False)``): one trip, however many statements.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from sqlalchemy import Connection

from baliza.node.services.context import NodeContext
from baliza.node.storage.notices import Direction, NoticeFilter, StoredNotice
from baliza.node.storage.sql import envelopes as envelope_rows
from baliza.node.storage.sql import notice_pages
from baliza.node.storage.sql import notices as notice_rows
from baliza.protocol.errors import StorageError


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedPage:
    """Notices in storage order and how many hits each has; ``next`` is the cursor."""

    items: tuple[StoredNotice, ...]
    hit_counts: dict[str, int]
    next: int
    total: int | None = None  # every notice matching the filters, when asked for
    # With the total: how many matching notices are newer than this page's newest.
    newer: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchPage:
    """Best matches first with their score, the total matching the filters, and hit counts."""

    found: tuple[tuple[float, StoredNotice], ...]
    total: int
    hit_counts: dict[str, int]


def _feed_page(
    connection: Connection,
    filters: NoticeFilter,
    after: int,
    limit: int,
    latest: bool,
    with_hits: bool,
    with_total: bool = False,
    before: int | None = None,
) -> FeedPage:
    if latest:
        rows = notice_pages.latest(connection, limit, filters, before)
    else:
        rows = notice_pages.list_page(connection, after, limit, filters)
    hits = notice_rows.hit_counts(connection, [r.envelope_id for r in rows]) if with_hits else {}
    total = notice_pages.count(connection, filters) if with_total else None
    newer = None
    if with_total:
        newest = max((r.seq or 0 for r in rows), default=None)
        newer = 0 if newest is None else notice_pages.count_after(connection, filters, newest)
    return FeedPage(
        items=tuple(rows),
        hit_counts=hits,
        next=rows[-1].seq if rows else after,
        total=total,
        newer=newer,
    )


async def feed_page(
    ctx: NodeContext,
    filters: NoticeFilter,
    *,
    after: int = 0,
    limit: int,
    latest: bool = False,
    with_hits: bool = True,
    with_total: bool = False,
    before: int | None = None,
) -> FeedPage:
    """A page after the cursor ``after`` (or the ``latest`` ones), oldest first.

    ``with_hits=False`` spares counting hits (a live stream's replay sends none);
    ``with_total`` counts every notice matching and those newer than the
    page, so a page can say "101–200 of 620"; ``before`` (with ``latest``)
    pages back: the most recent stored before that sequence number.
    """
    unit = partial(
        _feed_page,
        filters=filters,
        after=after,
        limit=limit,
        latest=latest,
        with_hits=with_hits,
        with_total=with_total,
        before=before,
    )
    return await ctx.db.run(unit, write=False)


def _search_page(
    connection: Connection,
    text: str,
    filters: NoticeFilter,
    limit: int,
    after: tuple[float, int] | None,
) -> SearchPage:
    found = notice_pages.ranked(connection, text, filters, limit, after)
    total = notice_pages.count(connection, filters)
    hits = notice_rows.hit_counts(connection, [n.envelope_id for _, n in found])
    return SearchPage(found=tuple(found), total=total, hit_counts=hits)


async def search_page(
    ctx: NodeContext,
    text: str,
    filters: NoticeFilter,
    *,
    limit: int,
    after: tuple[float, int] | None,
) -> SearchPage:
    """Full-text search, best match first, keyset-paged after ``(score, seq)``."""
    unit = partial(_search_page, text=text, filters=filters, limit=limit, after=after)
    return await ctx.db.run(unit, write=False)


async def stored_notice(ctx: NodeContext, eid: str, sender: str | None = None) -> StoredNotice:
    """One stored notice as it is indexed; ``StorageError`` (not found) if there is none."""
    return await ctx.db.run(partial(notice_rows.get, envelope_id=eid, sender=sender), write=False)


def _evidence(connection: Connection, eid: str, sender: str | None, me: str) -> bytes:
    try:
        row: StoredNotice | None = notice_rows.get(connection, eid, sender)
    except StorageError:
        row = None  # a receipt, not a notice: its envelope is still evidence
    if row is not None and row.direction is Direction.OUT:
        return envelope_rows.sent_raw(connection, eid)
    if row is not None:
        return envelope_rows.received(connection, eid, row.sender).raw
    if sender in (None, me) and envelope_rows.sent_ids(connection, [eid]):
        return envelope_rows.sent_raw(connection, eid)
    return envelope_rows.received(connection, eid, sender).raw


async def evidence(ctx: NodeContext, eid: str, sender: str | None) -> bytes:
    """The envelope exactly as sent or received.

    Which one is decided by the notice's direction, never by which table
    answers first: an envelope another agency sent under an id this node
    used must not stand in for this node's own evidence.
    """
    unit = partial(_evidence, eid=eid, sender=sender, me=ctx.agency)
    return await ctx.db.run(unit, write=False)
