"""Statements whose SQL differs between SQLite and PostgreSQL.

Only "insert unless it exists" and "insert or update" differ in practice; both
engines spell them ``ON CONFLICT``, but SQLAlchemy builds them from
dialect-specific ``insert`` constructs, chosen here from the session's engine.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_name(session: AsyncSession) -> str:
    """``"sqlite"`` or ``"postgresql"``: the engine the session talks to."""
    return session.get_bind().dialect.name


def upsert_insert(session: AsyncSession, entity: Any) -> sqlite.Insert | postgresql.Insert:
    """An INSERT for ``entity`` that accepts ``.on_conflict_do_*`` clauses."""
    if dialect_name(session) == "postgresql":
        return postgresql.insert(entity)
    return sqlite.insert(entity)
