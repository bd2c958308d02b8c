"""Alembic environment for the node's storage.

The node runs migrations itself (``Database.upgrade()``), handing Alembic an
open connection through ``config.attributes["connection"]``: no alembic.ini is
needed at runtime and the node's URL, pragmas and transaction are reused. When
no connection is given (someone running the ``alembic`` command with a config
naming ``sqlalchemy.url``) this file opens an async engine itself.

SQLite cannot ALTER most things in place, so migrations run in batch mode
there (copy and move the table); PostgreSQL alters in place.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from baliza.node.storage.models import metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_configure_and_run)
    finally:
        await engine.dispose()


def _run_offline() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url,
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=url is not None and url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        _configure_and_run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url or pass a connection in config.attributes")
    asyncio.run(_run_with_own_engine(url))


if context.is_offline_mode():
    _run_offline()
else:
    _run_online()
