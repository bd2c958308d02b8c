"""Channel memberships, join requests, subscriptions and share permissions in storage.

The ``sql.channels``, ``sql.subscriptions`` and ``sql.permissions`` functions
run inside units of work, once per engine (the ``database`` fixture; the
PostgreSQL runs need ``BALIZA_TEST_POSTGRES_URL``).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import pytest
from sqlalchemy import Connection

from baliza.node.storage import Database
from baliza.node.storage.channels import JoinRequest, JoinState, StoredMembership
from baliza.node.storage.sql import channels as channel_rows
from baliza.node.storage.sql import permissions as permission_rows
from baliza.node.storage.sql import subscriptions as subscription_rows
from baliza.node.storage.subscriptions import Permission, Subscription
from baliza.protocol.errors import ReasonCode, StorageError

CCP = "ccp.pacific-europe"
JIT = "jit.co-es-2026-07"
GYE, CTG, ALG, MAD = "ec.polnac.gye", "co.polfa.ctg", "es.aduanas.alg", "es.gc.mad"


def version(
    channel: str, n: int, members: tuple[str, ...], owners: tuple[str, ...]
) -> StoredMembership:
    return StoredMembership(
        channel=channel,
        version=n,
        kind="jit" if channel == JIT else "programme",
        applied_ms=1_000 + n,
        expires_ms=9_000 + n,
        members=tuple(sorted(members)),
        owners=tuple(sorted(owners)),
        raw=bytes([n]) * 8 + channel.encode(),
    )


CCP_1 = version(CCP, 1, (GYE, CTG, MAD), (GYE,))
CCP_2 = version(CCP, 2, (GYE, CTG), (GYE,))
CCP_3 = version(CCP, 3, (GYE, CTG, ALG), (GYE,))
JIT_1 = version(JIT, 1, (CTG, ALG, MAD), (CTG, ALG))


async def store(database: Database, *memberships: StoredMembership) -> None:
    await database.run(partial(channel_rows.add, memberships=memberships), write=True)


async def test_membership_versions_round_trip_with_rosters_and_owners(database: Database) -> None:
    await store(database, CCP_1, CCP_2, CCP_3, JIT_1)
    assert await database.run(partial(channel_rows.latest, channel=CCP), write=False) == CCP_3
    assert await database.run(partial(channel_rows.latest, channel="none"), write=False) is None
    assert await database.run(partial(channel_rows.get, channel=CCP, version=1), write=False) == (
        CCP_1
    )
    assert (
        await database.run(partial(channel_rows.get, channel=CCP, version=7), write=False) is None
    )
    after = partial(channel_rows.after, channel=CCP, version=0, limit=10)
    assert await database.run(after, write=False) == [CCP_1, CCP_2, CCP_3]
    after_one = partial(channel_rows.after, channel=CCP, version=1, limit=1)
    assert await database.run(after_one, write=False) == [CCP_2]
    chain = partial(channel_rows.chain_from, channel=CCP, version=2, limit=5)
    assert await database.run(chain, write=False) == (CCP_2, (CCP_3,))
    assert await database.run(channel_rows.all_latest, write=False) == [CCP_3, JIT_1]


async def test_a_stored_version_conflicts_and_nothing_of_the_unit_is_kept(
    database: Database,
) -> None:
    await store(database, CCP_1)
    with pytest.raises(StorageError) as conflict:
        await store(database, CCP_2, replace(CCP_1, raw=b"other"))
    assert conflict.value.reason == ReasonCode.CONFLICT
    assert await database.run(partial(channel_rows.latest, channel=CCP), write=False) == CCP_1


async def test_ever_member_looks_through_every_version(database: Database) -> None:
    await store(database, CCP_1, CCP_2, CCP_3)

    def members(connection: Connection) -> dict[str, bool]:
        return {a: channel_rows.ever_member(connection, CCP, a) for a in (GYE, MAD, ALG, "x.y")}

    # Madrid was removed at version 2 and Algeciras came at 3: both were members once.
    assert await database.run(members, write=False) == {
        GYE: True,
        MAD: True,
        ALG: True,
        "x.y": False,
    }
    assert not await database.run(
        partial(channel_rows.ever_member, channel=JIT, agency=GYE), write=False
    )


async def test_join_requests_are_kept_once_and_decided_once(database: Database) -> None:
    def ask(agency: str, at_ms: int, note: str) -> JoinRequest:
        return JoinRequest(
            channel=CCP, agency=agency, requested_ms=at_ms, note=note, state=JoinState.PENDING
        )

    request = partial(channel_rows.request_join, request=ask(MAD, 10, "first"))
    assert await database.run(request, write=True)
    again = partial(channel_rows.request_join, request=ask(MAD, 20, "second"))
    assert not await database.run(again, write=True)
    other = partial(channel_rows.request_join, request=replace(ask(ALG, 30, "x"), channel=JIT))
    assert await database.run(other, write=True)

    joins = await database.run(partial(channel_rows.joins, channel=CCP), write=False)
    assert [(j.agency, j.note, j.state) for j in joins] == [(MAD, "first", JoinState.PENDING)]
    every = await database.run(channel_rows.joins, write=False)
    assert [j.agency for j in every] == [ALG, MAD]  # newest first
    state = partial(channel_rows.join_state, channel=CCP, agency=MAD)
    assert await database.run(state, write=False) is JoinState.PENDING

    decide = partial(
        channel_rows.decide_join, channel=CCP, agency=MAD, state=JoinState.APPROVED, now_ms=40
    )
    assert await database.run(decide, write=True)
    assert not await database.run(decide, write=True)  # no longer pending
    assert await database.run(state, write=False) is JoinState.APPROVED
    [decided] = await database.run(partial(channel_rows.joins, channel=CCP), write=False)
    assert decided.decided_ms == 40
    nobody = partial(channel_rows.join_state, channel=CCP, agency=GYE)
    assert await database.run(nobody, write=False) is None


SUB = Subscription(
    id="0190a5b4-0001-7000-8000-000000000000",
    publisher=GYE,
    subscriber=CTG,
    filter_json='{"programmes": ["ccp"]}',
    state="requested",
    created_ms=100,
    updated_ms=100,
    note="container programme",
)


async def test_subscriptions_round_trip_and_change_state(database: Database) -> None:
    await database.run(partial(subscription_rows.add, item=SUB), write=True)
    later = replace(SUB, id="0190a5b4-0002-7000-8000-000000000000", publisher=MAD, created_ms=200)
    await database.run(partial(subscription_rows.add, item=later), write=True)
    with pytest.raises(StorageError) as exists:
        await database.run(partial(subscription_rows.add, item=SUB), write=True)
    assert exists.value.reason == ReasonCode.CONFLICT

    assert await database.run(partial(subscription_rows.get, sid=SUB.id), write=False) == SUB
    with pytest.raises(StorageError) as missing:
        await database.run(partial(subscription_rows.get, sid="nope"), write=False)
    assert missing.value.reason == ReasonCode.NOT_FOUND

    pause = partial(
        subscription_rows.set_state,
        sid=SUB.id,
        state="admitted",
        at_ms=150,
        reason="by policy",
        paused_by=None,
    )
    await database.run(pause, write=True)
    admitted = replace(SUB, state="admitted", updated_ms=150, reason="by policy")
    assert await database.run(partial(subscription_rows.get, sid=SUB.id), write=False) == admitted
    involving = partial(subscription_rows.involving, agency=CTG)
    assert await database.run(involving, write=False) == [admitted, later]
    assert await database.run(partial(subscription_rows.involving, agency=GYE), write=False) == [
        admitted
    ]
    filters = partial(subscription_rows.admitted_filters, publisher=GYE)
    assert await database.run(filters, write=False) == [(CTG, SUB.filter_json)]


PERMISSION = Permission(
    id="0190a5b4-0003-7000-8000-000000000000",
    envelope_id="0190a5b4-0004-7000-8000-000000000000",
    requester=CTG,
    originator=GYE,
    recipients=(ALG, MAD),
    state="pending",
    created_ms=300,
    note="for the JIT",
)


async def test_permission_requests_round_trip_and_grant(database: Database) -> None:
    await database.run(partial(permission_rows.add, item=PERMISSION), write=True)
    with pytest.raises(StorageError) as exists:
        await database.run(partial(permission_rows.add, item=PERMISSION), write=True)
    assert exists.value.reason == ReasonCode.CONFLICT
    get = partial(permission_rows.get, pid=PERMISSION.id)
    assert await database.run(get, write=False) == PERMISSION
    granted = partial(permission_rows.granted_to, envelope_id=PERMISSION.envelope_id, agency=ALG)
    assert not await database.run(granted, write=False)  # pending is not granted

    decide = partial(
        permission_rows.decide,
        pid=PERMISSION.id,
        state="granted",
        at_ms=400,
        reason="ok",
        share_id="0190a5b4-0005-7000-8000-000000000000",
    )
    await database.run(decide, write=True)
    assert await database.run(get, write=False) == replace(
        PERMISSION,
        state="granted",
        decided_ms=400,
        reason="ok",
        share_id="0190a5b4-0005-7000-8000-000000000000",
    )
    assert await database.run(granted, write=False)
    stranger = partial(permission_rows.granted_to, envelope_id=PERMISSION.envelope_id, agency=GYE)
    assert not await database.run(stranger, write=False)
    assert [p.id for p in await database.run(permission_rows.every, write=False)] == [PERMISSION.id]
    with pytest.raises(StorageError) as missing:
        await database.run(partial(permission_rows.get, pid="nope"), write=False)
    assert missing.value.reason == ReasonCode.NOT_FOUND
