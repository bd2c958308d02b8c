"""Signing in to the console as a person, on a real node over HTTP (issue 20 §1).

A browser posts login, password and a code computed by pyotp from the
enrolment's secret; the header then names the person. Every way in without
all three is refused with the same words, a used code cannot be replayed,
an account locks after repeated failures, and the session of a disabled
account ends at its next page.
"""

from __future__ import annotations

import logging

import aiohttp
import pyotp
import pytest
from console_client import CSRF
from node_harness import Cluster, TestNode

from baliza.node.core.clock import now_ms
from baliza.node.services.accounts import (
    MAX_FAILURES,
    Enrolment,
    add_user,
    disable_user,
    list_users,
)

PASSWORD = "a long enough passphrase"


class Browser:
    """A browser on ``address`` with its own cookies."""

    def __init__(self, node: TestNode, address: str = "127.0.0.1") -> None:
        self.node = node
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(local_addr=(address, 0)),
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            headers={"Accept-Language": "en"},
        )

    async def sign_in(self, login: str, password: str, code: str) -> tuple[int, str]:
        url = self.node.url + "/console/sign-in"
        async with self.session.get(url) as resp:
            pre = CSRF.search(await resp.text())
        assert pre is not None
        form = {
            "csrf": pre.group(1),
            "login": login,
            "password": password,
            "code": code,
            "next": "/console/",
        }
        async with self.session.post(url, data=form) as resp:
            return resp.status, await resp.text()

    async def page(self, path: str = "/console/") -> tuple[int, str]:
        async with self.session.get(self.node.url + path) as resp:
            return resp.status, await resp.text()

    async def close(self) -> None:
        await self.session.close()


async def enrol(node: TestNode) -> Enrolment:
    return await add_user(
        node.ctx.db,
        "jruiz",
        name="Julia Ruiz",
        role="publisher",
        unit="Port unit",
        password=PASSWORD,
        now=now_ms(),
    )


def fresh_code(enrolment: Enrolment) -> str:
    """The code of the current step, as the person's app shows it."""
    return pyotp.TOTP(enrolment.totp_secret).now()


async def test_password_and_code_sign_in_and_the_header_names_the_person(
    cluster: Cluster, database_engine: str
) -> None:
    [node] = await cluster(1, database_engine)
    enrolment = await enrol(node)
    browser = Browser(node)
    try:
        status, page = await browser.sign_in("JRuiz", PASSWORD, fresh_code(enrolment))
        assert status == 200, page
        assert 'id="signed-in-as">Julia Ruiz · Port unit (officer (publisher))' in page
        # A publisher's links are offered.
        assert "/console/publish/alert" in page
    finally:
        await browser.close()


async def test_every_missing_or_wrong_factor_is_refused_with_the_same_words(
    cluster: Cluster, database_engine: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="baliza.node.services.person_sign_in")
    [node] = await cluster(1, database_engine)
    enrolment = await enrol(node)
    code = fresh_code(enrolment)
    wrong_code = f"{(int(code) + 1) % 1_000_000:06d}"
    browser = Browser(node)
    try:
        attempts = [
            ("jruiz", PASSWORD + "x", code),  # wrong password
            ("jruiz", PASSWORD, wrong_code),  # wrong code
            ("jruiz", PASSWORD, ""),  # no second factor
            ("nobody", PASSWORD, code),  # no such account
        ]
        for login, password, typed in attempts:
            status, page = await browser.sign_in(login, password, typed)
            assert status == 401
            assert "Wrong login name, password or code." in page
            assert 'id="signed-in-as"' not in page and "Traceback" not in page
        status, _ = await browser.page()
        assert status == 200  # the sign-in page again: redirected, not signed in
        assert 'id="signed-in-as"' not in _
    finally:
        await browser.close()
    causes = [getattr(r, "cause", None) for r in caplog.records if "refused" in r.getMessage()]
    assert causes == ["wrong_password", "wrong_code", "wrong_code", "unknown_login"]


async def test_a_code_used_once_is_refused_from_another_browser(
    cluster: Cluster, database_engine: str
) -> None:
    [node] = await cluster(1, database_engine)
    enrolment = await enrol(node)
    # Whether or not the step turns in between, the code is refused: as
    # replayed inside its window, as stale after it.
    code = fresh_code(enrolment)
    officer, onlooker, third = Browser(node), Browser(node, "127.0.0.2"), Browser(node)
    try:
        assert (await officer.sign_in("jruiz", PASSWORD, code))[0] == 200
        status, page = await onlooker.sign_in("jruiz", PASSWORD, code)
        assert status == 401 and "Wrong login name, password or code." in page
        # A recovery code signs in once.
        recovery = enrolment.recovery_codes[0]
        assert (await onlooker.sign_in("jruiz", PASSWORD, recovery))[0] == 200
        assert (await third.sign_in("jruiz", PASSWORD, recovery))[0] == 401
    finally:
        for browser in (officer, onlooker, third):
            await browser.close()


