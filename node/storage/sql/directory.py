"""The federation directory versions this node applied, as units of work read and write them.

Every applied version is kept as signed, so an operator can show which
directory vouched for a key at any moment, and the node restores the newest
one at start without asking anybody.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, select

from baliza.node.storage.directory import DirectoryVersion
from baliza.node.storage.models import DirectoryVersionRow, table_of
from baliza.node.storage.sql._dialect import Upsert

_versions = table_of(DirectoryVersionRow)
_COLUMNS = (
    _versions.c.version,
    _versions.c.applied_ms,
    _versions.c.expires_ms,
    _versions.c.raw,
    _versions.c.signers,
)
_INSERT = Upsert(
    _versions,
    lambda s: s.on_conflict_do_nothing(index_elements=["version"]).returning(_versions.c.version),
)
_LATEST = select(*_COLUMNS).order_by(_versions.c.version.desc()).limit(1)
_AFTER = (
    select(*_COLUMNS)
    .where(_versions.c.version > bindparam("version"))
    .order_by(_versions.c.version)
    .limit(bindparam("limit"))
)
_HISTORY = select(*_COLUMNS).order_by(_versions.c.version)


def insert_versions(connection: Connection, versions: Sequence[DirectoryVersion]) -> set[int]:
    """Record applied versions; return the numbers of those new here.

    A version stored before is left as it was (``ON CONFLICT DO NOTHING``):
    two peers gossiping one new version reach a node at the same moment,
    both are checked against the directory in force (in memory, or in
    another worker), and the second is no change rather than a conflict.
    """
    if not versions:
        return set()
    return set(
        connection.execute(
            _INSERT.on(connection),
            [
                {
                    "version": v.version,
                    "applied_ms": v.applied_ms,
                    "expires_ms": v.expires_ms,
                    "raw": v.raw,
                    "signers": json.dumps(list(v.signers)),
                }
                for v in versions
            ],
        ).scalars()
    )


def latest_version(connection: Connection) -> DirectoryVersion | None:
    """The newest applied version, or None before the first one."""
    row = connection.execute(_LATEST).one_or_none()
    return None if row is None else _version(row)


def versions_after(connection: Connection, version: int, limit: int = 50) -> list[DirectoryVersion]:
    """Versions newer than ``version``, oldest first: what a lagging peer needs."""
    rows = connection.execute(_AFTER, {"version": version, "limit": limit})
    return [_version(row) for row in rows]


def history(connection: Connection) -> list[DirectoryVersion]:
    """Every applied version, oldest first."""
    return [_version(row) for row in connection.execute(_HISTORY)]


def _version(row: Sequence[Any]) -> DirectoryVersion:
    version, applied_ms, expires_ms, raw, signers = row
    return DirectoryVersion(
        version=version,
        applied_ms=applied_ms,
        expires_ms=expires_ms,
        raw=raw,
        signers=tuple(json.loads(signers)),
    )
