"""Outbox leases: several worker processes deliver from one PostgreSQL outbox.

A row lock (``FOR UPDATE SKIP LOCKED``) ends with its transaction, and the
push to a peer must not run inside a transaction (a slow peer would hold a
database connection and row locks for seconds). So a courier takes rows in a
short transaction that marks them leased to its worker until a deadline, pushes
them with no transaction open, and records the answers. Another worker skips
leased rows until the deadline; a worker killed mid-push simply never answers,
its leases run out, and the rows are taken over. The peer de-duplicates by
envelope id, so the rare push repeated after an expired lease is harmless.

On SQLite one node process owns the database, so the courier does not lease
(leasing would turn its read-only look at the outbox into a write, an fsync).
The statements are in ``sql/leases.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

OWNER_LEN = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class Lease:
    """Who takes rows, and until when they are theirs."""

    owner: str
    until_ms: int
