"""Shared fixtures: a fresh, real database for every test, on every engine.

A test that asks for ``database_url`` (an empty database) or ``database`` (an
open ``Database`` with the schema migrated) runs twice: on a SQLite file in
its temporary folder and on a PostgreSQL database created for it alone, and
dropped after it. PostgreSQL needs a server: start one with
``eval "$(.ci/postgres.sh)"``, which sets ``BALIZA_TEST_POSTGRES_URL``.
Without it the PostgreSQL runs are skipped with that hint, unless
``BALIZA_REQUIRE_POSTGRES=1`` (CI), which turns the skip into a failure.

Tests that need several databases (several nodes) use ``fresh_databases``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from baliza.node.storage import Database

POSTGRES_URL_ENV = "BALIZA_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_ENV = "BALIZA_REQUIRE_POSTGRES"
ENGINES = ("sqlite", "postgresql")


def postgres_server_url() -> str:
    """The URL of the test PostgreSQL server; skips (or fails, in CI) without one."""
    url = os.environ.get(POSTGRES_URL_ENV, "")
    if url:
        return url
    reason = f'PostgreSQL not available: set {POSTGRES_URL_ENV} (eval "$(.ci/postgres.sh)")'
    if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
        pytest.fail(f"{reason}; {REQUIRE_POSTGRES_ENV}=1 requires it")
    pytest.skip(reason)


class FreshDatabases:
    """Hands out URLs of new, empty databases and drops the PostgreSQL ones afterwards."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._created_postgres: list[str] = []
        self._server_url = ""

    async def url(self, engine: str = "sqlite") -> str:
        """The URL of a new empty database on ``engine`` ("sqlite" or "postgresql")."""
        name = f"baliza_test_{uuid.uuid4().hex[:16]}"
        if engine == "sqlite":
            return f"sqlite+aiosqlite:///{self._folder / (name + '.db')}"
        if engine != "postgresql":
            raise ValueError(f"unknown engine {engine!r}")
        self._server_url = postgres_server_url()
        await self._admin(f'CREATE DATABASE "{name}"')
        self._created_postgres.append(name)
        server = make_url(self._server_url).set(drivername="postgresql+asyncpg", database=name)
        return server.render_as_string(hide_password=False)

    async def drop_all(self) -> None:
        """Drop every PostgreSQL database handed out, even if a test left connections open."""
        while self._created_postgres:
            name = self._created_postgres.pop()
            await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def _admin(self, statement: str) -> None:
        url = make_url(self._server_url).set(drivername="postgresql+asyncpg")
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                await connection.exec_driver_sql(statement)
        finally:
            await engine.dispose()


@pytest.fixture
async def fresh_databases(tmp_path: Path) -> AsyncIterator[FreshDatabases]:
    """A factory of empty databases, cleaned up when the test ends."""
    databases = FreshDatabases(tmp_path)
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
async def database(database_url: str) -> AsyncIterator[Database]:
    """An open Database with the schema migrated to head, closed after the test."""
    db = await Database.open(database_url)
    try:
        await db.upgrade()
        yield db
    finally:
        await db.close()
