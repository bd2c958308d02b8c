"""Where a database's schema stands against this code's migrations.

``serve`` refuses a database whose schema is not exactly at this code's
migration head, instead of migrating it on its own: an upgrade is a step the
operator takes deliberately (after a backup, with ``baliza db upgrade``), and
a database written by a newer release must not be touched by an older one.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass

from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError

from baliza.node.storage import Database
from baliza.protocol.errors import ReasonCode, StorageError

UPGRADE_COMMAND = "baliza db upgrade"


def code_heads() -> tuple[str, ...]:
    """The migration head(s) this code expects."""
    return tuple(_scripts().get_heads())


def _scripts() -> ScriptDirectory:
    return ScriptDirectory(str(importlib.resources.files("baliza.migrations")))


@dataclass(frozen=True, slots=True)
class SchemaState:
    """The database's revision, the code's head, and what to do about a difference."""

    current: str | None
    heads: tuple[str, ...]
    known: bool  # the code has a migration with the database's revision

    @property
    def current_is_head(self) -> bool:
        return self.current is not None and self.current in self.heads

    @property
    def text(self) -> str:
        head = ", ".join(self.heads)
        if self.current_is_head:
            return f"at {self.current}, the code's head"
        if self.current is None:
            return f"empty (no schema); the code needs {head}: run `{UPGRADE_COMMAND}`"
        if not self.known:
            return (
                f"at {self.current}, which this code does not know: it was written by a newer"
                f" Baliza (this code's head is {head}); install that release or restore a backup"
            )
        return f"at {self.current}, older than the code's {head}: run `{UPGRADE_COMMAND}`"


def known_revision(revision: str) -> bool:
    """Whether this code has a migration with ``revision`` (else a newer release wrote it)."""
    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:
        return False


async def schema_state(db: Database) -> SchemaState:
    """Compare the database's revision with this code's migrations."""
    current = await db.current_revision()
    known = current is None or known_revision(current)
    return SchemaState(current=current, heads=code_heads(), known=known)


async def require_current_schema(db: Database) -> None:
    """Refuse to run on a schema older or newer than the code, naming what to do."""
    state = await schema_state(db)
    if not state.current_is_head:
        raise StorageError(ReasonCode.STORAGE_FAILED, f"database schema {state.text}")


async def check_schema(url: str) -> None:
    """Open the database at ``url`` and refuse unless its schema is at the code's head."""
    db = await Database.open(url)
    try:
        await require_current_schema(db)
    finally:
        await db.close()


async def check_upgradable(url: str) -> str | None:
    """The database's revision; refused when a newer release wrote it (unknown here)."""
    db = await Database.open(url)
    try:
        state = await schema_state(db)
    finally:
        await db.close()
    if not state.known:
        raise StorageError(ReasonCode.STORAGE_FAILED, f"database schema {state.text}")
    return state.current
