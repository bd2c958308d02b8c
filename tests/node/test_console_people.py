"""Accounts administered in the console, and a person's own page, on a real node over HTTP.

An administrator (a person with the admin role) creates an account and
hands over what the page shows once; the new person signs in with exactly
that. Disabling and resetting ask for confirmation first; a publisher
cannot reach the page at all. On their own page a person changes their
password (the old one proven, the rule kept), makes new recovery codes
(the old ones stop working), and signs in with a security key through
the console's two requests, a replayed answer refused.
"""

from __future__ import annotations

import html
import json
import re

import pyotp
from console_client import CSRF
from node_harness import Cluster, TestNode
from soft_authenticator import SoftKey
from test_console_accounts import PASSWORD, Browser

from baliza.node.core.clock import now_ms
from baliza.node.services.accounts import add_user, list_users

ADMIN_PASSWORD = "the administrator's passphrase"


async def post(browser: Browser, path: str, form: dict[str, str]) -> tuple[int, str]:
    _, page = await browser.page("/console/account")
    token = CSRF.search(page)
    assert token is not None
    async with browser.session.post(
        browser.node.url + path, data={"csrf": token.group(1), **form}
    ) as resp:
        return resp.status, await resp.text()


def shown(page: str, element: str) -> str:
    found = re.search(rf'id="{element}"[^>]*>(.*?)</', page, re.S)
    assert found is not None, element
    return html.unescape(found.group(1)).strip()


async def signed_in(cluster_node: TestNode, login: str, role: str = "admin") -> Browser:
    enrolment = await add_user(
        cluster_node.ctx.db, login, name=login.title(), role=role, unit=None,
        password=ADMIN_PASSWORD, now=now_ms(),
    )  # fmt: skip
    browser = Browser(cluster_node)
    status, page = await browser.sign_in(
        login, ADMIN_PASSWORD, pyotp.TOTP(enrolment.totp_secret).now()
    )
    assert status == 200, page
    return browser


async def test_an_administrator_creates_an_account_that_signs_in_with_what_was_shown(
    cluster: Cluster, database_engine: str
) -> None:
    [node] = await cluster(1, database_engine)
    admin = await signed_in(node, "boss")
    newcomer = Browser(node)
    try:
        status, page = await post(
            admin,
            "/console/admin/people",
            {"name": "Julia Ruiz", "login": "JRuiz", "unit": "Port unit", "role": "analyst"},
        )
        assert status == 200, page
        password = shown(page, "enrolment-password")
        secret = shown(page, "enrolment-secret")
        assert re.fullmatch(r"([A-Z2-7]{4} )+[A-Z2-7]{1,4}", secret)
        assert shown(page, "enrolment-uri").startswith("otpauth://totp/")
        assert len(re.findall(r"<li><code>[a-z2-7-]{19}</code></li>", page)) == 10
        code = pyotp.TOTP(secret.replace(" ", "")).now()
        status, page = await newcomer.sign_in("jruiz", password, code)
        assert status == 200 and 'id="signed-in-as">Julia Ruiz · Port unit' in page
        # The secrets are not shown again.
        _, again = await admin.page("/console/admin/people")
        assert password not in again and "enrolment-secret" not in again
        # A taken login is refused in words, and nothing changes.
        status, page = await post(
            admin,
            "/console/admin/people",
            {"name": "Other", "login": "jruiz", "unit": "", "role": "analyst"},
        )
        assert status == 400 and 'id="create-error"' in page
        assert len(await list_users(node.ctx.db)) == 2
    finally:
        await admin.close()
        await newcomer.close()


async def test_disable_and_reset_ask_first_then_act(cluster: Cluster, database_engine: str) -> None:
    [node] = await cluster(1, database_engine)
    admin = await signed_in(node, "boss")
    try:
        await add_user(
            node.ctx.db, "jruiz", name="Julia Ruiz", role="analyst", unit=None,
            password=PASSWORD, now=now_ms(),
        )  # fmt: skip
        status, page = await post(admin, "/console/admin/people/jruiz/disable", {})
        assert status == 200 and 'role="alertdialog"' in page
        assert not next(u for u in await list_users(node.ctx.db) if u.login == "jruiz").disabled
        await post(admin, "/console/admin/people/jruiz/disable", {"confirmed": "yes"})
        assert next(u for u in await list_users(node.ctx.db) if u.login == "jruiz").disabled
        status, page = await post(admin, "/console/admin/people/jruiz/reset", {})
        assert 'role="alertdialog"' in page and "enrolment-password" not in page
        status, page = await post(admin, "/console/admin/people/jruiz/reset", {"confirmed": "yes"})
        password = shown(page, "enrolment-password")
        secret = shown(page, "enrolment-secret").replace(" ", "")
        assert not next(u for u in await list_users(node.ctx.db) if u.login == "jruiz").disabled
        person = Browser(node)
        try:
            status, _ = await person.sign_in("jruiz", password, pyotp.TOTP(secret).now())
            assert status == 200
        finally:
            await person.close()
    finally:
        await admin.close()


