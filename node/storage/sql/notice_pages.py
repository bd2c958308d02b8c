"""Notices as lists: pages after a cursor, the latest, counts, and ranked full text.

Filtered statements are built once per filter *shape* and engine (the
conditions come from ``notice_filter``, the one table of what a filter
means) and kept here, so a page of a feed compiles its SQL the first time
that shape is asked for, never again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Float, Select, and_, bindparam, func, or_, select

from baliza.node.storage.models import NoticeRow, table_of
from baliza.node.storage.notices import MAX_PAGE, NoticeFilter, StoredNotice
from baliza.node.storage.sql import notice_filter
from baliza.node.storage.sql.notices import COLUMNS, complete
from baliza.node.storage.sql.search import score

_notices = table_of(NoticeRow)

# Filtered statements, one per (purpose, filter shape, engine), built on first use.
# Shapes are few in practice, but a client chooses them: past the bound the
# oldest is dropped (and built again if asked for again).
_FILTERED: dict[tuple[str, notice_filter.Shape, str, bool], Any] = {}
_MAX_SHAPES = 512
_FILTERED_LOCK = threading.Lock()  # units run on several database threads
_Build = Callable[[list[Any]], Select[Any]]


def _filtered(
    connection: Connection, purpose: str, where: NoticeFilter, build: _Build, extra: bool = False
) -> Any:
    dialect = connection.dialect.name
    key = (purpose, notice_filter.shape_of(where), dialect, extra)
    statement = _FILTERED.get(key)
    if statement is None:
        statement = build(notice_filter.conditions(key[1], dialect))
        with _FILTERED_LOCK:
            if len(_FILTERED) >= _MAX_SHAPES:
                del _FILTERED[next(iter(_FILTERED))]
            _FILTERED[key] = statement
    return statement


def _limit(limit: int) -> int:
    return max(1, min(limit, MAX_PAGE))


def list_page(
    connection: Connection,
    after_seq: int = 0,
    limit: int = 50,
    filters: NoticeFilter | None = None,
) -> list[StoredNotice]:
    """Up to ``limit`` notices with ``seq > after_seq`` matching ``filters``, by ``seq``.

    The next page starts after the last ``seq`` returned; a short page
    means the end for now. ``limit`` is clamped to 1..``MAX_PAGE``.
    """
    where = filters or NoticeFilter()
    statement = _filtered(
        connection,
        "page",
        where,
        lambda conditions: (
            select(*COLUMNS)
            .where(_notices.c.seq > bindparam("after"), *conditions)
            .order_by(_notices.c.seq)
            .limit(bindparam("limit"))
        ),
    )
    values = notice_filter.params(where, connection.dialect.name)
    rows = connection.execute(statement, values | {"after": after_seq, "limit": _limit(limit)})
    return complete(connection, rows.all())


def latest(
    connection: Connection,
    limit: int = 50,
    filters: NoticeFilter | None = None,
    before: int | None = None,
) -> list[StoredNotice]:
    """The ``limit`` most recent notices matching ``filters``, oldest of them first.

    What a person asks for first ("the last 20"); the returned cursor
    (the last ``seq``) then follows on with ``list_page``. With ``before``,
    the most recent of those stored before that ``seq``: the next older page.
    """
    where = filters or NoticeFilter()
    paged = before is not None
    statement = _filtered(
        connection,
        "latest-before" if paged else "latest",
        where,
        lambda conditions: (
            select(*COLUMNS)
            .where(*conditions, *([_notices.c.seq < bindparam("before")] if paged else []))
            .order_by(_notices.c.seq.desc())
            .limit(bindparam("limit"))
        ),
    )
    values = notice_filter.params(where, connection.dialect.name) | {"limit": _limit(limit)}
    if paged:
        values["before"] = before
    rows = connection.execute(statement, values).all()
    return complete(connection, rows[::-1])


def count(connection: Connection, filters: NoticeFilter) -> int:
    """How many stored notices match ``filters`` (one indexed count)."""
    statement = _filtered(
        connection,
        "count",
        filters,
        lambda conditions: select(func.count()).select_from(_notices).where(*conditions),
    )
    values = notice_filter.params(filters, connection.dialect.name)
    return int(connection.execute(statement, values).scalar() or 0)


def count_after(connection: Connection, filters: NoticeFilter, after_seq: int) -> int:
    """How many notices matching ``filters`` were stored after ``after_seq``.

    A page says where it stands ("101–200 of 620") by counting those newer
    than its newest row.
    """
    statement = _filtered(
        connection,
        "count-after",
        filters,
        lambda conditions: (
            select(func.count())
            .select_from(_notices)
            .where(_notices.c.seq > bindparam("after"), *conditions)
        ),
    )
    values = notice_filter.params(filters, connection.dialect.name) | {"after": after_seq}
    return int(connection.execute(statement, values).scalar() or 0)


def matches(connection: Connection, seq: int, filters: NoticeFilter) -> bool:
    """Whether the notice ``seq`` passes ``filters``: the query that lists them, on one row.

    The live stream asks this only for a filter with full text; everything
    else it answers with ``notice_filter.predicate``.
    """
    statement = _filtered(
        connection,
        "matches",
        filters,
        lambda conditions: select(_notices.c.seq).where(
            _notices.c.seq == bindparam("seq"), *conditions
        ),
    )
    values = notice_filter.params(filters, connection.dialect.name)
    return connection.execute(statement, values | {"seq": seq}).first() is not None


def ranked(
    connection: Connection,
    text: str,
    filters: NoticeFilter,
    limit: int = 50,
    after: tuple[float, int] | None = None,
) -> list[tuple[float, StoredNotice]]:
    """The best matches of ``text`` first, with their score; keyset-paged.

    ``after`` is the ``(score, seq)`` of the last result of the previous
    page: the next page holds the results ranked strictly below it.
    """
    where = replace(filters, text=text)
    dialect = connection.dialect.name

    def build(conditions: list[Any]) -> Select[Any]:
        scored = (
            select(_notices.c.seq.label("seq"), score(dialect).label("score"))
            .where(*conditions)
            .subquery()
        )
        query = select(*COLUMNS, scored.c.score).join(scored, scored.c.seq == _notices.c.seq)
        if after is not None:
            bound = bindparam("last_score", type_=Float)
            query = query.where(
                or_(
                    scored.c.score < bound,
                    and_(scored.c.score == bound, _notices.c.seq < bindparam("last_seq")),
                )
            )
        return query.order_by(scored.c.score.desc(), _notices.c.seq.desc()).limit(
            bindparam("limit")
        )

    statement = _filtered(connection, "ranked", where, build, extra=after is not None)
    values = notice_filter.params(where, dialect)  # the text's words too
    values["limit"] = _limit(limit)
    if after is not None:
        values |= {"last_score": after[0], "last_seq": after[1]}
    rows = connection.execute(statement, values).all()
    notices = complete(connection, rows)
    return [(float(row.score), n) for row, n in zip(rows, notices, strict=True)]
