"""Two units of work at once: a look followed by a write must not let both pass the look.

On PostgreSQL (READ COMMITTED) two units can read the same row, or the
absence of one, before either commits; whatever the second then writes on
the strength of that read (an insert, a count plus one, a state change)
must either wait for the first and see what it wrote, or find the key taken
and do nothing. Each test holds the first unit open after its write, starts
the second, and lets the first commit a moment after the second began
waiting, as two requests or two workers would. SQLite has one writer: two
units never overlap there, so these run on PostgreSQL only.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import pytest
from sqlalchemy import Connection

from baliza.crypto import AgencyKeys, Suite
from baliza.crypto.audit import sign_tree_head
from baliza.node.services import person_sign_in, sharing
from baliza.node.services import subscriptions as subscription_service
from baliza.node.services.accounts import (
    MAX_FAILURES,
    Factor,
    SignInRefusedError,
    _disable,
    _replace_codes,
    recovery_hash,
)
from baliza.node.services.audit import _keep_head
from baliza.node.services.channels import CONFLICT_EVENT
from baliza.node.services.channels import _record_alarm as _record_channel_alarm
from baliza.node.services.directory_sync import _record as _record_directory
from baliza.node.storage import Database
from baliza.node.storage.directory import DirectoryVersion
from baliza.node.storage.sql import audit as audit_rows
from baliza.node.storage.sql import channels as channel_rows
from baliza.node.storage.sql import directory as directory_rows
from baliza.node.storage.sql import messages as message_rows
from baliza.node.storage.sql import notify as notify_rows
from baliza.node.storage.sql import permissions as permission_rows
from baliza.node.storage.sql import subscriptions as subscription_rows
from baliza.node.storage.sql import trust as trust_rows
from baliza.node.storage.sql import users as user_rows
from baliza.node.storage.subscriptions import Permission, Subscription
from baliza.node.storage.users import User
from baliza.protocol.audit import SignedTreeHead, TreeHead
from baliza.protocol.errors import BalizaError, ReasonCode
from baliza.protocol.ids import AgencyId, EnvelopeId
from baliza.protocol.subscriptions import (
    PermissionState,
    SubscriptionState,
    SubscriptionUpdate,
)

T = TypeVar("T")
U = TypeVar("U")

PUBLISHER = AgencyId("es.aduana.alg")
SUBSCRIBER = AgencyId("pa.ana.pty")
SUBSCRIPTION = "0190a5b4-0001-7000-8000-000000000000"
PERMISSION = "0190a5b4-0002-7000-8000-000000000000"
NOTICE = "0190a5b4-0003-7000-8000-000000000000"


def _postgres_only(database: Database) -> None:
    if database.dialect != "postgresql":
        pytest.skip("SQLite has one writer: two units never overlap")


async def _at_once(
    database: Database, first: Callable[[Connection], T], second: Callable[[Connection], U]
) -> tuple[T | BaseException, U | BaseException]:
    """Run ``first`` and hold its transaction open while ``second`` starts; then commit both.

    Each outcome is what the unit returned, or what it raised: a refusal
    as the unit raised it, a key violation as SQLAlchemy's
    ``IntegrityError`` (``Database.run``, which names it ``CONFLICT``, is
    not in the way here).
    """
    first_done = asyncio.Event()
    release = asyncio.Event()

    async def first_unit() -> T:
        async with database.engine.begin() as connection:
            result = await connection.run_sync(first)
            first_done.set()
            await release.wait()
        return result

    async def second_unit() -> U:
        await first_done.wait()
        # The second unit's write (or locking read) waits on the first's
        # uncommitted row; let the first commit a moment after it starts waiting.
        asyncio.get_running_loop().call_later(0.3, release.set)
        async with database.engine.begin() as connection:
            return await connection.run_sync(second)

    one, two = await asyncio.gather(first_unit(), second_unit(), return_exceptions=True)
    return one, two


# ---------------------------------------------------------------- the audit log's own heads


async def test_two_units_keeping_a_head_of_the_same_size_both_succeed(
    database: Database,
) -> None:
    # The head signer and an auditor's inclusion request (or two workers)
    # sign the log at one size at the same moment: the second must find that
    # size signed, not answer the auditor with a key violation (HTTP 409).
    _postgres_only(database)
    keys = AgencyKeys.generate(PUBLISHER, Suite.CLASSIC, valid_from_ms=0, valid_until_ms=10**10)

    def signed(at_ms: int) -> SignedTreeHead:
        return sign_tree_head(keys, TreeHead(log=PUBLISHER, size=4, root=b"\x02" * 32, at_ms=at_ms))

    first, second = signed(1), signed(2)
    one, two = await _at_once(
        database, partial(_keep_head, head=first), partial(_keep_head, head=second)
    )
    assert one is None and two is None
    heads = await database.run(audit_rows.heads, write=False)
    assert heads == [(4, 1, first.to_bytes())]


async def test_two_units_keeping_the_same_peer_head_at_once_both_succeed(
    database: Database,
) -> None:
    # A delivery proof and the head exchange can keep one peer head at the
    # same moment; the second must find it kept, not fail on the key (CI
    # failed on this: an administrator's proof answered 409).
    _postgres_only(database)
    keep = partial(
        audit_rows.keep_peer_head,
        peer=PUBLISHER,
        size=3,
        root=b"\x01" * 32,
        at_ms=1,
        seen_ms=2,
        accepted=True,
        signed=b"signed head",
    )
    one, two = await _at_once(database, keep, keep)
    assert one is None and two is None
    heads = await database.run(audit_rows.peer_heads, write=False)
    assert [(peer, size) for peer, size, *_ in heads] == [(PUBLISHER, 3)]


# ---------------------------------------------------------------- people's accounts


def _person(user_id: str = "u1") -> User:
    return User(
        id=user_id,
        login="ana",
        name="Ana",
        unit=None,
        role="analyst",
        password="$argon2id$not-checked-here",
        totp_secret="JBSWY3DPEHPK3PXP",
        totp_step=0,
        disabled=False,
        failures=0,
        locked_until_ms=0,
        created_ms=1,
    )


async def _enrolled(database: Database) -> User:
    person = _person()
    await database.run(partial(user_rows.insert_user, user=person), write=True)
    return person


async def test_two_failed_sign_ins_at_once_both_count(database: Database) -> None:
    # Someone guessing passwords in parallel: each failure reads the count
    # and stores it plus one. Read without a lock, both read 0 and store 1,
    # and the lock-out after MAX_FAILURES never comes however fast they guess.
    _postgres_only(database)
    person = await _enrolled(database)
    count = partial(person_sign_in._count_failure, user_id=person.id, now=1_000)
    one, two = await _at_once(database, count, count)
    assert one is False and two is False
    stored = await database.run(partial(user_rows.user_by_id, user_id=person.id), write=False)
    assert stored is not None and stored.failures == 2
    assert MAX_FAILURES > 2  # so that two failures count, not lock


async def test_a_sign_in_racing_the_accounts_disabling_is_refused(database: Database) -> None:
    # An administrator disables an account while its holder's sign-in is
    # being admitted. Read without a lock, the sign-in sees the account
    # enabled and opens a session after the disabling committed.
    _postgres_only(database)
    person = await _enrolled(database)
    one, two = await _at_once(
        database,
        partial(_disable, login=person.login, now=2, actor="admin"),
        partial(person_sign_in._admit, user_id=person.id, factor=Factor(step=7), now=3),
    )
    assert one is None
    assert isinstance(two, SignInRefusedError) and two.cause == "disabled", two
    stored = await database.run(partial(user_rows.user_by_id, user_id=person.id), write=False)
    assert stored is not None and stored.disabled and stored.totp_step == 0


async def test_two_renewals_of_recovery_codes_at_once_leave_one_set(database: Database) -> None:
    # A double click on "new recovery codes": two units each drop the codes
    # they see and store ten new ones. Without waiting for the first, the
    # second drops nothing the first stored, and the codes of the page the
    # person never saw keep working ("every earlier code stops working").
    _postgres_only(database)
    person = await _enrolled(database)
    earlier = ("earlier-one", "earlier-two")
    await database.run(
        partial(
            user_rows.replace_recovery_codes,
            user_id=person.id,
            hashes=[recovery_hash(c) for c in earlier],
        ),
        write=True,
    )
    lost, shown = ("aaaa-bbbb-cccc-dddd",), ("eeee-ffff-gggg-hhhh",)
    one, two = await _at_once(
        database,
        partial(_replace_codes, user_id=person.id, codes=lost, now=2),
        partial(_replace_codes, user_id=person.id, codes=shown, now=3),
    )
    assert one is None and two is None

    def works(connection: Connection, code: str) -> bool:
        return user_rows.use_recovery_code(connection, person.id, recovery_hash(code), 4)

    for code in (*earlier, *lost):
        assert not await database.run(partial(works, code=code), write=True), code
    assert await database.run(partial(works, code=shown[0]), write=True)


# ---------------------------------------------------------------- subscriptions and permissions


async def _pending_subscription(database: Database) -> None:
    item = Subscription(
        id=SUBSCRIPTION,
        publisher=PUBLISHER,
        subscriber=SUBSCRIBER,
        filter_json=json.dumps({"programmes": ["drugs"]}),
        state=SubscriptionState.PENDING.value,
        created_ms=1,
        updated_ms=1,
    )
    await database.run(partial(subscription_rows.add, item=item), write=True)


async def test_an_approval_racing_the_subscribers_cancel_is_refused(database: Database) -> None:
    # The subscriber cancels a pending subscription while an administrator
    # here approves it. Both read "pending"; written blindly, the approval
    # overwrites the cancel, this node seals to a partner who withdrew, and
    # the partner answers the approval 409 (final), which counts as sent.
    _postgres_only(database)
    await _pending_subscription(database)
    cancel = SubscriptionUpdate(
        id=EnvelopeId(SUBSCRIPTION),
        publisher=PUBLISHER,
        subscriber=SUBSCRIBER,
        state=SubscriptionState.CANCELLED,
        at_ms=2,
    )
    one, two = await _at_once(
        database,
        partial(
            subscription_service._receive_update,
            me=PUBLISHER,
            origin=SUBSCRIBER,
            update=cancel,
            now=2,
        ),
        partial(
            subscription_service._change,
            me=PUBLISHER,
            sid=SUBSCRIPTION,
            new=SubscriptionState.ADMITTED,
            reason="approved",
            decision=True,
            now=3,
        ),
    )
    assert one is None
    assert isinstance(two, BalizaError) and two.reason is ReasonCode.CONFLICT, two
    stored = await database.run(partial(subscription_rows.get, sid=SUBSCRIPTION), write=False)
    assert stored.state == SubscriptionState.CANCELLED.value
    queued = await database.run(message_rows.pending, write=False)
    assert queued == []  # nothing tells the subscriber it was admitted


async def test_two_officers_deciding_one_permission_at_once_decide_once(
    database: Database,
) -> None:
    # Two officers answer one share request at the same moment, one grants
    # and one refuses. Both read "pending": written blindly, both decisions
    # are recorded and sent, and the requester shares on the first while
    # this node keeps the second.
    _postgres_only(database)
    item = Permission(
        id=PERMISSION,
        envelope_id=NOTICE,
        requester=SUBSCRIBER,
        originator=PUBLISHER,
        recipients=("mx.sat.ver",),
        state=PermissionState.PENDING.value,
        created_ms=1,
    )
    await database.run(partial(permission_rows.add, item=item), write=True)

    def decide(state: PermissionState, now: int) -> Callable[[Connection], object]:
        return partial(
            sharing._decide, me=PUBLISHER, pid=PERMISSION, state=state, reason=None, now=now
        )

    one, two = await _at_once(
        database, decide(PermissionState.GRANTED, 2), decide(PermissionState.REFUSED, 3)
    )
    assert not isinstance(one, BaseException), one
    assert isinstance(two, BalizaError) and two.reason is ReasonCode.CONFLICT, two
    stored = await database.run(partial(permission_rows.get, pid=PERMISSION), write=False)
    assert stored.state == PermissionState.GRANTED.value
    queued = await database.run(message_rows.pending, write=False)
    assert [m.path for m in queued] == ["/fed/v1/permissions/decision"]


# ---------------------------------------------------------------- notifications


async def test_two_digests_at_once_take_each_notification_once(database: Database) -> None:
    # Every worker gathers digests; two gathering one person's at the same
    # moment both read the same pending notifications and each mails them.
    _postgres_only(database)
    owner = "user:u1"
    for n in range(3):
        values = {
            "owner": owner,
            "cause": "watch",
            "subject": f"0190a5b4-{n:04x}-7000-8000-00000000000a",
            "watch_id": None,
            "kind": "notice.alert",
            "location": None,
            "tlp": "green",
            "created_ms": n,
            "mail": "pending",
        }
        await database.run(partial(notify_rows.add_notification, values=values), write=True)
    take = partial(notify_rows.take_pending, owner=owner)
    one, two = await _at_once(database, take, take)
    assert isinstance(one, list) and isinstance(two, list)
    assert sorted(n.subject for n in [*one, *two]) == [
        f"0190a5b4-{n:04x}-7000-8000-00000000000a" for n in range(3)
    ]
    assert all(n.mail == "queued" for n in [*one, *two])


# ---------------------------------------------------------------- the federation directory


async def test_one_directory_version_pushed_by_two_peers_at_once_is_applied_once(
    database: Database,
) -> None:
    # Gossip: two peers that applied version 5 push it on to this node at
    # the same moment; both pushes pass the checks against version 4 in
    # force. The second must be "no change", not a 409 to the peer.
    _postgres_only(database)
    version = DirectoryVersion(
        version=5, applied_ms=2, expires_ms=10**12, raw=b"signed directory 5", signers=()
    )
    record = partial(
        _record_directory, versions=[version], actor="pushed", in_force=5, detail={"changes": []}
    )
    one, two = await _at_once(database, record, record)
    assert (one, two) == (True, False)
    history = await database.run(directory_rows.history, write=False)
    assert [v.version for v in history] == [5]
    events = await database.run(
        partial(trust_rows.events_of, action="directory.applied"), write=False
    )
    assert len(events) == 1


# ---------------------------------------------------------------- channel alarms


async def test_one_contradicting_chain_offered_twice_at_once_pauses_sends_once(
    database: Database,
) -> None:
    # A courier retrying while its first push is still being checked: both
    # find the chain contradicts the one held. Sends pause once, and the
    # alarm is one trust event, not one per push.
    _postgres_only(database)
    channel = "jit.race"
    detail: dict[str, object] = {
        "reason": ReasonCode.MEMBERSHIP_FORK.value,
        "detail": "another version 2",
    }
    alarm = partial(
        _record_channel_alarm,
        channel=channel,
        actor="pushed by pa.ana.pty",
        detail=detail,
        at_ms=5,
        pause=True,
    )
    one, two = await _at_once(database, alarm, alarm)
    assert (one, two) == (True, False)
    events = await database.run(partial(trust_rows.events_of, action=CONFLICT_EVENT), write=False)
    assert [e.subject for e in events] == [channel]
    assert await database.run(channel_rows.paused, write=False) == [channel]
