"""A live filter's Python test answers as its SQL does (storage/sql/notice_filter.py).

The live stream decides in Python whether an announced notice passes a
follower's filter; a replay asks the database. Both come from one table,
and this property test holds them to the same answer: for generated notices
(stored in a real database, on each engine) and generated filters, the
notices the SQL lists are exactly those whose API form (the announcement's
``refs`` and ``facets``) the predicate passes. References are drawn from a
small alphabet with LIKE's special characters, case and accents, so exact
values, patterns, escapes and the engines' case rules all meet.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from hardening_kit import three_nodes, wait_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, event

from baliza.node.services.filters import live_test
from baliza.node.services.index import notice_row_json
from baliza.node.storage import Database
from baliza.node.storage.notices import Direction, NoticeFilter, NoticeRecord, StoredNotice
from baliza.node.storage.sql import notice_filter, notice_pages
from baliza.node.storage.sql import notices as notice_rows
from baliza.protocol.notices.refs import RefQuery, query_ref

T = TypeVar("T")

KINDS = ("notice.seizure", "notice.alert", "notice.outcome")
SENDERS = ("co.polfa.ctg", "es.aduana.alg")
PROGRAMMES = ("ccp", "aircop")
REF_TYPES = ("container", "flight", "person", "document", "company", "location")
# Characters that make LIKE interesting: its wildcards, its escape, a space,
# ASCII letters in both cases (SQLite folds them in LIKE, PostgreSQL does
# not) and accented ones (neither engine folds them).
ALPHABET = "Aab_%\\ :1Éé"
REALISTIC = (
    "IB6454",
    "IB6454 2026-12-01",
    "GARCIA JUAN",
    "GARCIA JUAN 1980-01-01",
    "PA:123456",
    "ES:123456",
    "MSCU1234565",
    "ACME",
    "COCTG",
)


def eid(n: int) -> str:
    return f"0190a5b4-{n:04x}-7000-8000-000000000000"


ref_values = st.one_of(st.sampled_from(REALISTIC), st.text(ALPHABET, min_size=1, max_size=6))
refs = st.lists(
    st.tuples(st.sampled_from(REF_TYPES[:3]) | st.sampled_from(REF_TYPES), ref_values), max_size=4
)


@st.composite
def records(draw: st.DrawFn) -> list[NoticeRecord]:
    count = draw(st.integers(1, 6))
    return [
        NoticeRecord(
            envelope_id=eid(n),
            direction=draw(st.sampled_from(Direction)),
            kind=draw(st.sampled_from(KINDS)),
            sender=draw(st.sampled_from(SENDERS)),
            created_ms=draw(st.integers(0, 10)),
            stored_ms=0,
            programme=draw(st.none() | st.sampled_from(PROGRAMMES)),
            tlp="amber",
            summary=f"notice {n}",
            search_text="x",
            notice_json="{}",
            refs=tuple(sorted(set(draw(refs)))),
        )
        for n in range(count)
    ]


# A LIKE pattern as tokens, so it is always valid (no escape at its end).
like_tokens = st.sampled_from(
    ["%", "_", "\\%", "\\_", "\\\\", "A", "a", "b", "1", " ", ":", "É", "é"]
)
like_patterns = st.one_of(
    st.sampled_from(("%", "IB6454 %", "%:123456", "GARCIA JUAN %", "a%", "A%", "_%", "%\\%%")),
    st.lists(like_tokens, min_size=1, max_size=5).map("".join),
)


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@st.composite
def ref_queries(draw: st.DrawFn, named: list[tuple[str, str]]) -> RefQuery:
    """A reference to filter by: often one the stored notices name, or a pattern over it."""
    if named and draw(st.sampled_from((True, True, False))):
        ref_type, value = draw(st.sampled_from(named))
        cut = draw(st.integers(0, len(value)))
        pattern = draw(
            st.sampled_from(
                (
                    _escaped(value[:cut]) + "%",  # a prefix
                    "%" + _escaped(value[cut:]),  # a suffix
                    _escaped(value[:cut]) + "_" * len(value[cut:]),  # one character each
                    _escaped(value.swapcase()),  # another case
                )
            )
        )
        equals = draw(st.sampled_from((value, value.swapcase(), value[:cut])))
        return RefQuery(ref_type, equals, draw(st.sampled_from((pattern, pattern, None))))
    ref_type = draw(st.sampled_from(REF_TYPES[:3]) | st.sampled_from(REF_TYPES))
    if draw(st.booleans()):
        # As an analyst types it, normalised as the API does.
        typed = draw(st.sampled_from(("ib6454", "García Juan", "123456", "PA:123456", "Acme")))
        if ref_type in {"flight", "person", "document", "company"}:
            try:
                return query_ref(ref_type, typed)
            except Exception:
                pass
    return RefQuery(ref_type, draw(ref_values), draw(st.none() | like_patterns))


@st.composite
def filters(draw: st.DrawFn, named: list[tuple[str, str]]) -> NoticeFilter:
    maybe = st.sampled_from((True, False, False))  # most fields unset, so some notices pass
    return NoticeFilter(
        kind=draw(st.sampled_from(KINDS)) if draw(maybe) else None,
        sender=draw(st.sampled_from(SENDERS)) if draw(maybe) else None,
        programme=draw(st.sampled_from(PROGRAMMES)) if draw(maybe) else None,
        since_ms=draw(st.integers(0, 11)) if draw(maybe) else None,
        until_ms=draw(st.integers(0, 11)) if draw(maybe) else None,
        direction=draw(st.sampled_from(Direction)) if draw(maybe) else None,
        refs=tuple(draw(ref_queries(named)) for _ in range(draw(st.integers(0, 2)))),
    )


class _AnswerError(Exception):
    """Carries a unit's answer out, so the unit rolls back what it stored."""

    def __init__(self, value: Any) -> None:
        super().__init__("answer")
        self.value = value


