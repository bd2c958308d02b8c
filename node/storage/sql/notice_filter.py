"""What each field of a ``NoticeFilter`` means, written once: as SQL and as a Python test.

Rules of this file:

- ``FIELDS`` is the one table. Each entry names a filter field, the stored
  column it compares and how (``=``, ``>=``, ``<``); references compare
  ``notice_refs`` rows (exactly, or by a LIKE pattern too); full text is the
  engine's. ``conditions`` turns the table into SQL, ``predicate`` into a Python
  function over a notice as the API shows it (``notice_row_json``: the live
  announcement), so the two cannot drift apart; a property test
  (tests/node/test_node_live_filter.py) holds them to the same answers.
- SQL conditions are built per *shape* (which fields are set, how many
  references and which of them carry a pattern, with or without text) with
  bound parameters, and the finished statements are kept per shape by
  their callers: a filter compiles once, not per request.
- Only full text cannot be answered in Python: ``predicate`` refuses a
  filter with ``text``; the live stream asks the database for those.

LIKE is the engine's: SQLite folds ASCII case in ``LIKE`` (and only ASCII),
PostgreSQL does not; ``predicate`` is told which engine it stands for.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, bindparam, or_, select

from baliza.node.storage.models import NoticeRefRow, NoticeRow, table_of
from baliza.node.storage.notices import Direction, NoticeFilter
from baliza.node.storage.sql.search import match_condition, text_params
from baliza.protocol.notices.refs import RefQuery

_notices = table_of(NoticeRow)
_refs = table_of(NoticeRefRow)

# Applied to a column and a bound parameter (SQL) or to two values (Python).
Compare = Callable[[Any, Any], Any]


@dataclass(frozen=True, slots=True)
class Field:
    """A filter field: the stored column (the API's JSON key too) and the comparison."""

    name: str
    column: str
    compare: Compare


FIELDS: tuple[Field, ...] = (
    Field("kind", "kind", operator.eq),
    Field("sender", "sender", operator.eq),
    Field("programme", "programme", operator.eq),
    Field("direction", "direction", operator.eq),
    Field("since_ms", "created_ms", operator.ge),
    Field("until_ms", "created_ms", operator.lt),
)

# (fields set, one flag per reference: has a LIKE pattern, has text)
Shape = tuple[tuple[str, ...], tuple[bool, ...], bool]


def _value(where: NoticeFilter, field: Field) -> Any:
    value = getattr(where, field.name)
    return Direction(value).value if field.name == "direction" and value is not None else value


def shape_of(where: NoticeFilter) -> Shape:
    """The structure of ``where``: filters of one shape share one statement."""
    return (
        tuple(f.name for f in FIELDS if getattr(where, f.name) is not None),
        tuple(ref.like is not None for ref in where.refs),
        where.text is not None,
    )


def _ref_exists(index: int, with_like: bool) -> ColumnElement[bool]:
    value = _refs.c.ref_value == bindparam(f"ref{index}_equals")
    if with_like:
        value = or_(value, _refs.c.ref_value.like(bindparam(f"ref{index}_like"), escape="\\"))
    return (
        select(_refs.c.id)
        .where(
            _refs.c.sender == _notices.c.sender,
            _refs.c.envelope_id == _notices.c.envelope_id,
            _refs.c.ref_type == bindparam(f"ref{index}_type"),
            value,
        )
        .exists()
    )


def conditions(shape: Shape, dialect: str) -> list[ColumnElement[bool]]:
    """The WHERE conditions of a filter of ``shape``, with parameters from ``params``."""
    names, refs, text = shape
    found: list[ColumnElement[bool]] = []
    for field in FIELDS:
        if field.name in names:
            found.append(field.compare(_notices.c[field.column], bindparam(field.name)))
    if text:
        found.append(match_condition(dialect))
    found += [_ref_exists(i, with_like) for i, with_like in enumerate(refs)]
    return found


def params(where: NoticeFilter, dialect: str) -> dict[str, Any]:
    """The bound values of ``where`` for the conditions of its shape."""
    values: dict[str, Any] = {
        f.name: _value(where, f) for f in FIELDS if getattr(where, f.name) is not None
    }
    for i, ref in enumerate(where.refs):
        values[f"ref{i}_type"] = ref.ref_type
        values[f"ref{i}_equals"] = ref.equals
        if ref.like is not None:
            values[f"ref{i}_like"] = ref.like
    if where.text is not None:
        values |= text_params(dialect, where.text)
    return values


# SQLite's LIKE folds the case of ASCII letters only.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def like_matcher(pattern: str, *, fold_ascii: bool) -> Callable[[str], bool]:
    """SQL ``LIKE pattern ESCAPE '\\'`` as a Python test: ``%`` any run, ``_`` one character."""
    parts: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            parts.append(re.escape(next(chars, "\\")))
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char.translate(_ASCII_LOWER) if fold_ascii else char))
    compiled = re.compile("".join(parts), re.DOTALL)
    if not fold_ascii:
        return lambda value: compiled.fullmatch(value) is not None
    return lambda value: compiled.fullmatch(value.translate(_ASCII_LOWER)) is not None


def _ref_test(ref: RefQuery, fold_ascii: bool) -> Callable[[set[tuple[str, str]]], bool]:
    like = None if ref.like is None else like_matcher(ref.like, fold_ascii=fold_ascii)

    def test(named: set[tuple[str, str]]) -> bool:
        if (ref.ref_type, ref.equals) in named:
            return True
        return like is not None and any(t == ref.ref_type and like(v) for t, v in named)

    return test


Item = Mapping[str, Any]


def predicate(where: NoticeFilter, dialect: str) -> Callable[[Item], bool]:
    """``where`` as a Python test of a notice in the API's form (``refs`` and ``facets`` lists).

    Answers as ``where``'s SQL does on ``dialect``. Raises ``ValueError`` for
    a filter with ``text``: full text is the database's.
    """
    if where.text is not None:
        raise ValueError("full text is answered by the database only")
    fields = [
        (f.column, f.compare, _value(where, f))
        for f in FIELDS
        if getattr(where, f.name) is not None
    ]
    refs = [_ref_test(ref, dialect == "sqlite") for ref in where.refs]

    def test(item: Item) -> bool:
        for column, compare, value in fields:
            found = item.get(column)
            if found is None or not bool(compare(found, value)):
                return False
        if not refs:
            return True
        named = {(r["type"], r["value"]) for key in ("refs", "facets") for r in item.get(key, ())}
        return all(ref(named) for ref in refs)

    return test
