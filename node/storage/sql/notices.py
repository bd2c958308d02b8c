"""Indexed notices: storing a batch with its references, and the hits announced with it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, column, insert, select, table, tuple_, union_all

from baliza.node.storage.models import NoticeRefRow, NoticeRow, RecipientRow, table_of
from baliza.node.storage.notices import (
    MAX_PAGE,
    Direction,
    Hit,
    NoticeRecord,
    StoredNotice,
    _notice_params,
    _ref_params,
)
from baliza.node.storage.search import FTS_TABLE
from baliza.protocol.notices.refs import HIT_TYPES, fold

Key = tuple[str, str]  # (sender, envelope id): ids are unique per sender only

_notices = table_of(NoticeRow)
_refs = table_of(NoticeRefRow)
_recipients = table_of(RecipientRow)
_fts = table(FTS_TABLE, column("rowid"), column("search_text"))

_INSERT_NOTICES = insert(_notices).returning(
    _notices.c.seq, _notices.c.sender, _notices.c.envelope_id
)
_INSERT_REFS = insert(_refs)
_INSERT_FTS = insert(_fts)

# SQLite allows 500 terms in one compound SELECT.
_REFS_PER_QUERY = 200
_IN_CHUNK = 500

_COLUMNS = (
    _notices.c.seq,
    _notices.c.envelope_id,
    _notices.c.direction,
    _notices.c.kind,
    _notices.c.sender,
    _notices.c.created_ms,
    _notices.c.stored_ms,
    _notices.c.programme,
    _notices.c.tlp,
    _notices.c.location,
    _notices.c.summary,
    _notices.c.notice_json,
    _notices.c.supersedes,
    _notices.c.handling_json,
    _notices.c.shares,
)


def insert_notices(connection: Connection, records: Sequence[NoticeRecord]) -> dict[Key, int]:
    """Store notices, their references and (SQLite) their full-text rows; return each ``seq``.

    Three statements however many notices. A stored (sender, envelope id)
    fails the unit with ``StorageError(CONFLICT)``.
    """
    if not records:
        return {}
    returned = connection.execute(_INSERT_NOTICES, [_notice_params(r) for r in records])
    seqs = {(sender, eid): seq for seq, sender, eid in returned}
    refs = _ref_params(records)
    if refs:
        connection.execute(_INSERT_REFS, refs)
    if connection.dialect.name == "sqlite":  # PostgreSQL indexes by itself (search.py)
        connection.execute(
            _INSERT_FTS,
            [
                {"rowid": seqs[(r.sender, r.envelope_id)], "search_text": fold(r.search_text)}
                for r in records
            ],
        )
    return seqs


def stored_from(record: NoticeRecord, seq: int, recipients: Sequence[str]) -> StoredNotice:
    """The stored form of a notice just written, without reading it back."""
    return StoredNotice(
        seq=seq,
        envelope_id=record.envelope_id,
        direction=Direction(record.direction),
        kind=record.kind,
        sender=record.sender,
        recipients=tuple(sorted(set(recipients))),
        created_ms=record.created_ms,
        stored_ms=record.stored_ms,
        programme=record.programme,
        tlp=record.tlp,
        location=record.location,
        summary=record.summary,
        notice_json=record.notice_json,
        supersedes=record.supersedes,
        refs=tuple(sorted(dict.fromkeys(record.refs))),
        handling_json=record.handling_json,
        shares=record.shares,
    )


def _pair_in(sender: Any, envelope_id: Any) -> Any:
    """``(sender, envelope_id) IN :pairs``, written so that SQLite searches the index.

    SQLite answers a row-value IN of several rows by scanning the table; with
    each column's own IN in front it uses the (sender, envelope_id) index.
    Parameters: ``senders``, ``ids`` and ``pairs``.
    """
    return and_(
        sender.in_(bindparam("senders", expanding=True)),
        envelope_id.in_(bindparam("ids", expanding=True)),
        tuple_(sender, envelope_id).in_(bindparam("pairs", expanding=True)),
    )


def _pair_params(keys: Sequence[Key]) -> dict[str, Any]:
    pairs = list(dict.fromkeys(keys))
    return {
        "senders": sorted({s for s, _ in pairs}),
        "ids": sorted({e for _, e in pairs}),
        "pairs": pairs,
    }


_NOTICES_AT = select(*_COLUMNS).where(_pair_in(_notices.c.sender, _notices.c.envelope_id))
_REFS_AT = select(_refs.c.sender, _refs.c.envelope_id, _refs.c.ref_type, _refs.c.ref_value).where(
    _pair_in(_refs.c.sender, _refs.c.envelope_id)
)
_RECIPIENTS_OF = select(_recipients.c.envelope_id, _recipients.c.agency).where(
    _recipients.c.envelope_id.in_(bindparam("ids", expanding=True))
)


def get_many(connection: Connection, keys: Sequence[Key]) -> dict[Key, StoredNotice]:
    """The stored notices among ``keys``, with references and recipients (three statements)."""
    if not keys:
        return {}
    rows = connection.execute(_NOTICES_AT, _pair_params(keys)).all()
    found = [(r.sender, r.envelope_id) for r in rows]
    refs: dict[Key, list[tuple[str, str]]] = {}
    if found:
        # Sorted here: asked to sort, SQLite walks the (type, value) index
        # through the whole table instead of looking the notices up.
        for sender, eid, ref_type, ref_value in sorted(
            connection.execute(_REFS_AT, _pair_params(found))
        ):
            refs.setdefault((sender, eid), []).append((ref_type, ref_value))
    recipients: dict[str, list[str]] = {}
    ids = sorted({eid for _, eid in found})
    for start in range(0, len(ids), _IN_CHUNK):
        for eid, agency in connection.execute(
            _RECIPIENTS_OF, {"ids": ids[start : start + _IN_CHUNK]}
        ):
            recipients.setdefault(eid, []).append(agency)
    return {
        (r.sender, r.envelope_id): StoredNotice(
            seq=r.seq,
            envelope_id=r.envelope_id,
            direction=Direction(r.direction),
            kind=r.kind,
            sender=r.sender,
            recipients=tuple(sorted(recipients.get(r.envelope_id, ()))),
            created_ms=r.created_ms,
            stored_ms=r.stored_ms,
            programme=r.programme,
            tlp=r.tlp,
            location=r.location,
            summary=r.summary,
            notice_json=r.notice_json,
            supersedes=r.supersedes,
            refs=tuple(refs.get((r.sender, r.envelope_id), ())),
            handling_json=r.handling_json,
            shares=r.shares,
        )
        for r in rows
    }


def newest_hits(
    connection: Connection, notices: Sequence[StoredNotice], limit: int
) -> dict[Key, list[Hit]]:
    """The ``limit`` most recently recorded hits of each of ``notices``, newest first.

    The notices' own references are known (they were just written), so no
    statement reads them; each reference is read newest first from its index
    (``ref_type``, ``ref_value``, ``id``) and the read stops after ``limit``
    entries plus one per notice of the batch naming it: a vessel named in
    thousands of notices costs what one named in ten does. Four statements
    at most when there are hits (the bounded reads, then ``get_many``), none
    when the batch names nothing a hit is made of.
    """
    limit = max(1, min(limit, MAX_PAGE))
    mine = [
        (n.sender, n.envelope_id, ref_type, ref_value)
        for n in notices
        for ref_type, ref_value in n.refs
        if ref_type in HIT_TYPES
    ]
    if not mine:
        return {}
    naming: dict[tuple[str, str], int] = {}
    for *_, ref_type, ref_value in mine:
        naming[(ref_type, ref_value)] = naming.get((ref_type, ref_value), 0) + 1
    entries: dict[tuple[str, str], list[tuple[int, str, str]]] = {ref: [] for ref in naming}
    refs = sorted(naming)
    for start in range(0, len(refs), _REFS_PER_QUERY):
        part = refs[start : start + _REFS_PER_QUERY]
        query = union_all(
            *(
                select(
                    *select(
                        _refs.c.id,
                        _refs.c.sender,
                        _refs.c.envelope_id,
                        _refs.c.ref_type,
                        _refs.c.ref_value,
                    )
                    .where(_refs.c.ref_type == ref_type, _refs.c.ref_value == ref_value)
                    .order_by(_refs.c.id.desc())
                    .limit(limit + naming[(ref_type, ref_value)])
                    .subquery()
                    .c
                )
                for ref_type, ref_value in part
            )
        )
        for ref_id, sender, eid, ref_type, ref_value in connection.execute(query):
            entries[(ref_type, ref_value)].append((ref_id, sender, eid))
    chosen: dict[Key, list[tuple[int, str, str, tuple[str, str]]]] = {}
    for sender, eid, ref_type, ref_value in mine:
        chosen.setdefault((sender, eid), []).extend(
            (ref_id, their_sender, their_id, (ref_type, ref_value))
            for ref_id, their_sender, their_id in entries[(ref_type, ref_value)]
            if (their_sender, their_id) != (sender, eid)
        )
    for key, found in chosen.items():
        chosen[key] = sorted(found, reverse=True)[:limit]
    wanted = list(dict.fromkeys((s, e) for found in chosen.values() for _, s, e, _ in found))
    others = get_many(connection, wanted)
    return {
        key: [Hit(notice=others[(s, e)], ref=ref) for _, s, e, ref in found if (s, e) in others]
        for key, found in chosen.items()
    }
