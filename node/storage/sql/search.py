"""Full-text conditions and scores for units of work, built once per engine.

The engines' structures and the folding rules are described in
``baliza.node.storage.search`` (migrations 0004 and 0011 create them); this
module only builds the same conditions as statements with bound parameters,
so a search statement is compiled once per engine and shape, never per
query. Parameters: ``fts`` (SQLite, the FTS5 query) or ``words`` (PostgreSQL,
the folded words), from ``text_params``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    String,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    text,
)

from baliza.node.storage.models import NoticeRow, table_of
from baliza.node.storage.search import (
    FTS,
    FTS_TABLE,
    LANGUAGES,
    PG_VECTOR,
    fts5_query,
    pg_case,
    terms,
)

_notices = table_of(NoticeRow)
_WORDS = bindparam("words", type_=String)
_FTS_QUERY = bindparam("fts", type_=String)


def text_params(dialect: str, query: str) -> dict[str, str]:
    """The bound values ``match_condition`` and ``score`` expect for ``query``."""
    if dialect == "postgresql":
        return {"words": " ".join(terms(query))}
    return {"fts": fts5_query(query)}


def _pg_vector() -> ColumnElement[Any]:
    return literal_column(PG_VECTOR)


def match_condition(dialect: str) -> ColumnElement[bool]:
    """A WHERE condition: the notice's text matches every word bound as ``fts``/``words``."""
    if dialect == "postgresql":
        # The query side must not depend on the row for the index to serve it,
        # so the words are stemmed in every configuration and any may match.
        return or_(
            *(
                _pg_vector().bool_op("@@")(
                    func.plainto_tsquery(literal_column(f"'{config}'::regconfig"), _WORDS)
                )
                for config in (*LANGUAGES.values(), "simple")
            )
        )
    hits = select(FTS.c.rowid).where(literal_column(FTS_TABLE).bool_op("MATCH")(_FTS_QUERY))
    return _notices.c.seq.in_(hits)


# The score ranks in the notice's own language.
_PG_QUERY = pg_case("plainto_tsquery", ":words")


def score(dialect: str) -> ColumnElement[float]:
    """How well a notice matches the bound query: higher is better, within one query."""
    if dialect == "postgresql":
        return func.ts_rank(_pg_vector(), text(_PG_QUERY).bindparams(_WORDS), type_=Float)
    ranked = (
        select(-func.bm25(literal_column(FTS_TABLE)))
        .select_from(FTS)
        .where(
            literal_column(FTS_TABLE).bool_op("MATCH")(_FTS_QUERY),
            FTS.c.rowid == _notices.c.seq,
        )
        .scalar_subquery()
    )
    return ranked.cast(Float)
