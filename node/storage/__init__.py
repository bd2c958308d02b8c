"""Node storage: SQLAlchemy models, the Database, and one repository per aggregate.

``Database`` owns the engine and the transaction boundary (where SQLAlchemy
errors become ``StorageError``); ``repositories`` holds the classes that read
and write one aggregate each inside such a transaction.
"""

from __future__ import annotations

from baliza.node.storage.database import Database, sqlite_url_for

__all__ = ["Database", "sqlite_url_for"]