async def test_a_publisher_cannot_administer_accounts(
    cluster: Cluster, database_engine: str
) -> None:
    [node] = await cluster(1, database_engine)
    publisher = await signed_in(node, "pgomez", role="publisher")
    try:
        status, _ = await publisher.page("/console/admin/people")
        assert status == 403
        status, _ = await post(
            publisher,
            "/console/admin/people",
            {"name": "Mole", "login": "mole", "unit": "", "role": "admin"},
        )
        assert status == 403
        status, _ = await post(
            publisher, "/console/admin/people/pgomez/reset", {"confirmed": "yes"}
        )
        assert status == 403
        assert [u.login for u in await list_users(node.ctx.db)] == ["pgomez"]
    finally:
        await publisher.close()


async def test_a_person_changes_their_password_and_recovery_codes(
    cluster: Cluster, database_engine: str
) -> None:
    [node] = await cluster(1, database_engine)
    person = await signed_in(node, "jruiz", role="analyst")
    try:
        new = "another long passphrase"
        status, page = await post(
            person, "/console/account/password", {"old": "wrong", "new": new, "again": new}
        )
        assert status == 400 and shown(page, "password-error") == "The current password is wrong."
        status, page = await post(
            person,
            "/console/account/password",
            {"old": ADMIN_PASSWORD, "new": "short", "again": "short"},
        )
        assert status == 400 and "at least 12 characters" in shown(page, "password-error")
        status, page = await post(
            person, "/console/account/password", {"old": ADMIN_PASSWORD, "new": new, "again": new}
        )
        assert status == 200 and 'id="account-done"' in page
        status, page = await post(person, "/console/account/recovery-codes", {})
        codes = re.findall(r"<li><code>([a-z2-7-]{19})</code></li>", page)
        assert len(codes) == 10
        other = Browser(node)
        try:
            status, _ = await other.sign_in("jruiz", ADMIN_PASSWORD, codes[0])
            assert status == 401  # the old password no longer signs in
            status, _ = await other.sign_in("jruiz", new, codes[0])
            assert status == 200
        finally:
            await other.close()
    finally:
        await person.close()


async def test_a_security_key_signs_in_through_the_console_once_per_answer(
    cluster: Cluster, database_engine: str
) -> None:
    [node] = await cluster(1, database_engine)
    origin = node.config.console_origin
    person = await signed_in(node, "jruiz", role="analyst")
    key = SoftKey()
    try:
        status, text = await post(person, "/console/account/keys/options", {})
        assert status == 200
        begun = json.loads(text)
        status, page = await post(
            person,
            "/console/account/keys",
            {
                "handle": begun["handle"],
                "credential": key.register(json.dumps(begun["options"]), origin),
                "name": "Blue key",
            },
        )
        assert status == 200 and "Blue key" in page
    finally:
        await person.close()

    stranger = Browser(node)
    try:
        url = node.url + "/console/sign-in"
        async with stranger.session.get(url) as resp:
            pre = CSRF.search(await resp.text())
        assert pre is not None
        async with stranger.session.post(
            url + "/key", data={"csrf": pre.group(1), "login": "jruiz", "password": ADMIN_PASSWORD}
        ) as resp:
            assert resp.status == 200
            options = json.dumps((await resp.json())["options"])
        answer = key.assert_(options, origin)
        finish = {"csrf": pre.group(1), "credential": answer, "next": "/console/"}
        async with stranger.session.post(url + "/key/finish", data=finish) as resp:
            assert resp.status == 200 and 'id="signed-in-as">Jruiz' in await resp.text()
        # The same answer again, from a browser that kept the pending sign-in's cookie.
        replay = Browser(node)
        try:
            async with replay.session.get(url) as resp:
                pre2 = CSRF.search(await resp.text())
            assert pre2 is not None
            finish = {"csrf": pre2.group(1), "credential": answer, "next": "/console/"}
            async with replay.session.post(url + "/key/finish", data=finish) as resp:
                assert resp.status == 401
                assert "Wrong login name, password or code." in await resp.text()
        finally:
            await replay.close()
    finally:
        await stranger.close()
