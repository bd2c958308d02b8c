"""The Inbox on real nodes over HTTP: the console page, its forms, the API, and ways around them.

Guayaquil sends Algeciras an alert due within the hour and a seizure;
people of Algeciras sign in with password and code. The console and the
API show the same inbox; a form without its CSRF token, an analyst moving
a colleague's notice, a person reaching another's read marks and a token
that is no person are all refused.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pyotp
import pytest
from console_client import CSRF, signed_in
from node_harness import TestNode, introduce, make_node
from notice_json import alert_notice, publish_body
from sharing_support import wait_for

from baliza.node.cli.main import main
from baliza.node.core.clock import now_ms
from baliza.node.services.accounts import Enrolment, add_user, disable_user
from baliza.node.services.person_actions import people_on
from baliza.protocol.errors import ReasonCode, TrustError

PASSWORD = "a long enough passphrase"
HOUR_MS = 3_600_000
ITEM = re.compile(
    r'<li id="n-[^"]+" class="inbox-item([^"]*)" data-id="([^"]+)" data-status="(\w+)" '
    r'data-priority="(\w+)" data-read="(\w+)" data-assignee="([^"]*)"'
)
COUNT = re.compile(r'<p id="inbox-count" role="status">(\d+) of (\d+) notices</p>')
BADGE = re.compile(r'<span class="badge" id="inbox-unread">(\d+)')


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[tuple[TestNode, TestNode]]:
    gye = make_node(tmp_path, "ec.polnac.gye", f"sqlite+aiosqlite:///{tmp_path / 'gye.db'}")
    alg = make_node(tmp_path, "es.aduanas.alg", f"sqlite+aiosqlite:///{tmp_path / 'alg.db'}")
    introduce(gye, alg)
    await gye.start()
    await alg.start()
    yield gye, alg
    await gye.stop()
    await alg.stop()


def alert(sender: str, expected_ms: int) -> dict[str, Any]:
    return alert_notice(sender, "MSCU1234566", expected_ms)


class Person:
    """A browser of one person of Algeciras, signed in with password and code."""

    def __init__(self, node: TestNode, enrolment: Enrolment) -> None:
        self.node = node
        self.login = enrolment.login
        self.secret = enrolment.totp_secret
        self.session = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True), headers={"Accept-Language": "en"}
        )
        self.csrf = ""

    async def sign_in(self) -> None:
        url = self.node.url + "/console/sign-in"
        async with self.session.get(url) as resp:
            pre = CSRF.search(await resp.text())
        assert pre is not None
        form = {
            "csrf": pre.group(1),
            "login": self.login,
            "password": PASSWORD,
            "code": pyotp.TOTP(self.secret).now(),
            "next": "/console/inbox",
        }
        async with self.session.post(url, data=form) as resp:
            page = await resp.text()
            assert resp.status == 200, page
        found = CSRF.search(page)
        assert found is not None
        self.csrf = found.group(1)

    async def inbox(self, query: str = "") -> tuple[str, list[tuple[str, ...]]]:
        async with self.session.get(self.node.url + "/console/inbox" + query) as resp:
            page = await resp.text()
            assert resp.status == 200, page
        return page, [m.groups() for m in ITEM.finditer(page)]

    async def post(self, eid: str, change: str, value: str, **extra: str) -> tuple[int, str]:
        form = {"csrf": self.csrf, "change": change, "value": value, **extra}
        async with self.session.post(
            f"{self.node.url}/console/inbox/{eid}", data=form, allow_redirects=False
        ) as resp:
            return resp.status, await resp.text()


async def enrol(node: TestNode, login: str, role: str, unit: str) -> Person:
    enrolment = await add_user(
        node.ctx.db,
        login,
        name=login.title(),
        role=role,
        unit=unit,
        password=PASSWORD,
        now=now_ms(),
    )
    person = Person(node, enrolment)
    await person.sign_in()
    return person


async def received(gye: TestNode, alg: TestNode) -> tuple[str, str]:
    """An alert due within the hour, then a seizure: their ids, once both arrived."""
    due = await gye.api().post(
        "/api/v1/notices",
        {"notice": alert(gye.agency, now_ms() + HOUR_MS), "recipients": [alg.agency]},
    )
    seizure = await gye.api().post("/api/v1/notices", publish_body(gye.agency, [alg.agency]))

    async def arrived() -> bool:
        page = await alg.api("admin").get("/api/v1/inbox", {"user": "pablo", "state": "any"})
        return bool(page["total"] == 2)

    await wait_for(arrived)
    return due["id"], seizure["id"]


async def test_a_person_takes_and_works_a_received_alert_and_the_api_agrees(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    pablo = await enrol(alg, "pablo", "publisher", "Port")
    ana = await enrol(alg, "ana", "analyst", "Port")
    async with pablo.session, ana.session:
        due, seizure = await received(gye, alg)
        page, items = await pablo.inbox()
        # The alert due within the hour comes first; both unread, new, nobody's.
        assert [(i[1], i[2], i[4], i[5]) for i in items] == [
            (due, "new", "no", ""),
            (seizure, "new", "no", ""),
        ]
        assert "pressing" in items[0][0] and "unread" in items[0][0]
        assert COUNT.search(page) is not None and COUNT.search(page).groups() == ("2", "2")  # type: ignore[union-attr]
        badge = BADGE.search(page)
        assert badge is not None and badge.group(1) == "2"

        status, _ = await pablo.post(due, "assign", "pablo")
        assert status == 303
        status, _ = await pablo.post(due, "status", "in_progress")
        assert status == 303
        status, _ = await pablo.post(seizure, "assign", "ana")  # a publisher hands work over
        assert status == 303
        _, items = await pablo.inbox()
        assert [(i[1], i[2], i[4], i[5]) for i in items] == [
            (due, "in_progress", "yes", "pablo"),
            (seizure, "new", "yes", "ana"),  # Pablo acted on it: he has seen it
        ]
        # Ana's read marks are her own: both still unread for her.
        page, items = await ana.inbox()
        assert [i[4] for i in items] == ["no", "no"]
        assert BADGE.search(page).group(1) == "2"  # type: ignore[union-attr]
        # "Mark read" on the notice page (the sender's read receipt) is read in her inbox too.
        async with ana.session.post(
            f"{alg.url}/console/notices/{seizure}/read", data={"csrf": ana.csrf}
        ) as resp:
            assert resp.status == 200
        page, items = await ana.inbox()
        assert {i[1]: i[4] for i in items} == {due: "no", seizure: "yes"}
        assert BADGE.search(page).group(1) == "1"  # type: ignore[union-attr]

        api = await alg.api("admin").get("/api/v1/inbox", {"user": "pablo", "view": "mine"})
        assert [(i["id"], i["status"], i["assignee"]["login"]) for i in api["items"]] == [
            (due, "in_progress", "pablo")
        ]
        unit = await alg.api("admin").get("/api/v1/inbox", {"user": "ana", "view": "unit"})
        holders = {(h["holder"] or {}).get("login"): h["in_progress"] for h in unit["handover"]}
        assert holders == {"pablo": 1, "ana": 0}
        actions = await people_on(alg.ctx.db, due)
        assert [(a.action, a.detail, a.name) for a in actions] == [
            ("assigned", "pablo", "Pablo"),
            ("status", "in_progress", "Pablo"),
        ]
        # The notice page says who did it.
        async with pablo.session.get(f"{alg.url}/console/notices/{due}") as resp:
            notice_page = await resp.text()
        assert "assigned to pablo by Pablo" in notice_page
        assert "status set to In progress by Pablo" in notice_page


async def test_the_inbox_refuses_every_way_around_it(nodes: tuple[TestNode, TestNode]) -> None:
    gye, alg = nodes
    pablo = await enrol(alg, "pablo", "publisher", "Port")
    ana = await enrol(alg, "ana", "analyst", "Port")
    async with pablo.session, ana.session:
        due, seizure = await received(gye, alg)
        await add_user(
            alg.ctx.db, "gone", name="Gone", role="analyst", unit="Port", password=PASSWORD, now=1
        )
        await disable_user(alg.ctx.db, "gone", now_ms(), actor="test")
        await pablo.post(due, "assign", "pablo")
        # A form without the session's CSRF token, or with another session's.
        for token in ("", ana.csrf):
            form = {"csrf": token, "change": "status", "value": "done"}
            async with pablo.session.post(
                f"{alg.url}/console/inbox/{due}", data=form, allow_redirects=False
            ) as resp:
                assert resp.status == 403
        # An analyst cannot assign others, nor move a colleague's notice.
        status, page = await ana.post(seizure, "assign", "pablo")
        assert status == 403 and "<code>assignee</code>" in page
        status, _ = await ana.post(due, "status", "done")
        assert status == 403
        # Unknown and disabled assignees, and made-up values, are refused naming the field.
        status, page = await pablo.post(seizure, "assign", "nobody")
        assert status == 404 and "<code>assignee</code>" in page
        status, page = await pablo.post(seizure, "assign", "gone")
        assert status == 409 and "<code>assignee</code>" in page
        status, page = await pablo.post(seizure, "status", "finished")
        assert status == 422 and "<code>status</code>" in page
        # Ana may mark read only for herself: her marks never reach Pablo's.
        status, _ = await ana.post(seizure, "read", "1")
        assert status == 303
        _, items = await pablo.inbox("?state=any")
        assert {i[1]: i[4] for i in items}[seizure] == "no"
        # Nothing above changed the notices' state.
        _, items = await pablo.inbox("?state=any")
        assert {(i[1], i[2], i[5]) for i in items} == {(due, "new", "pablo"), (seizure, "new", "")}
        assert [a.action for a in await people_on(alg.ctx.db, seizure)] == []

    # A token is no person: its console session has no inbox, and the API wants an
    # admin token naming the person.
    client, _ = await signed_in(alg, "admin")
    async with client:
        async with client.get(alg.url + "/console/inbox") as resp:
            assert resp.status == 403
        async with client.get(alg.url + "/console/") as resp:
            assert 'id="nav-inbox"' not in await resp.text()
    for role in ("analyst", "publisher"):
        with pytest.raises(TrustError) as err:
            await alg.api(role).get("/api/v1/inbox", {"user": "ana"})
        assert err.value.reason == ReasonCode.FORBIDDEN
    with pytest.raises(TrustError):
        await alg.api("publisher").post(f"/api/v1/inbox/{due}", {"user": "ana", "read": True})
    answer = await alg.api("admin").post(
        f"/api/v1/inbox/{due}", {"user": "pablo", "status": "in_progress", "priority": "urgent"}
    )
    assert (answer["status"], answer["priority"], answer["recorded"]) == (
        "in_progress",
        "urgent",
        ["status", "priority"],
    )


async def test_the_command_line_lists_and_changes_a_persons_inbox(
    nodes: tuple[TestNode, TestNode], capsys: pytest.CaptureFixture[str]
) -> None:
    gye, alg = nodes
    await add_user(
        alg.ctx.db, "pablo", name="Pablo", role="publisher", unit="Port", password=PASSWORD, now=1
    )
    await add_user(
        alg.ctx.db, "ana", name="Ana", role="analyst", unit="Port", password=PASSWORD, now=1
    )
    due, seizure = await received(gye, alg)

    async def baliza(*argv: str, role: str = "admin") -> tuple[int, str, str]:
        capsys.readouterr()
        where = ["--url", alg.url, "--token", alg.tokens[role], "--user", "pablo"]
        code = await asyncio.to_thread(main, [*argv, *where])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = await baliza("inbox", "--unit")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith(f"* {due}") and "<< due" in lines[0]
    assert "2 of 2 notices (unit, open); 2 open unread by pablo" in out
    assert "nobody       2 new, 0 in progress" in out
    assert (await baliza("inbox", "assign", seizure, "ana"))[0] == 0
    code, out, _ = await baliza("inbox", "status", due, "in_progress")
    # Going in progress gives an unheld notice to whoever did it.
    assert code == 0 and f"{due}: in_progress, normal, held by pablo (assigned, status)" in out
    assert (await baliza("inbox", "priority", due, "urgent"))[0] == 0
    code, out, _ = await baliza("inbox", "--mine", "--state", "in_progress")
    assert code == 0 and f"{due}  in_progress urgent  pablo" in out
    # Refusals are one line naming the field; an analyst's token acts for nobody.
    code, _, err = await baliza("inbox", "assign", seizure, "nobody")
    assert code == 1 and "assignee" in err and "not_found" in err
    code, _, err = await baliza("inbox", role="analyst")
    assert code == 1 and "forbidden" in err
    actions = await people_on(alg.ctx.db, due)
    assert [(a.action, a.detail, a.name) for a in actions] == [
        ("assigned", "pablo", "Pablo"),
        ("status", "in_progress", "Pablo"),
        ("priority", "urgent", "Pablo"),
    ]
