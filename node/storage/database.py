"""The node's database: units of work (``Database.run``), one transaction per use case.

A unit of work is a plain synchronous function over SQLAlchemy Core holding
every statement of one use case (docs/adr/0008-units-of-work.md). On SQLite
it runs whole on one of the database's own threads (one writer, a few
readers); on PostgreSQL through ``AsyncConnection.run_sync`` over asyncpg.

This module is the single boundary where SQLAlchemy and driver exceptions
become ``StorageError``: ``IntegrityError`` (a unique or foreign key
violation, e.g. an envelope stored twice) becomes ``CONFLICT``, every other
database failure ``STORAGE_FAILED``. Repositories raise ``StorageError``
themselves (``NOT_FOUND``) and never catch anything.

SQLite is the embedded default. Each connection gets WAL (readers never block
the writer), ``synchronous=FULL`` (a commit survives power loss, which the
"nothing lost across kill -9" promise needs), foreign keys, and a busy
timeout. Write transactions start with ``BEGIN IMMEDIATE``: a deferred
transaction that reads and then writes can fail at once with "database is
locked" when another connection committed in between, whatever the timeout;
taking the write lock up front makes concurrent writers queue instead.
"""

from __future__ import annotations

import asyncio
import importlib.resources
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    create_async_engine,
)

from baliza.protocol.errors import ReasonCode, StorageError

SQLITE_FILE_NAME = "baliza.db"
_SQLITE_BEGIN = "baliza_sqlite_begin"
# Several node processes may share one PostgreSQL database and start together;
# this transaction-scoped advisory lock lets one migrate while the others wait.
# The number is arbitrary but fixed ("baliza" in ASCII).
_MIGRATION_LOCK = 0x62616C697A61
_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
# Threads that run read units of work on SQLite (WAL lets them read while the
# writer writes). Two cores here; more readers would only queue on the GIL.
SQLITE_READERS = 4

T = TypeVar("T")
Work = Callable[[Connection], T]


def sqlite_url_for(data_dir: Path) -> str:
    """Return the URL of the node's embedded SQLite database in ``data_dir``."""
    return f"sqlite+aiosqlite:///{(data_dir / SQLITE_FILE_NAME).resolve()}"


