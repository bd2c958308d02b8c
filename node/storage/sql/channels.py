"""Channel memberships and join requests as units of work read and write them.

Versions are never rewritten, and deleted only when the administrator
replaces a chain under alarm with another founding (``forget``): a node must
be able to check an envelope sealed to an older version (its members at that
version) long after the channel moved on. The member rows are derived from the signed bytes when
a version is stored, so the roster of any version is one indexed query.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, insert, select, update

from baliza.node.storage.channels import JoinRequest, JoinState, StoredMembership
from baliza.node.storage.models import (
    ChannelAlarmRow,
    ChannelJoinRow,
    ChannelMemberRow,
    ChannelVersionRow,
    table_of,
)
from baliza.node.storage.sql._dialect import Upsert

_versions = table_of(ChannelVersionRow)
_members = table_of(ChannelMemberRow)
_joins = table_of(ChannelJoinRow)
_alarms = table_of(ChannelAlarmRow)

_VERSION_COLUMNS = (
    _versions.c.channel,
    _versions.c.version,
    _versions.c.kind,
    _versions.c.applied_ms,
    _versions.c.expires_ms,
    _versions.c.raw,
)
# Versions from ``version`` on, up to ``limit`` of them, oldest first, in one statement.
_FROM = (
    select(*_VERSION_COLUMNS)
    .where(_versions.c.channel == bindparam("channel"), _versions.c.version >= bindparam("version"))
    .order_by(_versions.c.version)
    .limit(bindparam("limit"))
)
_MEMBERS = (
    select(_members.c.channel, _members.c.version, _members.c.agency, _members.c.owner)
    .where(
        _members.c.channel == bindparam("channel"),
        _members.c.version.in_(bindparam("versions", expanding=True)),
    )
    .order_by(_members.c.version, _members.c.agency)
)
# The newest version's row in one statement (its members in a second).
_NEWEST = select(*_VERSION_COLUMNS).where(
    _versions.c.channel == bindparam("channel"),
    _versions.c.version
    == (
        select(func.max(_versions.c.version))
        .where(_versions.c.channel == bindparam("channel"))
        .scalar_subquery()
    ),
)
_NEWEST_EACH = (
    select(_versions.c.channel, func.max(_versions.c.version).label("version"))
    .group_by(_versions.c.channel)
    .subquery()
)
# The newest version of every channel and its members: two statements for all channels.
_ALL_NEWEST = (
    select(*_VERSION_COLUMNS)
    .join(
        _NEWEST_EACH,
        and_(
            _NEWEST_EACH.c.channel == _versions.c.channel,
            _NEWEST_EACH.c.version == _versions.c.version,
        ),
    )
    .order_by(_versions.c.channel)
)
_ALL_NEWEST_MEMBERS = (
    select(_members.c.channel, _members.c.version, _members.c.agency, _members.c.owner)
    .join(
        _NEWEST_EACH,
        and_(
            _NEWEST_EACH.c.channel == _members.c.channel,
            _NEWEST_EACH.c.version == _members.c.version,
        ),
    )
    .order_by(_members.c.channel, _members.c.agency)
)
_EVER_MEMBER = (
    select(_members.c.version)
    .where(_members.c.channel == bindparam("channel"), _members.c.agency == bindparam("agency"))
    .limit(1)
)
# The raw versions held at the given numbers (to compare a pushed chain with).
_RAW_AT = select(_versions.c.version, _versions.c.raw).where(
    _versions.c.channel == bindparam("channel"),
    _versions.c.version.in_(bindparam("versions", expanding=True)),
)
_VERSION_NUMBERS = (
    select(_versions.c.version)
    .where(_versions.c.channel == bindparam("channel"))
    .order_by(_versions.c.version)
)
_LISTING = select(_members.c.version).where(
    _members.c.channel == bindparam("channel"), _members.c.agency == bindparam("agency")
)
_ADD_VERSION = insert(_versions)
_ADD_MEMBERS = insert(_members)

_OPEN_ALARM = Upsert(
    _alarms,
    lambda s: s.on_conflict_do_nothing(index_elements=["channel"]).returning(_alarms.c.channel),
)
_ALARM_REASON = select(_alarms.c.reason).where(_alarms.c.channel == bindparam("channel"))
_PAUSED = select(_alarms.c.channel).order_by(_alarms.c.channel)
_CLOSE_ALARM = delete(_alarms).where(_alarms.c.channel == bindparam("channel"))
_FORGET_VERSIONS = delete(_versions).where(_versions.c.channel == bindparam("channel"))
_FORGET_MEMBERS = delete(_members).where(_members.c.channel == bindparam("channel"))
_ALL_RAW = (
    select(_versions.c.raw)
    .where(_versions.c.channel == bindparam("channel"))
    .order_by(_versions.c.version)
)

_JOIN_COLUMNS = (
    _joins.c.channel,
    _joins.c.agency,
    _joins.c.requested_ms,
    _joins.c.note,
    _joins.c.state,
    _joins.c.decided_ms,
)
_REQUEST_JOIN = Upsert(
    _joins,
    lambda s: s.on_conflict_do_nothing(index_elements=["channel", "agency"]).returning(
        _joins.c.agency
    ),
)
_JOINS = select(*_JOIN_COLUMNS).order_by(_joins.c.requested_ms.desc())
_JOINS_OF = _JOINS.where(_joins.c.channel == bindparam("channel"))
_JOIN_STATE = select(_joins.c.state).where(
    _joins.c.channel == bindparam("channel"), _joins.c.agency == bindparam("agency")
)
_DECIDE_JOIN = (
    update(_joins)
    .where(
        _joins.c.channel == bindparam("in_channel"),
        _joins.c.agency == bindparam("of_agency"),
        _joins.c.state == JoinState.PENDING.value,
    )
    .values(state=bindparam("new_state"), decided_ms=bindparam("now_ms"))
    .returning(_joins.c.agency)
)


def _memberships(rows: Sequence[Any], members: Any) -> list[StoredMembership]:
    """Memberships from version rows and ``(channel, version, agency, owner)`` rows."""
    of: dict[tuple[str, int], list[tuple[str, bool]]] = {}
    for channel, version, agency, owner in members:
        of.setdefault((channel, version), []).append((agency, bool(owner)))
    return [
        StoredMembership(
            channel=r.channel,
            version=r.version,
            kind=r.kind,
            applied_ms=r.applied_ms,
            expires_ms=r.expires_ms,
            members=tuple(a for a, _ in of.get((r.channel, r.version), ())),
            owners=tuple(a for a, owner in of.get((r.channel, r.version), ()) if owner),
            raw=r.raw,
        )
        for r in rows
    ]


def _from(connection: Connection, channel: str, version: int, limit: int) -> list[StoredMembership]:
    """Up to ``limit`` versions of ``channel`` from ``version`` on, oldest first."""
    rows = connection.execute(_FROM, {"channel": channel, "version": version, "limit": limit}).all()
    if not rows:
        return []
    members = connection.execute(
        _MEMBERS, {"channel": channel, "versions": [r.version for r in rows]}
    )
    return _memberships(rows, members)


def chain_from(
    connection: Connection, channel: str, version: int, limit: int
) -> tuple[StoredMembership | None, tuple[StoredMembership, ...]]:
    """The membership at ``version`` (None if not held) and up to ``limit`` later ones."""
    found = _from(connection, channel, version, limit + 1)
    if not found:
        return None, ()
    if found[0].version == version:
        return found[0], tuple(found[1:])
    return None, tuple(found[:limit])


def get(connection: Connection, channel: str, version: int) -> StoredMembership | None:
    """One accepted version, or None if this node does not hold it."""
    at_version, _ = chain_from(connection, channel, version, 0)
    return at_version


def after(connection: Connection, channel: str, version: int, limit: int) -> list[StoredMembership]:
    """The versions of ``channel`` newer than ``version``, oldest first (catch-up)."""
    return _from(connection, channel, version + 1, limit)


def latest(connection: Connection, channel: str) -> StoredMembership | None:
    """The newest accepted version of ``channel``, or None if this node knows none."""
    rows = connection.execute(_NEWEST, {"channel": channel}).all()
    if not rows:
        return None
    members = connection.execute(_MEMBERS, {"channel": channel, "versions": [rows[0].version]})
    return _memberships(rows, members)[0]


def all_latest(connection: Connection) -> list[StoredMembership]:
    """The newest version of every channel this node knows, by channel id (two statements)."""
    rows = connection.execute(_ALL_NEWEST).all()
    if not rows:
        return []
    return _memberships(rows, connection.execute(_ALL_NEWEST_MEMBERS))


def ever_member(connection: Connection, channel: str, agency: str) -> bool:
    """Whether ``agency`` was a member of any version of ``channel`` this node holds."""
    found = connection.execute(_EVER_MEMBER, {"channel": channel, "agency": agency}).first()
    return found is not None


def raw_at(connection: Connection, channel: str, versions: Sequence[int]) -> dict[int, bytes]:
    """The stored bytes of the versions of ``channel`` held among ``versions``, by number."""
    if not versions:
        return {}
    rows = connection.execute(_RAW_AT, {"channel": channel, "versions": list(versions)})
    return {int(version): bytes(raw) for version, raw in rows}


def listing(connection: Connection, channel: str, agency: str) -> tuple[list[int], set[int]]:
    """Every version number of ``channel`` held here, and those that list ``agency``."""
    numbers = connection.execute(_VERSION_NUMBERS, {"channel": channel}).scalars()
    versions = [int(v) for v in numbers]
    listed = connection.execute(_LISTING, {"channel": channel, "agency": agency}).scalars()
    return versions, {int(v) for v in listed}


def add(connection: Connection, memberships: Sequence[StoredMembership]) -> None:
    """Store accepted versions and their members; a version already stored fails (CONFLICT)."""
    if not memberships:
        return
    connection.execute(
        _ADD_VERSION,
        [
            {
                "channel": m.channel,
                "version": m.version,
                "kind": m.kind,
                "applied_ms": m.applied_ms,
                "expires_ms": m.expires_ms,
                "raw": m.raw,
            }
            for m in memberships
        ],
    )
    members = [
        {"channel": m.channel, "version": m.version, "agency": a, "owner": a in m.owners}
        for m in memberships
        for a in m.members
    ]
    if members:
        connection.execute(_ADD_MEMBERS, members)


def request_join(connection: Connection, request: JoinRequest) -> bool:
    """Record a join request; return False if the agency already asked."""
    result = connection.execute(
        _REQUEST_JOIN.on(connection),
        {
            "channel": request.channel,
            "agency": request.agency,
            "requested_ms": request.requested_ms,
            "note": request.note,
            "state": request.state.value,
        },
    )
    return result.first() is not None


def join_state(connection: Connection, channel: str, agency: str) -> JoinState | None:
    """Where ``agency``'s request to join ``channel`` stands, or None if it never asked."""
    state = connection.execute(_JOIN_STATE, {"channel": channel, "agency": agency}).scalar()
    return None if state is None else JoinState(state)


