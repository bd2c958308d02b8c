"""Shared fixtures: a fresh, real database for every test, on every engine.

A test that asks for ``database_url`` (an empty database) or ``database`` (an
open ``Database`` with the schema migrated) runs twice: on a SQLite file in
its temporary folder and on a PostgreSQL database created for it alone, and
dropped after it. PostgreSQL needs a server: start one with
``eval "$(.ci/postgres.sh)"``, which sets ``BALIZA_TEST_POSTGRES_URL``.
Without it the PostgreSQL runs are skipped with that hint, unless
``BALIZA_REQUIRE_POSTGRES=1`` (CI), which turns the skip into a failure.

Tests that need several databases use ``fresh_databases``; tests that need
several nodes use ``cluster`` (see ``node_harness.Cluster``).

Migrating a database through every Alembic revision costs ~0.2 s on SQLite
and ~0.5 s on PostgreSQL, paid by every node of every test until this
session-wide template: the schema is migrated once per session and each
migrated database is a copy of it (the file copied on SQLite; ``CREATE
DATABASE … TEMPLATE`` on PostgreSQL, ~0.08 s). The template is built from
this checkout's migrations at the start of each session, so it cannot be
stale. ``database_url`` stays empty: the migration tests migrate from scratch.

Dropping a database makes PostgreSQL 15 run a checkpoint, which takes
0.1-0.8 s on this shared server; tests hand their databases to a thread
that drops them while the next tests run, and the session waits for it at
the end.
"""

from __future__ import annotations

import asyncio
import os
import queue
import shutil
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from baliza.node.storage import Database

# The node harness lives beside the node tests; every suite may start nodes.
sys.path.insert(0, str(Path(__file__).resolve().parent / "node"))

from node_harness import Cluster

POSTGRES_URL_ENV = "BALIZA_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_ENV = "BALIZA_REQUIRE_POSTGRES"
ENGINES = ("sqlite", "postgresql")
# The fault suite's bounded form takes a minute or two; the soak (any
# BALIZA_FAULT_* count set) as long as its counts make it.
DEFAULT_TIMEOUT_S = 120
FAULT_TIMEOUT_S = 600


def postgres_server_url() -> str:
    """The URL of the test PostgreSQL server; skips (or fails, in CI) without one."""
    url = os.environ.get(POSTGRES_URL_ENV, "")
    if url:
        return url
    reason = f'PostgreSQL not available: set {POSTGRES_URL_ENV} (eval "$(.ci/postgres.sh)")'
    if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
        pytest.fail(f"{reason}; {REQUIRE_POSTGRES_ENV}=1 requires it")
    pytest.skip(reason)


async def _admin(server_url: str, statement: str) -> None:
    url = make_url(server_url).set(drivername="postgresql+asyncpg")
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql(statement)
    finally:
        await engine.dispose()


def _postgres_url(server_url: str, name: str) -> str:
    server = make_url(server_url).set(drivername="postgresql+asyncpg", database=name)
    return server.render_as_string(hide_password=False)


async def _migrate(url: str) -> None:
    db = await Database.open(url)
    try:
        await db.upgrade()
    finally:
        await db.close()


