"""Upserts, the one statement whose construct differs between the engines, built once each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


class Upsert:
    """``INSERT … ON CONFLICT …`` for one table, built once per dialect on first use."""

    def __init__(self, table: Table, finish: Callable[[Any], Any]) -> None:
        self._table = table
        self._finish = finish
        self._built: dict[str, Any] = {}

    def on(self, connection: Connection) -> Any:
        """The statement for ``connection``'s engine."""
        name = connection.dialect.name
        statement = self._built.get(name)
        if statement is None:
            module = postgresql if name == "postgresql" else sqlite
            statement = self._built[name] = self._finish(module.insert(self._table))
        return statement