def joins(connection: Connection, channel: str | None = None) -> list[JoinRequest]:
    """Join requests, newest first; of one channel if given."""
    if channel is None:
        rows = connection.execute(_JOINS)
    else:
        rows = connection.execute(_JOINS_OF, {"channel": channel})
    return [
        JoinRequest(
            channel=r.channel,
            agency=r.agency,
            requested_ms=r.requested_ms,
            note=r.note,
            state=JoinState(r.state),
            decided_ms=r.decided_ms,
        )
        for r in rows
    ]


def decide_join(
    connection: Connection, channel: str, agency: str, state: JoinState, now_ms: int
) -> bool:
    """Approve or refuse a pending request; return False if there is none pending."""
    result = connection.execute(
        _DECIDE_JOIN,
        {"in_channel": channel, "of_agency": agency, "new_state": state.value, "now_ms": now_ms},
    )
    return result.first() is not None


def open_alarm(
    connection: Connection, channel: str, *, at_ms: int, reason: str, actor: str
) -> bool:
    """Pause sends to ``channel``; True if this call paused them.

    The first alarm stays; a later one changes nothing and returns False,
    also when it was opened at the same moment by another unit (the check
    and the insert are one statement, so two units never both pause).
    """
    result = connection.execute(
        _OPEN_ALARM.on(connection),
        {"channel": channel, "opened_ms": at_ms, "reason": reason, "actor": actor},
    )
    return result.first() is not None


def alarm_reason(connection: Connection, channel: str) -> str | None:
    """The reason code of the alarm pausing sends to ``channel``, or None."""
    return connection.execute(_ALARM_REASON, {"channel": channel}).scalar_one_or_none()


def close_alarm(connection: Connection, channel: str) -> bool:
    """Resume sends to ``channel``; False if no alarm was open."""
    return connection.execute(_CLOSE_ALARM, {"channel": channel}).rowcount > 0


def forget(connection: Connection, channel: str) -> list[bytes]:
    """Delete every version of ``channel`` held; return their signed bytes, oldest first."""
    raws = list(connection.execute(_ALL_RAW, {"channel": channel}).scalars())
    connection.execute(_FORGET_MEMBERS, {"channel": channel})
    connection.execute(_FORGET_VERSIONS, {"channel": channel})
    return raws


def paused(connection: Connection) -> list[str]:
    """The channels whose sends are paused, by id."""
    return list(connection.execute(_PAUSED).scalars())
