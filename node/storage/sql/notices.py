"""Indexed notices: storing a batch with its references, reading them back by id,
and their hits. Pages, filters and full text: ``notice_pages``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    tuple_,
    union_all,
)

from baliza.node.storage.models import NoticeRefRow, NoticeRow, RecipientRow, table_of
from baliza.node.storage.notices import (
    MAX_PAGE,
    Direction,
    Hit,
    NoticeRecord,
    StoredNotice,
)
from baliza.protocol.errors import ReasonCode, StorageError
from baliza.protocol.notices.refs import HIT_TYPES, fold

Key = tuple[str, str]  # (sender, envelope id): ids are unique per sender only

_notices = table_of(NoticeRow)
_refs = table_of(NoticeRefRow)
_recipients = table_of(RecipientRow)

_INSERT_NOTICES = insert(_notices).returning(
    _notices.c.seq, _notices.c.sender, _notices.c.envelope_id
)
_INSERT_REFS = insert(_refs)

# SQLite allows 500 terms in one compound SELECT.
_REFS_PER_QUERY = 200
_IN_CHUNK = 500

COLUMNS = (
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
    return [
        {
            "sender": record.sender,
            "envelope_id": record.envelope_id,
            "ref_type": ref_type,
            "ref_value": ref_value,
        }
        for record in records
        for ref_type, ref_value in dict.fromkeys(record.refs)
    ]


def insert_notices(connection: Connection, records: Sequence[NoticeRecord]) -> dict[Key, int]:
    """Store notices and their references; return each ``seq``.

    Two statements however many notices (on SQLite the full-text row is the
    trigger's, migration 0011). A stored (sender, envelope id) fails the unit
    with ``StorageError(CONFLICT)``.
    """
    if not records:
        return {}
    returned = connection.execute(_INSERT_NOTICES, [_notice_params(r) for r in records])
    seqs = {(sender, eid): seq for seq, sender, eid in returned}
    refs = _ref_params(records)
    if refs:
        connection.execute(_INSERT_REFS, refs)
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


_NOTICES_AT = select(*COLUMNS).where(_pair_in(_notices.c.sender, _notices.c.envelope_id))
_REFS_AT = select(_refs.c.sender, _refs.c.envelope_id, _refs.c.ref_type, _refs.c.ref_value).where(
    _pair_in(_refs.c.sender, _refs.c.envelope_id)
)
_RECIPIENTS_OF = select(_recipients.c.envelope_id, _recipients.c.agency).where(
    _recipients.c.envelope_id.in_(bindparam("ids", expanding=True))
)


def complete(connection: Connection, rows: Sequence[Any]) -> list[StoredNotice]:
    """Rows of ``COLUMNS`` as stored notices, with references and recipients (two statements)."""
    found = list(dict.fromkeys((r.sender, r.envelope_id) for r in rows))
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
    return [
        StoredNotice(
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
    ]


def get_many(connection: Connection, keys: Sequence[Key]) -> dict[Key, StoredNotice]:
    """The stored notices among ``keys``, with references and recipients (three statements)."""
    if not keys:
        return {}
    rows = connection.execute(_NOTICES_AT, _pair_params(keys)).all()
    return {(n.sender, n.envelope_id): n for n in complete(connection, rows)}


_FIRST = select(*COLUMNS).order_by(_notices.c.seq).limit(1)
_GET = _FIRST.where(_notices.c.envelope_id == bindparam("eid"))
_GET_FROM = _GET.where(_notices.c.sender == bindparam("sender"))
_RECEIVED_COPY = _FIRST.where(
    or_(_notices.c.envelope_id == bindparam("eid"), _notices.c.shares == bindparam("eid")),
    _notices.c.direction == Direction.IN.value,
)
_COPY_FROM_ANOTHER = (
    select(*COLUMNS)
    .limit(1)
    .where(
        _notices.c.content_hash == bindparam("content_hash"),
        _notices.c.direction == Direction.IN.value,
        _notices.c.sender != bindparam("me"),
    )
)
_SENDERS_OF = (
    select(_notices.c.sender)
    .where(_notices.c.envelope_id == bindparam("eid"))
    .order_by(_notices.c.seq)
)
_LAST_SEQ = select(func.max(_notices.c.seq))


def _one(connection: Connection, statement: Any, values: dict[str, Any]) -> StoredNotice | None:
    rows = connection.execute(statement, values).all()
    return complete(connection, rows)[0] if rows else None


def get(connection: Connection, envelope_id: str, sender: str | None = None) -> StoredNotice:
    """The notice carried by ``envelope_id`` (from ``sender``). Raises NOT_FOUND.

    Ids are unique per sender; without a sender the earliest stored wins,
    and ``senders_of`` tells whether the id is shared.
    """
    if sender is None:
        found = _one(connection, _GET, {"eid": envelope_id})
    else:
        found = _one(connection, _GET_FROM, {"eid": envelope_id, "sender": sender})
    if found is None:
        raise StorageError(ReasonCode.NOT_FOUND, f"no notice for envelope {envelope_id}")
    return found


def received_copy_of(connection: Connection, envelope_id: str) -> StoredNotice:
    """The received notice of ``envelope_id``: the envelope itself, or a share naming it."""
    found = _one(connection, _RECEIVED_COPY, {"eid": envelope_id})
    if found is None:
        raise StorageError(ReasonCode.NOT_FOUND, f"no received notice for {envelope_id}")
    return found


def copy_from_another(connection: Connection, content_hash: str, me: str) -> StoredNotice | None:
    """A received notice with exactly this content from an agency other than ``me``."""
    return _one(connection, _COPY_FROM_ANOTHER, {"content_hash": content_hash, "me": me})


def senders_of(connection: Connection, envelope_id: str) -> list[str]:
    """Every sender holding a notice under ``envelope_id``, first stored first."""
    return list(connection.execute(_SENDERS_OF, {"eid": envelope_id}).scalars())


def last_seq(connection: Connection) -> int:
    """The highest ``seq`` stored, 0 when empty: where a live feed starts."""
    return int(connection.execute(_LAST_SEQ).scalar() or 0)


def _limit(limit: int) -> int:
    return max(1, min(limit, MAX_PAGE))


_mine = _refs.alias("mine")
_theirs = _refs.alias("theirs")
_mine_notice = _notices.alias("mine_notice")
_theirs_notice = _notices.alias("theirs_notice")
# A share is its original again (``shares`` names it): a hit counts originals.
_their_original = func.coalesce(_theirs_notice.c.shares, _theirs.c.envelope_id)
_my_original = func.coalesce(_mine_notice.c.shares, _mine.c.envelope_id)
_HIT_COUNTS = (
    select(_mine.c.envelope_id, func.count(func.distinct(_their_original)))
    .select_from(_mine)
    .join(
        _mine_notice,
        and_(
            _mine_notice.c.sender == _mine.c.sender,
            _mine_notice.c.envelope_id == _mine.c.envelope_id,
        ),
    )
    .join(
        _theirs,
        and_(
            _theirs.c.ref_type == _mine.c.ref_type,
            _theirs.c.ref_value == _mine.c.ref_value,
            _theirs.c.envelope_id != _mine.c.envelope_id,
        ),
    )
    .join(
        _theirs_notice,
        and_(
            _theirs_notice.c.sender == _theirs.c.sender,
            _theirs_notice.c.envelope_id == _theirs.c.envelope_id,
        ),
    )
    .where(
        _mine.c.envelope_id.in_(bindparam("ids", expanding=True)),
        _mine.c.ref_type.in_(HIT_TYPES),
        _their_original != _my_original,
    )
    .group_by(_mine.c.envelope_id)
)


def hit_counts(connection: Connection, envelope_ids: Sequence[str]) -> dict[str, int]:
    """How many other notices share an identifier with each of ``envelope_ids``.

    Each other *original* once: a share of a notice is that notice again, and
    a notice's own share is no hit of it (``services.views.originals`` says
    the same for the hits listed on a notice's page).
    """
    ids = list(dict.fromkeys(envelope_ids))
    found: dict[str, int] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        for eid, n in connection.execute(_HIT_COUNTS, {"ids": ids[start : start + _IN_CHUNK]}):
            found[eid] = n
    return found


def _hits_query(with_sender: bool) -> Any:
    mine_sender = [_mine.c.sender == bindparam("sender")] if with_sender else []
    return (
        select(
            _theirs.c.ref_type.label("hit_type"), _theirs.c.ref_value.label("hit_value"), *COLUMNS
        )
        .select_from(_mine)
        .join(
            _theirs,
            and_(
                _theirs.c.ref_type == _mine.c.ref_type,
                _theirs.c.ref_value == _mine.c.ref_value,
                or_(
                    _theirs.c.envelope_id != _mine.c.envelope_id,
                    _theirs.c.sender != _mine.c.sender,
                ),
            ),
        )
        .join(
            _notices,
            and_(
                _notices.c.sender == _theirs.c.sender,
                _notices.c.envelope_id == _theirs.c.envelope_id,
            ),
        )
        .where(
            _mine.c.envelope_id == bindparam("eid"),
            *mine_sender,
            _mine.c.ref_type.in_(HIT_TYPES),
        )
        .order_by(_notices.c.seq, _theirs.c.ref_type, _theirs.c.ref_value)
        .limit(bindparam("limit"))
    )


_HITS = _hits_query(with_sender=False)
_HITS_FROM = _hits_query(with_sender=True)


def hits(
    connection: Connection, envelope_id: str, limit: int = 200, sender: str | None = None
) -> list[Hit]:
    """Other notices naming a reference this one names, one entry per shared reference.

    Ordered by the other notice's ``seq``, then by reference. A notice
    without references, or an unknown envelope id, has no hits.
    """
    values: dict[str, Any] = {"eid": envelope_id, "limit": _limit(limit)}
    if sender is not None:
        values["sender"] = sender
    rows = connection.execute(_HITS if sender is None else _HITS_FROM, values).all()
    notices = complete(connection, rows)
    return [
        Hit(notice=notice, ref=(row.hit_type, row.hit_value))
        for row, notice in zip(rows, notices, strict=True)
    ]


@dataclass(frozen=True, slots=True)
class HitNote:
    """What a live announcement says of a hit: the other notice, and the reference both name."""

    envelope_id: str
    sender: str
    summary: str
    handling_json: str
    ref: tuple[str, str]


def newest_hits(
    connection: Connection, notices: Sequence[StoredNotice], limit: int
) -> dict[Key, list[HitNote]]:
    """The ``limit`` most recently recorded hits of each of ``notices``, newest first.

    The notices' own references are known (they were just written), so no
    statement reads them. Each reference is read newest first from its index
    (``ref_type``, ``ref_value``, ``id``) and the read stops after ``limit``
    entries plus one per notice of the batch naming it, so a vessel named in
    thousands of notices costs what one named in ten does; the other
    notices' summaries come in the same statement. One statement (per 200
    distinct references) when the batch names anything a hit is made of,
    none otherwise.
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
    entries: dict[tuple[str, str], list[tuple[int, HitNote]]] = {ref: [] for ref in naming}
    refs = sorted(naming)
    for start in range(0, len(refs), _REFS_PER_QUERY):
        newest = union_all(
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
                for ref_type, ref_value in refs[start : start + _REFS_PER_QUERY]
            )
        ).subquery()
        query = select(
            newest.c.id,
            newest.c.sender,
            newest.c.envelope_id,
            newest.c.ref_type,
            newest.c.ref_value,
            _notices.c.summary,
            _notices.c.handling_json,
        ).join(
            _notices,
            and_(
                _notices.c.sender == newest.c.sender,
                _notices.c.envelope_id == newest.c.envelope_id,
            ),
        )
        for ref_id, sender, eid, ref_type, ref_value, summary, handling in connection.execute(
            query
        ):
            note = HitNote(eid, sender, summary, handling, (ref_type, ref_value))
            entries[(ref_type, ref_value)].append((ref_id, note))
    chosen: dict[Key, list[tuple[int, HitNote]]] = {}
    for sender, eid, ref_type, ref_value in mine:
        chosen.setdefault((sender, eid), []).extend(
            (ref_id, note)
            for ref_id, note in entries[(ref_type, ref_value)]
            if (note.sender, note.envelope_id) != (sender, eid)
        )
    return {
        key: [note for _, note in sorted(found, key=lambda f: f[0], reverse=True)[:limit]]
        for key, found in chosen.items()
    }


