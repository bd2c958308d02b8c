"""Storage as plain synchronous functions over SQLAlchemy Core: the inside of units of work.

Each module here holds one aggregate's statements, built once at import
(``bindparam`` where a value changes; the dialect-specific upserts once per
dialect), and functions ``f(connection, …)`` that run them. They are called
only from the unit-of-work functions that services hand to
``Database.run``, which runs a whole unit on a database thread (SQLite) or
through ``run_sync`` (PostgreSQL): nothing here awaits, and nothing here
opens or commits a transaction.

Rows are read as tuples into the frozen dataclasses the aggregates' modules
define (``ReceivedEnvelope``, ``StoredNotice`` …), one set of types for
every caller. The storage modules beside this package hold only those
records, the table models and the dialect-neutral constants.
"""