async def test_the_predicate_and_the_sql_agree(database: Database) -> None:
    loop = asyncio.get_running_loop()

    def on_loop(work: Callable[[Connection], T]) -> T:
        def answered(connection: Connection) -> None:
            raise _AnswerError(work(connection))

        future = asyncio.run_coroutine_threadsafe(database.run(answered, write=True), loop)
        try:
            future.result()
        except _AnswerError as answer:
            return answer.value  # type: ignore[no-any-return]
        raise AssertionError("the unit returned no answer")

    @settings(
        max_examples=300,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        database=None,
        # The same examples every run: the coverage guard below must not be luck.
        derandomize=True,
    )
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        stored = data.draw(records(), "stored")
        named = sorted({ref for record in stored for ref in record.refs})
        where = data.draw(filters(named), "where")

        def unit(connection: Connection) -> tuple[list[StoredNotice], set[str]]:
            notice_rows.insert_notices(connection, stored)
            everything = notice_pages.list_page(connection, 0, 1000)
            listed = notice_pages.list_page(connection, 0, 1000, where)
            return everything, {n.envelope_id for n in listed}

        everything, by_sql = on_loop(unit)
        test = live_test(where, database.dialect)
        assert test is not None
        by_python = {n.envelope_id for n in everything if test(notice_row_json(n, with_body=False))}
        assert by_python == by_sql, (where, [(n.envelope_id, n.refs) for n in everything])
        covered["examples"] += 1
        covered["split"] += 0 < len(by_sql) < len(everything)
        covered["pattern"] += any(r.like is not None for r in where.refs) and bool(by_sql)

    covered: Counter[str] = Counter()
    await asyncio.to_thread(check)
    # Not vacuous: filters split the notices, and patterns let some through.
    assert covered["split"] >= 5 and covered["pattern"] >= 3, covered


def test_full_text_is_left_to_the_database() -> None:
    assert live_test(NoticeFilter(text="cocaína"), "sqlite") is None
    with pytest.raises(ValueError):
        notice_filter.predicate(NoticeFilter(text="cocaína"), "sqlite")
    assert live_test(NoticeFilter(), "postgresql") is not None


@pytest.mark.parametrize(
    ("pattern", "value", "fold", "expected"),
    [
        ("IB6454 %", "IB6454 2026-12-01", False, True),
        ("IB6454 %", "IB6454", False, False),
        ("%:123456", "PA:123456", False, True),
        ("a_c", "abc", False, True),
        ("a\\_c", "abc", False, False),
        ("a\\_c", "a_c", False, True),
        ("100\\%", "100%", False, True),
        ("A%", "abc", True, True),  # SQLite folds ASCII case
        ("A%", "abc", False, False),  # PostgreSQL does not
        ("É", "é", True, False),  # nor does SQLite fold beyond ASCII
    ],
)
def test_like_as_the_engines_read_it(pattern: str, value: str, fold: bool, expected: bool) -> None:
    assert notice_filter.like_matcher(pattern, fold_ascii=fold)(value) is expected


def test_filters_of_one_shape_share_one_statement() -> None:
    first = NoticeFilter(kind="notice.alert", refs=(query_ref("person", "García Juan"),))
    second = NoticeFilter(kind="notice.seizure", refs=(query_ref("person", "Pérez Ana"),))
    assert notice_filter.shape_of(first) == notice_filter.shape_of(second)
    assert notice_filter.params(first, "sqlite") != notice_filter.params(second, "sqlite")


def announced(seq: int, kind: str) -> dict[str, Any]:
    """A live announcement as a storing unit makes it (only what the filter reads matters)."""
    return {
        "id": eid(seq),
        "seq": seq,
        "direction": "in",
        "kind": kind,
        "sender": "ec.polnac.gye",
        "created_ms": 1,
        "programme": "ccp",
        "refs": [{"type": "container", "value": "MSCU1234566"}],
        "facets": [{"type": "location", "value": "COCTG"}],
        "hits": [],
    }


async def test_a_live_event_costs_a_filtered_follower_no_statement(tmp_path: Path) -> None:
    """Per event per follower with a narrowing filter: no read (it was one unit of one
    statement each before the filter became a Python test)."""
    _, alg, _ = three_nodes(tmp_path)
    await alg.start()
    statements: list[str] = []

    def on_statement(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        statements.append(sql)

    query = "kind=seizure&container=MSCU%201234566&location=COCTG&direction=in&programme=ccp"
    headers = {"Authorization": f"Bearer {alg.tokens['analyst']}"}
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{alg.url}/api/v1/stream?{query}", headers=headers) as resp,
        ):
            assert resp.status == 200

            async def following() -> bool:
                return alg.ctx.live.followers == 1

            await wait_for(following)
            seen = b""

            async def until(event_id: int) -> None:
                nonlocal seen
                async with asyncio.timeout(20):
                    while f"id: {event_id}\n".encode() not in seen:
                        seen += await resp.content.readany()

            # The first event reads the token once (the stream has not checked it yet).
            alg.ctx.live.publish(announced(1, "notice.seizure"))
            await until(1)
            for engine in alg.ctx.db.engines:
                event.listen(engine, "before_cursor_execute", on_statement)
            try:
                alg.ctx.live.publish(announced(2, "notice.alert"))  # left out by the filter
                alg.ctx.live.publish(announced(3, "notice.seizure"))
                await until(3)
            finally:
                for engine in alg.ctx.db.engines:
                    event.remove(engine, "before_cursor_execute", on_statement)
            assert b"id: 2\n" not in seen
    finally:
        await alg.stop()
    assert statements == []
