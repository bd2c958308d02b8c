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
so schema comparisons leave them alone. The conditions and scores units of
work use are built from these names in ``baliza.node.storage.sql.search``.
"""

from __future__ import annotations

import re

from sqlalchemy import column, table

from baliza.protocol.notices.refs import fold

FTS_TABLE = "notices_fts"
PG_INDEX = "ix_notices_fulltext"
SEARCH_OBJECTS = frozenset(
    {FTS_TABLE, PG_INDEX}
    | {f"{FTS_TABLE}_{part}" for part in ("data", "idx", "content", "docsize", "config")}
)
LANGUAGES = {"es": "spanish", "pt": "portuguese", "en": "english", "fr": "french"}
MAX_TERMS = 16


def pg_case(function: str, argument: str) -> str:
    """``CASE lang WHEN 'es' THEN f('spanish', x) … ELSE f('simple', x) END``."""
    whens = " ".join(
        f"WHEN '{code}' THEN {function}('{config}'::regconfig, {argument})"
        for code, config in LANGUAGES.items()
    )
    return f"CASE lang {whens} ELSE {function}('simple'::regconfig, {argument}) END"


# The migration writes the same expression out literally; they must stay equal
# for PostgreSQL to use the index (tests/node/test_search.py checks the plan).
PG_VECTOR = pg_case("to_tsvector", "search_text")

FTS = table(FTS_TABLE, column("rowid"), column("search_text"))


def terms(query: str) -> list[str]:
    """The words of a typed query, folded; punctuation separates words."""
    return [t for t in re.split(r"[^0-9a-z]+", fold(query)) if t][:MAX_TERMS]


def fts5_query(query: str) -> str:
    """The FTS5 query of ``query``: each term quoted (no FTS5 syntax reaches the
    engine) and matched as a prefix."""
    return " ".join(f'"{t}"*' for t in terms(query))


def searchable(query: str) -> bool:
    """Whether ``query`` has any word to search for."""
    return bool(terms(query))
