"""Full-text search over notices: SQLite FTS5 and PostgreSQL text search, one interface.

The stored ``search_text`` is already accent-free and case-folded (see
``baliza.protocol.notices.refs.fold``), and the query is folded the same
way, so "cocaína", "Cocaina" and "COCAÍNA" are one word on both engines.

- SQLite: an FTS5 table ``notices_fts`` (rowid = ``notices.seq``) filled by
  a trigger on ``notices`` (migration 0011); terms match as prefixes (``contenedor`` finds
  ``contenedores``), ranked by BM25. FTS5 has no stemmer for es/pt/fr, so
  prefixes stand in for it.
- PostgreSQL: a GIN expression index over ``to_tsvector`` in the notice's
  language (``lang``: es, pt, en, fr; anything else ``simple``), queried with
  the same expression so the planner uses it; the query is stemmed in every
  configuration (it cannot depend on the row and still use the index) and
  any may match; ranked by ``ts_rank`` in the notice's own language.

Both structures are created by migration 0004 and are not SQLAlchemy models
(neither engine's form can be written as one); ``SEARCH_OBJECTS`` names them
so schema comparisons leave them alone.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    bindparam,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from baliza.node.storage._dialect import dialect_name
from baliza.node.storage.models import NoticeRow
from baliza.protocol.notices.refs import fold

FTS_TABLE = "notices_fts"
PG_INDEX = "ix_notices_fulltext"
SEARCH_OBJECTS = frozenset(
    {FTS_TABLE, PG_INDEX}
    | {f"{FTS_TABLE}_{part}" for part in ("data", "idx", "content", "docsize", "config")}
)
LANGUAGES = {"es": "spanish", "pt": "portuguese", "en": "english", "fr": "french"}
MAX_TERMS = 16


def _pg_case(function: str, argument: str) -> str:
    """``CASE lang WHEN 'es' THEN f('spanish', x) … ELSE f('simple', x) END``."""
    whens = " ".join(
        f"WHEN '{code}' THEN {function}('{config}'::regconfig, {argument})"
        for code, config in LANGUAGES.items()
    )
    return f"CASE lang {whens} ELSE {function}('simple'::regconfig, {argument}) END"


# The migration writes the same expression out literally; they must stay equal
# for PostgreSQL to use the index (tests/node/test_search.py checks the plan).
PG_VECTOR = _pg_case("to_tsvector", "search_text")
PG_QUERY = _pg_case("plainto_tsquery", ":fulltext")

_fts = table(FTS_TABLE, column("rowid"), column("search_text"))


def terms(query: str) -> list[str]:
    """The words of a typed query, folded; punctuation separates words."""
    return [t for t in re.split(r"[^0-9a-z]+", fold(query)) if t][:MAX_TERMS]


def _fts5_query(query: str) -> str:
    # Each term quoted (no FTS5 syntax reaches the engine) and matched as a prefix.
    return " ".join(f'"{t}"*' for t in terms(query))


def matches(session: AsyncSession, query: str) -> ColumnElement[bool]:
    """A WHERE condition: the notice's text matches every word of ``query``."""
    if dialect_name(session) == "postgresql":
        # The query side must not depend on the row for the index to serve it,
        # so the words are stemmed in every configuration and any may match.
        vector: ColumnElement[Any] = literal_column(PG_VECTOR)
        words = " ".join(terms(query))
        return or_(
            *(
                vector.bool_op("@@")(
                    func.plainto_tsquery(literal_column(f"'{config}'::regconfig"), words)
                )
                for config in (*LANGUAGES.values(), "simple")
            )
        )
    hits = select(_fts.c.rowid).where(
        literal_column(FTS_TABLE).bool_op("MATCH")(bindparam("fts", _fts5_query(query)))
    )
    return NoticeRow.seq.in_(hits)


def score_of(session: AsyncSession, query: str) -> ColumnElement[float]:
    """How well a notice matches ``query``: higher is better, comparable within one query."""
    if dialect_name(session) == "postgresql":
        vector: ColumnElement[Any] = literal_column(PG_VECTOR)
        tsquery = text(PG_QUERY).bindparams(fulltext=" ".join(terms(query)))
        return func.ts_rank(vector, tsquery, type_=Float)
    ranked = (
        select(-func.bm25(literal_column(FTS_TABLE)))
        .select_from(_fts)
        .where(
            literal_column(FTS_TABLE).bool_op("MATCH")(bindparam("fts_rank", _fts5_query(query))),
            _fts.c.rowid == NoticeRow.seq,
        )
        .scalar_subquery()
    )
    return ranked.cast(Float)


def searchable(query: str) -> bool:
    """Whether ``query`` has any word to search for."""
    return bool(terms(query))
