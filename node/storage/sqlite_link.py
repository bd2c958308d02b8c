"""The SQLite connection the engine uses: one trip to its thread per statement.

aiosqlite runs each call on the connection's own thread and hands the result
back through the event loop, so every call costs two thread wake-ups (about
80 µs on the benchmark machine, more than a small query itself). Through
SQLAlchemy a statement made four such calls (open a cursor, execute, fetch the
rows, close the cursor) and a transaction another nine (pool ping, ``BEGIN``,
commit, the pool's reset), so a publish paid for some sixty of them.

Here a statement is one call: it executes and fetches its rows on the
connection's thread; opening and closing a cursor, which do no I/O, happen in
place; the pool's reset is skipped when no transaction is open (a rollback
then has nothing to undo). SQLAlchemy never uses one connection from two
tasks at once, so the in-place calls never meet a running statement; that is
also why the ``sqlite3`` connection may be touched from the loop's thread
(``check_same_thread=False``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import Any

import aiosqlite
from aiosqlite.context import contextmanager
from sqlalchemy.engine import make_url

# aiosqlite's default: rows handed over per step of ``async for``.
_ITER_CHUNK = 64


def _execute_and_fetch(cursor: sqlite3.Cursor, sql: str, parameters: Any) -> list[Any]:
    cursor.execute(sql, parameters)
    return cursor.fetchall() if cursor.description else []


class _Cursor(aiosqlite.Cursor):
    """A cursor whose ``execute`` brings the rows back with it."""

    def __init__(self, conn: aiosqlite.Connection, cursor: sqlite3.Cursor) -> None:
        super().__init__(conn, cursor)
        self._rows: list[Any] = []

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> _Cursor:
        self._rows = await self._execute(  # type: ignore[no-untyped-call]  # aiosqlite's own
            _execute_and_fetch, self._cursor, sql, [] if parameters is None else parameters
        )
        return self

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = self.arraysize if size is None else size
        rows, self._rows = self._rows[:count], self._rows[count:]
        return rows

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        self._cursor.close()


class _Connection(aiosqlite.Connection):
    """An aiosqlite connection with in-place cursors and no empty rollbacks."""

    @contextmanager
    async def cursor(self) -> aiosqlite.Cursor:
        return _Cursor(self, self._conn.cursor())

    async def rollback(self) -> None:
        if self._conn.in_transaction:
            await super().rollback()


def sqlite_connector(url: str) -> Callable[[], Awaitable[aiosqlite.Connection]]:
    """The ``async_creator`` of an engine for ``url`` (the file SQLAlchemy would open)."""
    parsed = make_url(url)
    args, options = parsed.get_dialect()().create_connect_args(parsed)
    connect = partial(sqlite3.connect, *args, **{**options, "check_same_thread": False})

    async def create() -> aiosqlite.Connection:
        connection = _Connection(connect, _ITER_CHUNK)
        connection._thread.daemon = True  # as SQLAlchemy does: never holds up exit
        return await connection

    return create
