"""Decrypted notices indexed for the local API: pages, filters, search and hits.

``seq`` is the cursor: pages are "the next ``limit`` notices after ``seq`` N"
in local arrival order, so a client that stores the last ``seq`` it saw never
misses or repeats a notice, whatever the senders put in ``created_ms``.
Text search is the engine's full-text search (``search.py``); identifiers
are matched on their normalised reference rows, which ``notice_refs`` and
``query_ref`` in ``baliza.protocol.notices`` produce alike when storing and
when searching.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import NamedTuple

from sqlalchemy import (
    ColumnElement,
    Float,
    and_,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from baliza.node.storage.models import NoticeRefRow, NoticeRow, table_of
from baliza.node.storage.recipients import Addressee, Recipients
from baliza.node.storage.search import matches, score_of
from baliza.protocol.errors import ReasonCode, StorageError
from baliza.protocol.notices.refs import HIT_TYPES, RefQuery, fold

# SQLite allows 500 terms in one compound SELECT; a batch rarely names more
# than a few hundred distinct references.
_REFS_PER_QUERY = 200

MAX_PAGE = 1000


class Direction(StrEnum):
    """Whether the node received the notice or sent it."""

    IN = "in"
    OUT = "out"


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeRecord:
    """A notice to store: the indexed fields, its JSON form, and its references.

    ``refs`` are the normalised identifiers ``(ref_type, ref_value)`` from
    ``baliza.protocol.notices.notice_refs``; duplicates are stored once.
    Its recipients are stored with the envelope (``storage.recipients``).
    """

    envelope_id: str
    direction: Direction
    kind: str
    sender: str
    created_ms: int
    stored_ms: int
    tlp: str
    summary: str
    search_text: str
    notice_json: str
    programme: str | None = None
    location: str | None = None
    supersedes: str | None = None
    lang: str | None = None
    refs: tuple[tuple[str, str], ...] = ()
    handling_json: str = '{"tlp": "amber"}'
    content_hash: str | None = None
    shares: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredNotice:
    """A stored notice as the API lists it; ``seq`` is its pagination cursor.

    ``recipients`` are the agencies its envelope was addressed to, besides the sender.
    """

    seq: int
    envelope_id: str
    direction: Direction
    kind: str
    sender: str
    recipients: tuple[str, ...]
    created_ms: int
    stored_ms: int
    programme: str | None
    tlp: str
    location: str | None
    summary: str
    notice_json: str
    supersedes: str | None
    refs: tuple[tuple[str, str], ...]
    handling_json: str = '{"tlp": "amber"}'
    shares: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeFilter:
    """What to list. Every set field narrows the result; all unset lists everything.

    ``since_ms`` is inclusive and ``until_ms`` exclusive, both on
    ``created_ms``. Each of ``refs`` must match one stored reference (or
    facet: a place on the route, a commodity). ``text`` is a full-text query:
    every word must occur. Built from the query string by
    ``baliza.node.services.filters``, the one table of filters.
    """

    kind: str | None = None
    sender: str | None = None
    programme: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    refs: tuple[RefQuery, ...] = ()
    text: str | None = None
    direction: Direction | None = None

    @property
    def narrows(self) -> bool:
        """Whether any filter is set (an empty filter passes everything)."""
        return self != NoticeFilter()


class Hit(NamedTuple):
    """Another notice that names the same thing, and the ``(type, value)`` they share."""

    notice: StoredNotice
    ref: tuple[str, str]


def _stored(
    row: NoticeRow, refs: Sequence[tuple[str, str]], recipients: Sequence[Addressee]
) -> StoredNotice:
    return StoredNotice(
        seq=row.seq,
        envelope_id=row.envelope_id,
        direction=Direction(row.direction),
        kind=row.kind,
        sender=row.sender,
        recipients=tuple(r.agency for r in recipients),
        created_ms=row.created_ms,
        stored_ms=row.stored_ms,
        programme=row.programme,
        tlp=row.tlp,
        location=row.location,
        summary=row.summary,
        notice_json=row.notice_json,
        supersedes=row.supersedes,
        refs=tuple(refs),
        handling_json=row.handling_json,
        shares=row.shares,
    )


def _notice_params(record: NoticeRecord) -> dict[str, object]:
    return {
        "envelope_id": record.envelope_id,
        "direction": Direction(record.direction).value,
        "kind": record.kind,
        "sender": record.sender,
        "created_ms": record.created_ms,
        "stored_ms": record.stored_ms,
        "programme": record.programme,
        "tlp": record.tlp,
        "location": record.location,
        "summary": record.summary,
        "search_text": fold(record.search_text),  # both engines search folded text
        "lang": record.lang,
        "notice_json": record.notice_json,
        "supersedes": record.supersedes,
        "handling_json": record.handling_json,
        "content_hash": record.content_hash,
        "shares": record.shares,
    }


def _ref_params(records: Sequence[NoticeRecord]) -> list[dict[str, object]]:
    params: list[dict[str, object]] = []
    for record in records:
        for ref_type, ref_value in dict.fromkeys(record.refs):
            params.append(
                {
                    "sender": record.sender,
                    "envelope_id": record.envelope_id,
                    "ref_type": ref_type,
                    "ref_value": ref_value,
                }
            )
    return params


def _ref_condition(ref: RefQuery) -> ColumnElement[bool]:
    value = NoticeRefRow.ref_value == ref.equals
    if ref.like is not None:
        value = or_(value, NoticeRefRow.ref_value.like(ref.like, escape="\\"))
    return (
        select(NoticeRefRow.id)
        .where(
            NoticeRefRow.sender == NoticeRow.sender,
            NoticeRefRow.envelope_id == NoticeRow.envelope_id,
            NoticeRefRow.ref_type == ref.ref_type,
            value,
        )
        .exists()
    )


def _conditions(session: AsyncSession, where: NoticeFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if where.kind is not None:
        conditions.append(NoticeRow.kind == where.kind)
    if where.sender is not None:
        conditions.append(NoticeRow.sender == where.sender)
    if where.programme is not None:
        conditions.append(NoticeRow.programme == where.programme)
    if where.direction is not None:
        conditions.append(NoticeRow.direction == Direction(where.direction).value)
    if where.since_ms is not None:
        conditions.append(NoticeRow.created_ms >= where.since_ms)
    if where.until_ms is not None:
        conditions.append(NoticeRow.created_ms < where.until_ms)
    if where.text is not None:
        conditions.append(matches(session, where.text))
    conditions += [_ref_condition(ref) for ref in where.refs]
    return conditions


class Notices:
    """Repository of decrypted notices and the references they name."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, record: NoticeRecord) -> int:
        """Store one notice with its references and return its ``seq``.

        A stored ``envelope_id`` fails the transaction with ``StorageError(CONFLICT)``.
        """
        seq: int | None = await self._session.scalar(
            insert(NoticeRow).values(_notice_params(record)).returning(NoticeRow.seq)
        )
        if seq is None:  # pragma: no cover - INSERT … RETURNING always yields a row
            raise StorageError(ReasonCode.STORAGE_FAILED, "insert returned no sequence number")
        await self._add_refs([record])
        return seq

    async def add_many(self, records: Sequence[NoticeRecord]) -> None:
        """Store a batch of notices and all their references in two statements.

        Any stored ``envelope_id`` fails the whole transaction with ``StorageError(CONFLICT)``.
        """
        if not records:
            return
        await self._session.execute(
            insert(table_of(NoticeRow)), [_notice_params(r) for r in records]
        )
        await self._add_refs(records)

    async def _add_refs(self, records: Sequence[NoticeRecord]) -> None:
        params = _ref_params(records)
        if params:
            await self._session.execute(insert(table_of(NoticeRefRow)), params)

    async def get(self, envelope_id: str, sender: str | None = None) -> StoredNotice:
        """The notice carried by ``envelope_id`` (from ``sender``). Raises NOT_FOUND.

        Ids are unique per sender; without a sender the earliest stored wins,
        and ``senders_of`` tells whether the id is shared.
        """
        query = select(NoticeRow).where(NoticeRow.envelope_id == envelope_id)
        if sender is not None:
            query = query.where(NoticeRow.sender == sender)
        row = await self._session.scalar(query.order_by(NoticeRow.seq).limit(1))
        if row is None:
            raise StorageError(ReasonCode.NOT_FOUND, f"no notice for envelope {envelope_id}")
        return (await self._with_refs([row]))[0]

    async def received_copy_of(self, envelope_id: str) -> StoredNotice:
        """The received notice of ``envelope_id``: the envelope itself, or a share naming it."""
        query = (
            select(NoticeRow)
            .where(
                or_(NoticeRow.envelope_id == envelope_id, NoticeRow.shares == envelope_id),
                NoticeRow.direction == Direction.IN.value,
            )
            .order_by(NoticeRow.seq)
            .limit(1)
        )
        row = await self._session.scalar(query)
        if row is None:
            raise StorageError(ReasonCode.NOT_FOUND, f"no received notice for {envelope_id}")
        return (await self._with_refs([row]))[0]

    async def get_many(
        self, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], StoredNotice]:
        """The stored notices among ``keys`` ``(sender, envelope_id)``, in three statements."""
        if not keys:
            return {}
        rows = (
            await self._session.scalars(
                select(NoticeRow).where(_pair_in(NoticeRow.sender, NoticeRow.envelope_id, keys))
            )
        ).all()
        return {(n.sender, n.envelope_id): n for n in await self._with_refs(rows)}

    async def senders_of(self, envelope_id: str) -> list[str]:
        """Every sender holding a notice under ``envelope_id``, first stored first."""
        result = await self._session.scalars(
            select(NoticeRow.sender)
            .where(NoticeRow.envelope_id == envelope_id)
            .order_by(NoticeRow.seq)
        )
        return list(result)

    async def _refs_of(
        self, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], list[tuple[str, str]]]:
        """References of several notices ``(sender, id)``, each list sorted by type, value."""
        refs: dict[tuple[str, str], list[tuple[str, str]]] = {}
        if not keys:
            return refs
        result = await self._session.execute(
            select(
                NoticeRefRow.sender,
                NoticeRefRow.envelope_id,
                NoticeRefRow.ref_type,
                NoticeRefRow.ref_value,
            ).where(_pair_in(NoticeRefRow.sender, NoticeRefRow.envelope_id, keys))
        )
        # Sorted here: asked to sort, SQLite walks the (type, value) index
        # through the whole table instead of looking the notices up.
        for sender, envelope_id, ref_type, ref_value in sorted(result):
            refs.setdefault((sender, envelope_id), []).append((ref_type, ref_value))
        return refs

    async def _with_refs(self, rows: Sequence[NoticeRow]) -> list[StoredNotice]:
        ids = list(dict.fromkeys(row.envelope_id for row in rows))
        refs = await self._refs_of(list(dict.fromkeys((r.sender, r.envelope_id) for r in rows)))
        recipients = await Recipients(self._session).of_many(ids)
        return [
            _stored(
                row,
                refs.get((row.sender, row.envelope_id), []),
                recipients.get(row.envelope_id, ()),
            )
            for row in rows
        ]

    async def list_page(
        self, after_seq: int = 0, limit: int = 50, filters: NoticeFilter | None = None
    ) -> list[StoredNotice]:
        """Up to ``limit`` notices with ``seq > after_seq`` matching ``filters``, by ``seq``.

        The next page starts after the last ``seq`` returned; a short page
        means the end for now. ``limit`` is clamped to 1..``MAX_PAGE``.
        """
        limit = max(1, min(limit, MAX_PAGE))
        query = (
            select(NoticeRow)
            .where(
                NoticeRow.seq > after_seq, *_conditions(self._session, filters or NoticeFilter())
            )
            .order_by(NoticeRow.seq)
            .limit(limit)
        )
        rows = (await self._session.scalars(query)).all()
        return await self._with_refs(rows)

    async def latest(
        self, limit: int = 50, filters: NoticeFilter | None = None
    ) -> list[StoredNotice]:
        """The ``limit`` most recent notices matching ``filters``, oldest of them first.

        What a person asks for first ("the last 20"); the returned cursor
        (the last ``seq``) then follows on with ``list_page``.
        """
        limit = max(1, min(limit, MAX_PAGE))
        query = (
            select(NoticeRow)
            .where(*_conditions(self._session, filters or NoticeFilter()))
            .order_by(NoticeRow.seq.desc())
            .limit(limit)
        )
        rows = list((await self._session.scalars(query)).all())
        rows.reverse()
        return await self._with_refs(rows)

    async def copy_from_another(self, content_hash: str, me: str) -> StoredNotice | None:
        """A received notice with exactly this content from an agency other than ``me``."""
        row = await self._session.scalar(
            select(NoticeRow)
            .where(
                NoticeRow.content_hash == content_hash,
                NoticeRow.direction == Direction.IN.value,
                NoticeRow.sender != me,
            )
            .limit(1)
        )
        return None if row is None else (await self._with_refs([row]))[0]

    async def count(self, filters: NoticeFilter) -> int:
        """How many stored notices match ``filters`` (one indexed count)."""
        total: int | None = await self._session.scalar(
            select(func.count()).select_from(NoticeRow).where(*_conditions(self._session, filters))
        )
        return total or 0

    async def matches(self, seq: int, filters: NoticeFilter) -> bool:
        """Whether the notice ``seq`` passes ``filters``: the live stream's test.

        The very query that lists stored notices, narrowed to one row, so a
        follower sees live exactly what a replay would show.
        """
        found = await self._session.scalar(
            select(NoticeRow.seq).where(NoticeRow.seq == seq, *_conditions(self._session, filters))
        )
        return found is not None

    async def ranked(
        self,
        text: str,
        filters: NoticeFilter,
        limit: int = 50,
        after: tuple[float, int] | None = None,
    ) -> list[tuple[float, StoredNotice]]:
        """The best matches of ``text`` first, with their score; keyset-paged.

        ``after`` is the ``(score, seq)`` of the last result of the previous
        page: the next page holds the results ranked strictly below it.
        """
        score = score_of(self._session, text).label("score")
        ranked = (
            select(NoticeRow.seq.label("seq"), score)
            .where(
                *_conditions(self._session, replace(filters, text=text)),
            )
            .subquery()
        )
        query = select(NoticeRow, ranked.c.score).join(ranked, ranked.c.seq == NoticeRow.seq)
        if after is not None:
            last_score, last_seq = after
            bound = literal(last_score, Float)
            query = query.where(
                or_(
                    ranked.c.score < bound,
                    and_(ranked.c.score == bound, NoticeRow.seq < last_seq),
                )
            )
        query = query.order_by(ranked.c.score.desc(), NoticeRow.seq.desc()).limit(
            max(1, min(limit, MAX_PAGE))
        )
        found = (await self._session.execute(query)).all()
        notices = await self._with_refs([row for row, _ in found])
        return [(float(s), n) for (_, s), n in zip(found, notices, strict=True)]

    async def hit_counts(self, envelope_ids: Sequence[str]) -> dict[str, int]:
        """How many other notices share an identifier with each of ``envelope_ids``."""
        if not envelope_ids:
            return {}
        mine = aliased(NoticeRefRow)
        theirs = aliased(NoticeRefRow)
        query = (
            select(mine.envelope_id, func.count(func.distinct(theirs.envelope_id)))
            .join(
                theirs,
                and_(
                    theirs.ref_type == mine.ref_type,
                    theirs.ref_value == mine.ref_value,
                    theirs.envelope_id != mine.envelope_id,
                ),
            )
            .where(mine.envelope_id.in_(list(envelope_ids)), mine.ref_type.in_(HIT_TYPES))
            .group_by(mine.envelope_id)
        )
        return {eid: n for eid, n in (await self._session.execute(query)).all()}

    async def last_seq(self) -> int:
        """The highest ``seq`` stored, 0 when empty: where a live feed starts."""
        seq: int | None = await self._session.scalar(select(func.max(NoticeRow.seq)))
        return seq or 0

    async def hits(
        self, envelope_id: str, limit: int = 200, sender: str | None = None
    ) -> list[Hit]:
        """Other notices naming a reference this one names, one entry per shared reference.

        Ordered by the other notice's ``seq``, then by reference. A notice
        without references, or an unknown envelope id, has no hits.
        """
        mine = aliased(NoticeRefRow)
        theirs = aliased(NoticeRefRow)
        mine_sender = [] if sender is None else [mine.sender == sender]
        query = (
            select(theirs.ref_type, theirs.ref_value, NoticeRow)
            .select_from(mine)
            .join(
                theirs,
                and_(
                    theirs.ref_type == mine.ref_type,
                    theirs.ref_value == mine.ref_value,
                    or_(theirs.envelope_id != mine.envelope_id, theirs.sender != mine.sender),
                ),
            )
            .join(
                NoticeRow,
                and_(
                    NoticeRow.sender == theirs.sender,
                    NoticeRow.envelope_id == theirs.envelope_id,
                ),
            )
            .where(mine.envelope_id == envelope_id, *mine_sender, mine.ref_type.in_(HIT_TYPES))
            .order_by(NoticeRow.seq, theirs.ref_type, theirs.ref_value)
            .limit(max(1, min(limit, MAX_PAGE)))
        )
        found = (await self._session.execute(query)).all()
        notices = await self._with_refs([row for _, _, row in found])
        return [
            Hit(notice=notice, ref=(ref_type, ref_value))
            for (ref_type, ref_value, _), notice in zip(found, notices, strict=True)
        ]

    async def with_newest_hits(
        self, keys: Sequence[tuple[str, str]], limit: int
    ) -> tuple[dict[tuple[str, str], StoredNotice], dict[tuple[str, str], list[Hit]]]:
        """The stored notices among ``keys`` ``(sender, envelope_id)`` and the ``limit`` most
        recently recorded hits of each, newest first: what a live announcement of a batch says.

        The cost does not grow with how many notices share a reference: each
        reference is read newest first from its index (``ref_type``,
        ``ref_value``, ``id``; ids rise as references are recorded) and the
        read stops after ``limit`` entries plus one per notice of the batch
        naming it (its own entry is skipped). A vessel named in thousands of
        notices costs what one named in ten does. Five statements: this
        batch's references, the bounded reads (one query), and ``get_many``
        of the batch and its hits together.
        """
        if not keys:
            return {}, {}
        limit = max(1, min(limit, MAX_PAGE))
        mine = (
            await self._session.execute(
                select(
                    NoticeRefRow.sender,
                    NoticeRefRow.envelope_id,
                    NoticeRefRow.ref_type,
                    NoticeRefRow.ref_value,
                ).where(
                    _pair_in(NoticeRefRow.sender, NoticeRefRow.envelope_id, keys),
                    NoticeRefRow.ref_type.in_(HIT_TYPES),
                )
            )
        ).all()
        naming: dict[tuple[str, str], int] = {}
        for *_, ref_type, ref_value in mine:
            naming[(ref_type, ref_value)] = naming.get((ref_type, ref_value), 0) + 1
        entries: dict[tuple[str, str], list[tuple[int, str, str]]] = {ref: [] for ref in naming}
        refs = sorted(naming)
        for start in range(0, len(refs), _REFS_PER_QUERY):
            for ref_id, sender, envelope_id, ref_type, ref_value in await self._newest_entries(
                refs[start : start + _REFS_PER_QUERY], naming, limit
            ):
                entries[(ref_type, ref_value)].append((ref_id, sender, envelope_id))
        chosen: dict[tuple[str, str], list[tuple[int, str, str, tuple[str, str]]]] = {}
        for sender, envelope_id, ref_type, ref_value in mine:
            chosen.setdefault((sender, envelope_id), []).extend(
                (ref_id, their_sender, their_id, (ref_type, ref_value))
                for ref_id, their_sender, their_id in entries[(ref_type, ref_value)]
                if (their_sender, their_id) != (sender, envelope_id)
            )
        for key, found in chosen.items():
            chosen[key] = sorted(found, reverse=True)[:limit]
        hit_keys = ((s, e) for found in chosen.values() for _, s, e, _ in found)
        notices = await self.get_many(list(dict.fromkeys([*keys, *hit_keys])))
        hits = {
            key: [
                Hit(notice=notices[(s, e)], ref=ref)
                for _, s, e, ref in chosen.get(key, [])
                if (s, e) in notices
            ]
            for key in keys
        }
        return {key: notices[key] for key in keys if key in notices}, hits

    async def _newest_entries(
        self, refs: Sequence[tuple[str, str]], naming: dict[tuple[str, str], int], limit: int
    ) -> Sequence[tuple[int, str, str, str, str]]:
        """Each reference's newest entries: ``limit`` plus one per notice naming it."""
        parts = [
            select(
                NoticeRefRow.id,
                NoticeRefRow.sender,
                NoticeRefRow.envelope_id,
                NoticeRefRow.ref_type,
                NoticeRefRow.ref_value,
            )
            .where(NoticeRefRow.ref_type == ref_type, NoticeRefRow.ref_value == ref_value)
            .order_by(NoticeRefRow.id.desc())
            .limit(limit + naming[(ref_type, ref_value)])
            .subquery()
            for ref_type, ref_value in refs
        ]
        query = union_all(*(select(*part.c) for part in parts))
        rows = (await self._session.execute(query)).all()
        return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def _pair_in(
    sender: InstrumentedAttribute[str],
    envelope_id: InstrumentedAttribute[str],
    keys: Sequence[tuple[str, str]],
) -> ColumnElement[bool]:
    """``(sender, envelope_id) IN keys``, written so that SQLite uses the index.

    SQLite answers a row-value ``IN`` of more than one row by scanning the
    whole table (a batch's notices or references: 6 ms per lookup at 5,000
    notices, growing with the table); with each column's own ``IN`` in front
    it searches the (sender, envelope_id) index and keeps the exact pairs.
    """
    pairs = list(dict.fromkeys(keys))
    return and_(
        sender.in_(sorted({s for s, _ in pairs})),
        envelope_id.in_(sorted({e for _, e in pairs})),
        tuple_(sender, envelope_id).in_(pairs),
    )
