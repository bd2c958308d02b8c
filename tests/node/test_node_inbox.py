"""The inbox: its rules tested directly, its use cases on a real database of each engine.

Received notices are stored as ingest stores them (``insert_notices``);
people are real accounts. Every refusal is tried and must write nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from functools import partial

import pytest
from sqlalchemy import Connection, select

from baliza.node.services.accounts import add_user, disable_user
from baliza.node.services.inbox import (
    InboxChange,
    acting_for,
    apply_change,
    person_of,
    unread_count,
)
from baliza.node.services.person_actions import people_on
from baliza.node.services.rules.inbox import (
    FRESH,
    NEAR_MS,
    Colleague,
    Holding,
    Person,
    Placing,
    Priority,
    Status,
    assign,
    order_key,
    set_priority,
    set_status,
)
from baliza.node.services.rules.roles import Role
from baliza.node.services.tokens import Caller
from baliza.node.services.views.inbox import InboxState, InboxView, inbox_page
from baliza.node.storage import Database
from baliza.node.storage.models import InboxItemRow, table_of
from baliza.node.storage.notices import Direction, NoticeRecord
from baliza.node.storage.sql import notices as notice_rows
from baliza.node.storage.sql import users as user_rows
from baliza.protocol.errors import BalizaError, InputError, ReasonCode, TrustError

NOW = 1_800_000_000_000
HOUR = 3_600_000
PASSWORD = "a long enough passphrase"
ANA = Person(user_id="u-ana", role=Role.ANALYST, unit="Port")
PUB = Person(user_id="u-pub", role=Role.PUBLISHER, unit="Port")


# ---------------------------------------------------------------- the rules


def test_an_allowed_step_changes_the_status_and_a_forbidden_one_names_the_field() -> None:
    held = Holding(assignee=PUB.user_id)
    done = set_status(PUB, set_status(PUB, held, Status.IN_PROGRESS), Status.DONE)
    assert done.status is Status.DONE
    with pytest.raises(InputError) as err:
        set_status(PUB, done, Status.NEW)
    assert (err.value.reason, err.value.path) == (ReasonCode.CONFLICT, "status")
    assert set_status(PUB, done, Status.DONE) is done  # the same value: no change
    assert set_status(PUB, done, Status.IN_PROGRESS).status is Status.IN_PROGRESS


def test_going_in_progress_gives_an_unheld_notice_to_whoever_did() -> None:
    assert set_status(ANA, FRESH, Status.IN_PROGRESS).assignee == ANA.user_id
    held = Holding(assignee="u-other")
    assert set_status(PUB, held, Status.IN_PROGRESS).assignee == "u-other"


def test_an_analyst_takes_free_work_but_cannot_move_a_colleagues_or_assign_others() -> None:
    me = Colleague(id=ANA.user_id, login="ana", disabled=False)
    other = Colleague(id="u-other", login="other", disabled=False)
    assert assign(ANA, FRESH, me, "ana").assignee == ANA.user_id
    attempts: list[Callable[[], Holding]] = [
        lambda: assign(ANA, FRESH, other, "other"),
        lambda: assign(ANA, Holding(assignee="u-other"), me, "ana"),
        lambda: set_status(ANA, Holding(assignee="u-other"), Status.DONE),
        lambda: set_priority(ANA, Holding(assignee="u-other"), Priority.URGENT),
    ]
    for attempt in attempts:
        with pytest.raises(TrustError) as err:
            attempt()
        assert err.value.reason == ReasonCode.FORBIDDEN
    # A publisher runs the queue: assigns to others, takes a colleague's work.
    assert assign(PUB, Holding(assignee="u-other"), me, "ana").assignee == ANA.user_id


def test_an_unknown_or_disabled_assignee_is_refused_naming_the_field() -> None:
    with pytest.raises(InputError) as err:
        assign(PUB, FRESH, None, "nobody")
    assert (err.value.reason, err.value.path) == (ReasonCode.NOT_FOUND, "assignee")
    gone = Colleague(id="u-gone", login="gone", disabled=True)
    with pytest.raises(InputError) as err:
        assign(PUB, FRESH, gone, "gone")
    assert (err.value.reason, err.value.path) == (ReasonCode.CONFLICT, "assignee")


def test_pressing_alerts_come_first_then_priority_then_status_then_newest() -> None:
    def key(seq: int, **kw: object) -> tuple[int, int, int, int, int]:
        return order_key(Placing(seq=seq, **kw), NOW)  # type: ignore[arg-type]

    overdue = key(1, holding=FRESH, expected_ms=NOW - HOUR)
    near = key(2, holding=FRESH, expected_ms=NOW + NEAR_MS - 1)
    far = key(3, holding=FRESH, expected_ms=NOW + NEAR_MS + HOUR)
    answered = key(4, holding=FRESH, expected_ms=NOW - HOUR, answered=True)
    urgent = key(5, holding=Holding(priority=Priority.URGENT))
    done_overdue = key(6, holding=Holding(status=Status.DONE), expected_ms=NOW - HOUR)
    working = key(7, holding=Holding(status=Status.IN_PROGRESS))
    newest = key(8, holding=FRESH)
    ranked = sorted([far, answered, urgent, done_overdue, working, newest, near, overdue])
    assert ranked == [overdue, near, urgent, newest, answered, far, working, done_overdue]


def test_a_token_has_no_inbox() -> None:
    with pytest.raises(TrustError) as err:
        person_of(Caller(token_id="t1", name="robot", role=Role.ADMIN))
    assert (err.value.reason, err.value.path) == (ReasonCode.FORBIDDEN, "user")


def test_nothing_to_change_is_refused() -> None:
    with pytest.raises(InputError) as err:
        InboxChange()
    assert err.value.reason == ReasonCode.MISSING_FIELD


# ------------------------------------------------------- on a real database


def notice(eid: str, kind: str = "notice.seizure", **body: object) -> NoticeRecord:
    return NoticeRecord(
        envelope_id=eid,
        direction=Direction.IN,
        kind=kind,
        sender="ec.polnac.gye",
        created_ms=NOW - HOUR,
        stored_ms=NOW - HOUR,
        tlp="amber",
        summary=f"notice {eid[-4:]}",
        search_text="",
        notice_json=json.dumps({"kind": kind, **body}),
    )


def eid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


async def store(db: Database, *records: NoticeRecord) -> None:
    def work(connection: Connection) -> None:
        notice_rows.insert_notices(connection, records)

    await db.run(work, write=True)


async def people(db: Database) -> dict[str, Person]:
    out = {}
    for login, role, unit in (
        ("ana", "analyst", "Port"),
        ("pablo", "publisher", "Port"),
        ("rosa", "publisher", "Airport"),
        ("gone", "analyst", "Port"),
    ):
        await add_user(
            db, login, name=login.title(), role=role, unit=unit, password=PASSWORD, now=NOW
        )
        user = await db.run(partial(user_rows.user_by_login, login=login), write=False)
        assert user is not None
        out[login] = Person(user_id=user.id, role=Role(role), unit=unit)
    await disable_user(db, "gone", NOW, actor="test")
    return out


async def items_table(db: Database) -> list[tuple[object, ...]]:
    table = table_of(InboxItemRow)

    def work(connection: Connection) -> list[tuple[object, ...]]:
        return [tuple(r) for r in connection.execute(select(table))]

    return await db.run(work, write=False)


async def test_every_received_notice_is_in_the_inbox_with_pressing_alerts_first(
    database: Database,
) -> None:
    who = await people(database)
    await store(
        database,
        notice(eid(1)),
        notice(eid(2), "notice.alert", expected_ms=NOW + HOUR),
        notice(eid(3), "notice.alert", expected_ms=NOW + 3 * 24 * HOUR),
        notice(eid(4), "notice.alert", expected_ms=NOW - HOUR),
        notice(eid(5), "notice.outcome", alert=eid(4), result="negative"),
    )
    page = await inbox_page(database, who["ana"], NOW)
    ids = [e.notice.envelope_id for e in page.items]
    # 4 is overdue but answered by 5: not pressing. 2 arrives within the hour.
    assert ids[0] == eid(2) and page.items[0].pressing
    assert set(ids) == {eid(n) for n in range(1, 6)}
    assert page.total == 5 and page.unread == 5
    assert all(e.holding == FRESH and e.read_ms is None for e in page.items)
    assert await unread_count(database, who["ana"]) == 5


async def test_taking_working_and_closing_a_notice_is_recorded_per_person(
    database: Database,
) -> None:
    who = await people(database)
    await store(database, notice(eid(1)), notice(eid(2)))
    taken = await apply_change(database, who["ana"], eid(1), InboxChange(assignee="ana"), NOW)
    assert taken.assignee == "ana" and taken.read and taken.recorded == ("assigned",)
    working = await apply_change(
        database, who["ana"], eid(1), InboxChange(status="in_progress", priority="high"), NOW + 1
    )
    assert (working.status, working.priority) == (Status.IN_PROGRESS, Priority.HIGH)
    mine = await inbox_page(database, who["ana"], NOW, view=InboxView.MINE)
    assert [e.notice.envelope_id for e in mine.items] == [eid(1)]
    assert await unread_count(database, who["ana"]) == 1  # acting on it was seeing it
    await apply_change(database, who["ana"], eid(1), InboxChange(status="done"), NOW + 2)
    actions = await people_on(database, eid(1))
    assert [(a.action, a.detail, a.at_ms) for a in actions] == [
        ("assigned", "ana", NOW),
        ("status", "in_progress", NOW + 1),
        ("priority", "high", NOW + 1),
        ("status", "done", NOW + 2),
    ]
    assert {a.user_id for a in actions} == {who["ana"].user_id}
    done = await inbox_page(database, who["ana"], NOW, state=InboxState.DONE)
    assert done.total == 1 and done.counts[InboxState.OPEN] == 1


async def test_the_unit_queue_and_the_handover_name_who_holds_what(database: Database) -> None:
    who = await people(database)
    await store(database, *(notice(eid(n)) for n in range(1, 5)))
    await apply_change(database, who["pablo"], eid(1), InboxChange(assignee="ana"), NOW)
    await apply_change(database, who["pablo"], eid(2), InboxChange(status="in_progress"), NOW)
    await apply_change(database, who["rosa"], eid(3), InboxChange(status="in_progress"), NOW)
    unit = await inbox_page(database, who["ana"], NOW, view=InboxView.UNIT)
    # Rosa (Airport) holds 3: not in the Port unit's queue. 4 is nobody's.
    assert {e.notice.envelope_id for e in unit.items} == {eid(1), eid(2), eid(4)}
    lines = {(h.holder.login if h.holder else None): (h.new, h.in_progress) for h in unit.handover}
    assert lines == {None: (1, 0), "ana": (1, 0), "pablo": (0, 1)}


async def test_refusals_name_the_field_and_write_nothing(database: Database) -> None:
    who = await people(database)
    await store(database, notice(eid(1)))
    await apply_change(database, who["pablo"], eid(1), InboxChange(assignee="pablo"), NOW)
    before = await items_table(database)
    attempts: list[tuple[Person, InboxChange, ReasonCode, str]] = [
        (who["pablo"], InboxChange(assignee="nobody"), ReasonCode.NOT_FOUND, "assignee"),
        (who["pablo"], InboxChange(assignee="gone"), ReasonCode.CONFLICT, "assignee"),
        (who["pablo"], InboxChange(status="finished"), ReasonCode.BAD_ENUM, "status"),
        (who["pablo"], InboxChange(priority="asap"), ReasonCode.BAD_ENUM, "priority"),
        (who["ana"], InboxChange(assignee="ana"), ReasonCode.FORBIDDEN, "assignee"),
        (who["ana"], InboxChange(status="done"), ReasonCode.FORBIDDEN, "status"),
        # Valid first half, refused second: the first half is not kept either.
        (
            who["pablo"],
            InboxChange(priority="urgent", status="finished"),
            ReasonCode.BAD_ENUM,
            "status",
        ),
    ]
    for person, change, reason, path in attempts:
        with pytest.raises(BalizaError) as err:
            await apply_change(database, person, eid(1), change, NOW + 5)
        assert (err.value.reason, err.value.path) == (reason, path), change
    assert await items_table(database) == before
    assert [a.action for a in await people_on(database, eid(1))] == ["assigned"]
    with pytest.raises(InputError) as missing:
        await apply_change(database, who["pablo"], eid(9), InboxChange(status="done"), NOW)
    assert (missing.value.reason, missing.value.path) == (ReasonCode.NOT_FOUND, "id")


async def test_a_read_mark_is_the_readers_alone(database: Database) -> None:
    who = await people(database)
    await store(database, notice(eid(1)), notice(eid(2)))
    await apply_change(database, who["ana"], eid(1), InboxChange(read=True), NOW)
    assert await unread_count(database, who["ana"]) == 1
    assert await unread_count(database, who["pablo"]) == 2  # Ana's reading is not Pablo's
    page = await inbox_page(database, who["pablo"], NOW)
    assert all(e.read_ms is None for e in page.items)
    await apply_change(database, who["ana"], eid(1), InboxChange(read=False), NOW)
    assert await unread_count(database, who["ana"]) == 2
    assert await people_on(database, eid(1)) == []  # a read mark is no inbox change


async def test_an_admin_token_acts_for_a_named_person_and_nothing_less_does(
    database: Database,
) -> None:
    who = await people(database)
    admin = Caller(token_id="t1", name="ops", role=Role.ADMIN)
    assert await acting_for(database, admin, "Ana") == who["ana"]
    refusals = [
        (Caller(token_id="t2", name="feed", role=Role.PUBLISHER), "ana", ReasonCode.FORBIDDEN),
        (admin, "", ReasonCode.MISSING_FIELD),
        (admin, "nobody", ReasonCode.NOT_FOUND),
        (admin, "gone", ReasonCode.CONFLICT),
    ]
    for caller, login, reason in refusals:
        with pytest.raises(BalizaError) as err:
            await acting_for(database, caller, login)
        assert (err.value.reason, err.value.path) == (reason, "user")


async def test_paging_says_how_many_of_how_many(database: Database) -> None:
    who = await people(database)
    await store(database, *(notice(eid(n)) for n in range(1, 26)))
    first = await inbox_page(database, who["ana"], NOW, limit=20)
    second = await inbox_page(database, who["ana"], NOW, offset=20, limit=20)
    assert (len(first.items), first.total, len(second.items)) == (20, 25, 5)
    seen = [e.notice.envelope_id for e in first.items + second.items]
    assert sorted(seen) == [eid(n) for n in range(1, 26)]
    assert seen[0] == eid(25)  # same priority and status: the newest first
    with pytest.raises(InputError) as err:
        await inbox_page(database, who["ana"], NOW, limit=0)
    assert err.value.path == "limit"


async def test_changes_racing_on_one_notice_apply_one_after_the_other(database: Database) -> None:
    who = await people(database)
    await store(database, notice(eid(1)))
    wanted = ["high", "urgent", "low", "high", "urgent", "low", "normal", "urgent"]
    changed = await asyncio.gather(
        *(
            apply_change(
                database, who["pablo" if i % 2 else "rosa"], eid(1), InboxChange(priority=p), NOW
            )
            for i, p in enumerate(wanted)
        )
    )
    recorded = [a for a in await people_on(database, eid(1)) if a.action == "priority"]
    # Each change saw what the one before it left: it recorded a change exactly when
    # its value differed, and the stored priority is the last one recorded.
    assert len(recorded) == sum(1 for c in changed if c.recorded == ("priority",))
    assert len(recorded) >= 1
    page = await inbox_page(database, who["ana"], NOW)
    assert page.items[0].holding.priority.value == recorded[-1].detail
    assert len(await items_table(database)) == 1