# A received notice that is the same notice (its identity, rules/identity.py)
# from an agency other than this one: what re-publication is checked against.
_SAME_FROM_ANOTHER = (
    select(_notices.c.envelope_id, _notices.c.sender, _notices.c.tlp)
    .where(
        _notices.c.content_hash == bindparam("identity"),
        _notices.c.direction == Direction.IN.value,
        _notices.c.sender != bindparam("me"),
    )
    .limit(1)
)
_NOTICE_JSON = (
    select(_notices.c.kind, _notices.c.notice_json)
    .where(_notices.c.envelope_id == bindparam("id"), _notices.c.sender == bindparam("sender"))
    .limit(1)
)


def same_from_another(
    connection: Connection, identity: str, me: str
) -> tuple[str, str, str] | None:
    """(envelope id, sender, TLP) of a received notice with ``identity`` from another agency."""
    row = connection.execute(_SAME_FROM_ANOTHER, {"identity": identity, "me": me}).first()
    return None if row is None else (row[0], row[1], row[2])


def kind_and_json(connection: Connection, envelope_id: str, sender: str) -> tuple[str, str] | None:
    """(kind, notice JSON) of one stored notice."""
    row = connection.execute(_NOTICE_JSON, {"id": envelope_id, "sender": sender}).first()
    return None if row is None else (row[0], row[1])
