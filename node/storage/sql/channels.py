"""Channel memberships as ingest reads them: a version and the versions after it."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, func, select

from baliza.node.storage.channels import StoredMembership
from baliza.node.storage.models import ChannelMemberRow, ChannelVersionRow, table_of

_versions = table_of(ChannelVersionRow)
_members = table_of(ChannelMemberRow)

# A version and up to ``limit`` later ones, oldest first, in one statement.
_CHAIN = (
    select(
        _versions.c.version,
        _versions.c.kind,
        _versions.c.applied_ms,
        _versions.c.expires_ms,
        _versions.c.raw,
    )
    .where(_versions.c.channel == bindparam("channel"), _versions.c.version >= bindparam("version"))
    .order_by(_versions.c.version)
    .limit(bindparam("limit"))
)
_MEMBERS = (
    select(_members.c.version, _members.c.agency, _members.c.owner)
    .where(
        _members.c.channel == bindparam("channel"),
        _members.c.version.in_(bindparam("versions", expanding=True)),
    )
    .order_by(_members.c.version, _members.c.agency)
)


def chain_from(
    connection: Connection, channel: str, version: int, limit: int
) -> tuple[StoredMembership | None, tuple[StoredMembership, ...]]:
    """The membership at ``version`` (None if not held) and up to ``limit`` later ones."""
    rows = connection.execute(
        _CHAIN, {"channel": channel, "version": version, "limit": limit + 1}
    ).all()
    if not rows:
        return None, ()
    members: dict[int, list[tuple[str, bool]]] = {}
    for v, agency, owner in connection.execute(
        _MEMBERS, {"channel": channel, "versions": [r.version for r in rows]}
    ):
        members.setdefault(v, []).append((agency, bool(owner)))
    found = [
        StoredMembership(
            channel=channel,
            version=r.version,
            kind=r.kind,
            applied_ms=r.applied_ms,
            expires_ms=r.expires_ms,
            members=tuple(a for a, _ in members.get(r.version, ())),
            owners=tuple(a for a, owner in members.get(r.version, ()) if owner),
            raw=r.raw,
        )
        for r in rows
    ]
    if found[0].version == version:
        return found[0], tuple(found[1:])
    return None, tuple(found[:limit])


_NEWEST = select(func.max(_versions.c.version)).where(_versions.c.channel == bindparam("channel"))


def latest(connection: Connection, channel: str) -> StoredMembership | None:
    """The newest accepted version of ``channel``, or None if this node knows none."""
    version = connection.execute(_NEWEST, {"channel": channel}).scalar()
    if version is None:
        return None
    at_version, _ = chain_from(connection, channel, int(version), 0)
    return at_version
