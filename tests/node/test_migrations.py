"""Alembic migrations: they build the schema the models describe, both ways, on both engines."""

from __future__ import annotations

import asyncio
import importlib.resources
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from baliza.node.storage import Database
from baliza.node.storage.models import metadata

MODEL_TABLES = set(metadata.tables)


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    diffs: list[Any] = compare_metadata(context, metadata)
    return diffs


def test_one_linear_history_with_a_single_head() -> None:
    scripts = ScriptDirectory(str(importlib.resources.files("baliza.migrations")))
    assert scripts.get_heads() == ["0003"]
    assert [s.revision for s in scripts.walk_revisions()] == ["0003", "0001"]


async def test_upgrade_from_empty_creates_every_table(database_url: str) -> None:
    db = await Database.open(database_url)
    try:
        assert await db.current_revision() is None
        await db.upgrade()
        assert await db.current_revision() == "0003"
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_tables) == MODEL_TABLES
        await db.upgrade()  # already at head: nothing to do, no error
    finally:
        await db.close()


async def test_models_match_the_migrations(database_url: str) -> None:
    db = await Database.open(database_url)
    try:
        await db.upgrade()
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await db.close()


async def test_downgrade_to_base_and_upgrade_again(database_url: str) -> None:
    db = await Database.open(database_url)
    try:
        await db.upgrade()
        await db.downgrade("base")
        assert await db.current_revision() is None
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_tables) == set()
        await db.upgrade()
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_tables) == MODEL_TABLES
            assert await connection.run_sync(_differences) == []
    finally:
        await db.close()


async def test_nodes_starting_together_migrate_once(database_url: str) -> None:
    # Several node processes sharing a database may all call upgrade() at start.
    databases = [await Database.open(database_url) for _ in range(3)]
    try:
        await asyncio.gather(*(db.upgrade() for db in databases))
        assert {await db.current_revision() for db in databases} == {"0003"}
    finally:
        for db in databases:
            await db.close()