class DropQueue:
    """Drops PostgreSQL databases on a thread of its own, in the order handed in."""

    def __init__(self) -> None:
        self._names: queue.SimpleQueue[tuple[str, str] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.failures: list[str] = []

    def put(self, server_url: str, name: str) -> None:
        """Drop ``name`` soon, even if a test left connections to it open."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="drop-databases", daemon=True)
            self._thread.start()
        self._names.put((server_url, name))

    def close(self) -> None:
        """Wait until every database handed in is dropped."""
        if self._thread is not None:
            self._names.put(None)
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while (item := self._names.get()) is not None:
            server_url, name = item
            try:
                asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            except Exception as error:  # reported at the end of the session
                self.failures.append(f"{name}: {error!r}")


class DatabaseTemplates:
    """One database per engine migrated to head, built on first use in this session."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._sqlite: Path | None = None
        self._postgres: str | None = None  # database name
        self._server_url = ""
        self.drops = DropQueue()

    async def sqlite_file(self) -> Path:
        """The migrated SQLite file to copy (closed: no WAL left beside it)."""
        if self._sqlite is None:
            path = self._folder / "baliza_template.db"
            await _migrate(f"sqlite+aiosqlite:///{path}")
            self._sqlite = path
        return self._sqlite

    async def postgres_name(self, server_url: str) -> str:
        """The name of the migrated PostgreSQL database to copy (nobody connected to it)."""
        if self._postgres is None:
            # Per session: several sessions (other checkouts) share one server.
            name = f"baliza_template_{os.getpid()}_{uuid.uuid4().hex[:8]}"
            await _admin(server_url, f'CREATE DATABASE "{name}"')
            self._server_url = server_url
            self._postgres = name
            await _migrate(_postgres_url(server_url, name))
        return self._postgres

    async def drop(self) -> None:
        """Drop the PostgreSQL template, if one was made."""
        if self._postgres is not None:
            name, self._postgres = self._postgres, None
            await _admin(self._server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseTemplates]:
    """The session's migrated templates; the PostgreSQL one is dropped at the end."""
    templates = DatabaseTemplates(tmp_path_factory.mktemp("templates"))
    yield templates
    templates.drops.close()
    asyncio.run(templates.drop())
    assert not templates.drops.failures, f"test databases left behind: {templates.drops.failures}"


class FreshDatabases:
    """Hands out URLs of new databases and drops the PostgreSQL ones afterwards."""

    def __init__(self, folder: Path, templates: DatabaseTemplates | None = None) -> None:
        self._folder = folder
        self._templates = templates or DatabaseTemplates(folder)
        # Without the session's templates (a test running its own loop), drop at once.
        self._drops = templates.drops if templates is not None else None
        self._created_postgres: list[str] = []
        self._server_url = ""

    async def url(self, engine: str = "sqlite", *, migrated: bool = False) -> str:
        """The URL of a new database on ``engine`` ("sqlite" or "postgresql").

        Empty unless ``migrated``; then a copy of the session's template,
        already at the head revision (a node's start-up upgrade finds
        nothing to do).
        """
        name = f"baliza_test_{uuid.uuid4().hex[:16]}"
        if engine == "sqlite":
            path = self._folder / (name + ".db")
            if migrated:
                shutil.copyfile(await self._templates.sqlite_file(), path)
            return f"sqlite+aiosqlite:///{path}"
        if engine != "postgresql":
            raise ValueError(f"unknown engine {engine!r}")
        self._server_url = postgres_server_url()
        statement = f'CREATE DATABASE "{name}"'
        if migrated:
            template = await self._templates.postgres_name(self._server_url)
            statement += f' TEMPLATE "{template}"'
        await _admin(self._server_url, statement)
        self._created_postgres.append(name)
        return _postgres_url(self._server_url, name)

    async def drop_all(self) -> None:
        """Drop every PostgreSQL database handed out, even if a test left connections open.

        With the session's drop queue, the drops happen on its thread while
        the next tests run.
        """
        while self._created_postgres:
            name = self._created_postgres.pop()
            if self._drops is not None:
                self._drops.put(self._server_url, name)
            else:
                await _admin(self._server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def fresh_databases(
    tmp_path: Path, database_templates: DatabaseTemplates
) -> AsyncIterator[FreshDatabases]:
    """A factory of new databases, cleaned up when the test ends."""
    databases = FreshDatabases(tmp_path, database_templates)
    try:
        yield databases
    finally:
        await databases.drop_all()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_engine(request: pytest.FixtureRequest) -> str:
    """Each engine in turn: the test runs once per engine."""
    engine: str = request.param
    return engine


@pytest.fixture
async def database_url(database_engine: str, fresh_databases: FreshDatabases) -> str:
    """The URL of an empty database on the engine of this run."""
    return await fresh_databases.url(database_engine)


@pytest.fixture
async def database(
    database_engine: str, fresh_databases: FreshDatabases
) -> AsyncIterator[Database]:
    """An open Database with the schema migrated to head, closed after the test."""
    db = await Database.open(await fresh_databases.url(database_engine, migrated=True))
    try:
        await db.upgrade()  # finds the template at head: proves it is
        yield db
    finally:
        await db.close()


@pytest.fixture
async def cluster(tmp_path: Path, fresh_databases: FreshDatabases) -> AsyncIterator[Cluster]:
    """Start sets of nodes on migrated databases: ``await cluster(3, database_engine)``.

    Every node the cluster made is stopped when the test ends, before its
    database is dropped.
    """
    made = Cluster(tmp_path, fresh_databases.url)
    try:
        yield made
    finally:
        await made.stop_all()


# A node test that asks for none of these (directly or through another
# fixture) and is not marked slow starts no node, database or child process.
_STARTS_SOMETHING = frozenset(
    {"tmp_path", "tmp_path_factory", "fresh_databases", "database_engine"}
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "quick: the pure layers and the node tests that start nothing (make test-quick)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the quick tests; give the fault suite a longer timeout (none in a soak)."""
    soak = any(key.startswith("BALIZA_FAULT_") for key in os.environ)
    for item in items:
        suite = item.path.parent.name
        if suite == "fault" and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(0 if soak else FAULT_TIMEOUT_S))
        if item.get_closest_marker("slow") is not None:
            continue
        fixtures = set(getattr(item, "fixturenames", ()))
        if suite in ("protocol", "crypto") or (
            suite == "node" and not fixtures & _STARTS_SOMETHING
        ):
            item.add_marker(pytest.mark.quick)