def _normalise_url(url: str) -> str:
    """Pick the async driver when a URL names only the engine (``postgresql://``)."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError as error:
        raise StorageError(ReasonCode.STORAGE_FAILED, f"bad database URL: {error}") from None
    backend = parsed.get_backend_name()
    if backend not in _DRIVERS:
        raise StorageError(
            ReasonCode.STORAGE_FAILED, f"unsupported database {backend!r}: use sqlite or postgresql"
        )
    return parsed.set(drivername=_DRIVERS[backend]).render_as_string(hide_password=False)


def _translate(error: BaseException) -> StorageError:
    """Map a SQLAlchemy or driver exception onto the one error tree.

    The detail names the driver's complaint only: SQLAlchemy's own message
    carries the statement and its parameters (notice text, evidence bytes),
    which must not reach logs or API answers. The original stays chained.
    """
    cause = error.orig if isinstance(error, exc.DBAPIError) else error
    complaint = f"{type(cause).__name__}: {cause}".splitlines()[0][:300]
    if isinstance(error, exc.IntegrityError):
        return StorageError(ReasonCode.CONFLICT, f"conflicts with stored data ({complaint})")
    return StorageError(ReasonCode.STORAGE_FAILED, f"database failure ({complaint})")


# Exceptions a database call may raise on top of SQLAlchemy's own: a refused
# TCP connection surfaces from asyncpg as an OSError before SQLAlchemy wraps it.
_DATABASE_ERRORS = (exc.SQLAlchemyError, OSError)


# PostgreSQL's units that only read: autocommit and no pre-ping (see ``Database._read_unit``).
_READ_ENGINE_OPTIONS: dict[str, Any] = {"isolation_level": "AUTOCOMMIT"}


def _engine_options(url: str) -> dict[str, Any]:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return {"pool_pre_ping": True}
    # A local file cannot drop the connection, so no ping. On SQLite this
    # async engine serves only diagnostics (``Database.engine``, for tests);
    # units of work use the synchronous engine on the database's own threads.
    return {}


def _sqlite_sync_engine(url: str) -> Engine:
    """The synchronous engine units of work use on SQLite.

    pysqlite, not aiosqlite: a unit runs whole on one of the database's own
    threads, so there is no event loop to hand statements back to.
    ``check_same_thread=False`` only because the pool hands a connection to
    whichever database thread runs the next unit; one thread uses it at a time.
    """
    parsed = make_url(url)
    if parsed.database in (None, "", ":memory:"):
        raise StorageError(
            ReasonCode.STORAGE_FAILED,
            "SQLite needs a database file (an in-memory one is not shared)",
        )
    engine = create_engine(
        parsed.set(drivername="sqlite+pysqlite"),
        connect_args={"check_same_thread": False},
        # One held connection per database thread; room to replace a few broken ones.
        pool_size=SQLITE_READERS + 1,
        max_overflow=SQLITE_READERS + 1,
    )
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Taking transaction control from the driver lets the "begin" hook choose
    # BEGIN IMMEDIATE; journal_mode cannot change inside a transaction anyway.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
    finally:
        cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get(_SQLITE_BEGIN, "IMMEDIATE")
    connection.exec_driver_sql(f"BEGIN {mode}")


def _alembic_config(connection: Connection) -> Config:
    """Build the Alembic configuration in code: no alembic.ini at runtime."""
    config = Config()
    config.set_main_option("script_location", str(importlib.resources.files("baliza.migrations")))
    config.attributes["connection"] = connection
    return config


class Database:
    """An open database: its engines, its database threads, and migrations.

    Open with ``await Database.open(url)``, bring the schema up to date with
    ``await db.upgrade()``, do work with ``await db.run(work, write=…)`` (only
    services do), and ``await db.close()`` at shutdown.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        sync_engine: Engine | None = None,
        read_engine: AsyncEngine | None = None,
    ) -> None:
        self._engine = engine
        self._sync_engine = sync_engine
        self._read_engine = read_engine
        self._unit_engines = {
            mode: sync_engine.execution_options(**{_SQLITE_BEGIN: mode})
            for mode in ("DEFERRED", "IMMEDIATE")
            if sync_engine is not None
        }
        # SQLite: one writer thread (SQLite has one writer at a time anyway,
        # and a queue in front of it beats its sleeping busy handler) and a
        # few readers. Units of work run whole on them; the event loop's
        # thread never touches sqlite3. Each database thread keeps its
        # connections open between units: a pool checkout and its reset cost
        # more than a small unit's statements.
        self._local = threading.local()
        self._held: list[Connection] = []
        self._held_lock = threading.Lock()
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="baliza-db-writer")
        self._readers = ThreadPoolExecutor(SQLITE_READERS, thread_name_prefix="baliza-db-reader")

    @classmethod
    async def open(cls, url: str) -> Database:
        """Create the engine for ``url`` and check that the database answers.

        ``sqlite://`` and ``postgresql://`` URLs get the async drivers
        (aiosqlite, asyncpg). Raises ``StorageError(STORAGE_FAILED)`` when the
        URL is unsupported or the database cannot be reached.
        """
        url = _normalise_url(url)
        engine = create_async_engine(url, **_engine_options(url))
        sync_engine = None
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
            event.listen(engine.sync_engine, "begin", _on_sqlite_begin)
            try:
                sync_engine = _sqlite_sync_engine(url)
            except StorageError:
                await engine.dispose()
                raise
        read_engine = None
        if engine.dialect.name == "postgresql":
            read_engine = create_async_engine(url, **_READ_ENGINE_OPTIONS)
        database = cls(engine, sync_engine, read_engine)
        try:
            await database.ping()
        except StorageError:
            await database.close()
            raise
        return database

    @property
    def engine(self) -> AsyncEngine:
        """The underlying engine, for diagnostics and tests."""
        return self._engine

    @property
    def engines(self) -> tuple[Engine, ...]:
        """Every synchronous engine statements run on, for counting them in benchmarks."""
        extra = [e for e in (self._sync_engine,) if e is not None]
        if self._read_engine is not None:
            extra.append(self._read_engine.sync_engine)
        return (self._engine.sync_engine, *extra)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._engine.dialect.name

    async def ping(self) -> None:
        """Check that the database answers. Raises ``StorageError(STORAGE_FAILED)``."""
        if self._sync_engine is not None:
            await self.run(lambda connection: connection.exec_driver_sql("SELECT 1"), write=False)
            return
        try:
            async with self._engine.connect() as connection:
                await connection.exec_driver_sql("SELECT 1")
        except _DATABASE_ERRORS as error:
            raise _translate(error) from error

    async def upgrade(self, revision: str = "head") -> None:
        """Migrate the schema up to ``revision`` in one transaction.

        Both engines run DDL transactionally, so a failed migration leaves the
        schema as it was. Raises ``StorageError(STORAGE_FAILED)``.
        """
        await self._run_alembic(command.upgrade, revision)

    async def downgrade(self, revision: str) -> None:
        """Migrate the schema down to ``revision`` (``"base"`` drops everything)."""
        await self._run_alembic(command.downgrade, revision)

    async def current_revision(self) -> str | None:
        """The schema revision stored in the database, or None if never migrated."""

        def read(connection: Connection) -> str | None:
            return MigrationContext.configure(connection).get_current_revision()

        if self._sync_engine is not None:
            return await self.run(read, write=False)
        try:
            async with self._engine.connect() as connection:
                return await connection.run_sync(read)
        except _DATABASE_ERRORS as error:
            raise _translate(error) from error

    async def _run_alembic(self, operation: Any, revision: str) -> None:
        def run(connection: Connection) -> None:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
            operation(_alembic_config(connection), revision)

        # On SQLite the migration is a unit of the writer thread like any other.
        await self.run(run, write=True)

    async def run(self, work: Work[T], *, write: bool) -> T:
        """Run ``work(connection)`` as one transaction and return what it returns.

        This is the node's unit of work (the shape of Synapse's
        ``runInteraction``): ``work`` is a plain synchronous function holding
        all the statements of one use case, over SQLAlchemy Core. On SQLite it
        runs whole on a database thread, the writer for ``write=True`` (one
        at a time, ``BEGIN IMMEDIATE``) or a reader (``BEGIN DEFERRED``): one
        thread trip per transaction, however many statements. On PostgreSQL
        it runs through ``AsyncConnection.run_sync``, so a unit is written
        once for both engines. Commits when ``work`` returns, rolls back when
        it raises. Raises ``StorageError(CONFLICT)`` on a constraint
        violation and ``StorageError(STORAGE_FAILED)`` on any other database
        failure; a ``BalizaError`` raised by ``work`` passes through.
        """
        try:
            if self._sync_engine is None:
                if not write and self._read_engine is not None:
                    return await self._read_unit(work, self._read_engine)
                async with self._engine.begin() as connection:
                    return await connection.run_sync(work)
            loop = asyncio.get_running_loop()
            if not write:
                return await loop.run_in_executor(self._readers, self._unit, work, "DEFERRED")
            # One writer thread: writers of this process queue in order in
            # front of it, never in SQLite's sleeping busy handler (other
            # processes, such as the CLI, still meet busy_timeout).
            return await loop.run_in_executor(self._writer, self._unit, work, "IMMEDIATE")
        except _DATABASE_ERRORS as error:
            raise _translate(error) from error

    @staticmethod
    async def _read_unit(work: Work[T], engine: AsyncEngine) -> T:
        """A reading unit on PostgreSQL: its statements alone, one round trip each.

        A unit through the writing engine costs six round trips before its
        first statement's answer is used: the pool's pre-ping (``BEGIN``,
        ``;``, ``ROLLBACK``: asyncpg's ping opens a transaction), ``BEGIN``,
        the statement, ``COMMIT``. A unit that only reads needs none of
        them: under READ COMMITTED each statement takes its own snapshot
        inside a transaction anyway, so autocommit changes nothing it sees,
        and a connection the server dropped is found by the statement
        itself, which is then run once more on a new connection (reading
        twice is harmless). Writes keep their transaction and their ping.
        """
        for attempt in (1, 2):
            try:
                async with engine.connect() as connection:
                    return await connection.run_sync(work)
            except exc.DBAPIError as error:
                if attempt == 2 or not error.connection_invalidated:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _unit(self, work: Work[T], begin: str) -> T:
        """One transaction on the calling (database) thread."""
        connection: Connection | None = getattr(self._local, begin, None)
        if connection is None or connection.closed or connection.invalidated:
            if connection is not None:  # a failed driver call invalidated it
                connection.close()
                with self._held_lock:
                    self._held.remove(connection)
            connection = self._unit_engines[begin].connect()
            setattr(self._local, begin, connection)
            with self._held_lock:
                self._held.append(connection)
        with connection.begin():
            return work(connection)

    async def close(self) -> None:
        """Close every pooled connection; the Database cannot be used afterwards.

        Units of work still running on the database threads finish first.
        """
        loop = asyncio.get_running_loop()
        for pool in (self._writer, self._readers):
            await loop.run_in_executor(None, pool.shutdown)
        # The threads are gone: nobody else can be using these connections now.
        with self._held_lock:
            for connection in self._held:
                connection.close()
            self._held.clear()
        if self._sync_engine is not None:
            self._sync_engine.dispose()
        if self._read_engine is not None:
            await self._read_engine.dispose()
        await self._engine.dispose()