async def test_repeated_failures_lock_the_account_and_a_right_sign_in_is_then_refused(
    cluster: Cluster, database_engine: str
) -> None:
    [node] = await cluster(1, database_engine)
    enrolment = await enrol(node)
    guessers = [Browser(node, f"127.0.0.{n + 10}") for n in range(MAX_FAILURES)]
    officer = Browser(node, "127.0.0.3")
    try:
        for guesser in guessers:
            status, _ = await guesser.sign_in("jruiz", "a wrong guess!!", "123456")
            assert status == 401
        status, page = await officer.sign_in("jruiz", PASSWORD, enrolment.recovery_codes[0])
        assert status == 429
        assert "Too many failed sign-ins for this account" in page
    finally:
        for browser in (*guessers, officer):
            await browser.close()


async def test_the_session_of_a_disabled_person_ends_at_the_next_page(
    cluster: Cluster, database_engine: str
) -> None:
    [node] = await cluster(1, database_engine)
    enrolment = await enrol(node)
    browser = Browser(node)
    try:
        assert (await browser.sign_in("jruiz", PASSWORD, fresh_code(enrolment)))[0] == 200
        status, page = await browser.page("/console/board")
        assert status == 200 and 'id="signed-in-as"' in page
        await disable_user(node.ctx.db, "jruiz", now_ms(), actor="test")
        status, page = await browser.page("/console/board")
        assert 'id="signed-in-as"' not in page and 'name="login"' in page
    finally:
        await browser.close()


async def test_an_api_token_still_signs_in(cluster: Cluster, database_engine: str) -> None:
    [node] = await cluster(1, database_engine)
    browser = Browser(node)
    try:
        url = node.url + "/console/sign-in"
        async with browser.session.get(url) as resp:
            pre = CSRF.search(await resp.text())
        assert pre is not None
        form = {"csrf": pre.group(1), "token": node.tokens["analyst"], "next": "/console/"}
        async with browser.session.post(url, data=form) as resp:
            assert resp.status == 200
            assert 'id="signed-in-as">test analyst (analyst' in await resp.text()
    finally:
        await browser.close()


async def test_the_notice_page_says_which_person_published_and_which_read(
    cluster: Cluster, database_engine: str
) -> None:
    from loopback_support import wait_for
    from notice_json import seizure

    from baliza.node.console import adapter
    from baliza.node.storage.sql import receipts as receipt_rows

    gye, alg = await cluster(2, database_engine)
    author = await add_user(
        gye.ctx.db, "author", name="Ana Pérez", role="publisher", unit=None,
        password=PASSWORD, now=now_ms(),
    )  # fmt: skip
    body = {"notice": seizure(str(gye.agency)), "recipients": [str(alg.agency)]}
    uid = next(u.id for u in await list_users(gye.ctx.db) if u.login == "author")
    published = await adapter.submit(gye.ctx, body, uid)
    eid = str(published.id)
    reader = await enrol(alg)

    async def arrived() -> bool:
        status, _ = await officer.page(f"/console/notices/{eid}")
        return status == 200 and "Mark as read" in _

    officer = Browser(alg)
    publisher = Browser(gye)
    try:
        assert (await officer.sign_in("jruiz", PASSWORD, fresh_code(reader)))[0] == 200
        await wait_for(arrived)
        status, page = await officer.page(f"/console/notices/{eid}")
        assert "read by" not in page
        pre = CSRF.search(page)
        assert pre is not None
        async with officer.session.post(
            alg.url + f"/console/notices/{eid}/read", data={"csrf": pre.group(1)}
        ) as resp:
            page = await resp.text()
        assert "read by Julia Ruiz · Port unit at " in page
        # The receipt that travels still names only the agency.
        receipts = await alg.ctx.db.run(
            lambda c: receipt_rows.for_envelope(c, envelope_id=eid), write=False
        )
        assert [r.from_agency for r in receipts] == [alg.agency]
        assert "Julia" not in repr(receipts)

        assert (await publisher.sign_in("author", PASSWORD, author.recovery_codes[0]))[0] == 200
        status, page = await publisher.page(f"/console/notices/{eid}")
        assert status == 200 and "published by Ana Pérez at " in page
    finally:
        await officer.close()
        await publisher.close()
