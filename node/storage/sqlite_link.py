"""The SQLite connection the engine uses: one trip to its thread per statement.

aiosqlite runs each call on the connection's own thread and hands the result
back through the event loop, so every call costs two thread wake-ups (about
80 µs on the benchmark machine, more than a small query itself). Through
SQLAlchemy a statement made four such calls (open a cursor, execute, fetch the
rows, close the cursor) and a transaction another nine (pool ping, ``BEGIN``,
commit, the pool's reset), so a publish paid for some sixty of them.

Here a statement is one call: on the connection's thread it opens a
``sqlite3`` cursor, executes, fetches every row, notes the description, row
count and last row id, and closes the cursor again. The cursor SQLAlchemy
holds is only those results, so opening and closing it touches no SQLite
object and needs no trip. The pool's reset is skipped when no transaction is
open (a rollback then has nothing to undo).

Nothing of ``sqlite3`` is touched from the event loop's thread, and that is
the rule this module keeps: a ``sqlite3`` cursor is not safe to use from two
threads at once. An earlier version closed cursors in place; a cursor closed
on the loop's thread while the connection's thread still stepped its
statement (a task cancelled mid-query, a cursor collected late) crashed the
process with a segmentation fault. ``check_same_thread=False`` is needed only
because the connection is created by one thread and used by another.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import Any

import aiosqlite
from aiosqlite.context import contextmanager
from sqlalchemy.engine import make_url

# aiosqlite's default: rows handed over per step of ``async for``.
_ITER_CHUNK = 64

Description = tuple[tuple[str, None, None, None, None, None, None], ...] | None


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What one statement left behind, read on the connection's thread."""

    rows: list[Any]
    description: Description
    rowcount: int
    lastrowid: int | None


def _run(
    connection: sqlite3.Connection, sql: str, parameters: Any, *, many: bool = False
) -> _Outcome:
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return _Outcome(rows, cursor.description, cursor.rowcount, cursor.lastrowid)
    finally:
        cursor.close()


class _Cursor:
    """The results of the statements run through it; SQLAlchemy's view of a cursor."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection
        self._outcome = _Outcome([], None, -1, None)
        self.arraysize = 1

    async def _call(self, sql: str, parameters: Any, *, many: bool) -> _Cursor:
        self._outcome = await self._connection._execute(  # type: ignore[no-untyped-call]  # aiosqlite's own
            _run, self._connection._conn, sql, parameters, many=many
        )
        return self

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> _Cursor:
        return await self._call(sql, [] if parameters is None else parameters, many=False)

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> _Cursor:
        return await self._call(sql, list(parameters), many=True)

    async def fetchone(self) -> Any:
        rows = self._outcome.rows
        return rows.pop(0) if rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = self.arraysize if size is None else size
        rows = self._outcome.rows
        taken = rows[:count]
        del rows[:count]
        return taken

    async def fetchall(self) -> list[Any]:
        rows = self._outcome.rows[:]
        self._outcome.rows.clear()
        return rows

    async def close(self) -> None:
        self._outcome.rows.clear()

    @property
    def description(self) -> Description:
        return self._outcome.description

    @property
    def rowcount(self) -> int:
        return self._outcome.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._outcome.lastrowid

    async def __aenter__(self) -> _Cursor:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


class _Connection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors hold results, and no empty rollbacks."""

    @contextmanager
    async def cursor(self) -> _Cursor:  # type: ignore[override]  # the interface SQLAlchemy uses
        return _Cursor(self)

    async def rollback(self) -> None:
        # ``in_transaction`` is a flag SQLite keeps for the connection; reading
        # it calls no statement. A connection whose statement was cancelled is
        # invalidated by SQLAlchemy, never reset and reused.
        if self._conn.in_transaction:
            await super().rollback()


def sqlite_connector(
    url: str, factory: type[sqlite3.Connection] = sqlite3.Connection
) -> Callable[[], Awaitable[aiosqlite.Connection]]:
    """The ``async_creator`` of an engine for ``url`` (the file SQLAlchemy would open).

    ``factory`` is the ``sqlite3`` connection class, as for ``sqlite3.connect``.
    """
    parsed = make_url(url)
    args, options = parsed.get_dialect()().create_connect_args(parsed)
    connect = partial(
        sqlite3.connect, *args, **{**options, "check_same_thread": False, "factory": factory}
    )

    async def create() -> aiosqlite.Connection:
        connection = _Connection(connect, _ITER_CHUNK)
        connection._thread.daemon = True  # as SQLAlchemy does: never holds up exit
        return await connection

    return create
