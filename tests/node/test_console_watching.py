"""The Watching page as two people use it, on real nodes over HTTP.

Julia watches a container from the console; a partner's seizure naming it
shows on her page and in her badge's JSON, and not on Marco's; Marco cannot
remove her entry, even with its id and his own valid form token.
"""

from __future__ import annotations

import re

import pyotp
import pytest
from console_client import CSRF
from loopback_support import wait_for
from node_harness import Cluster, TestNode
from test_console_accounts import PASSWORD, Browser
from test_node_notify import CONTAINER, seizure, send

from baliza.node.core.clock import now_ms
from baliza.node.services.accounts import Enrolment, add_user

ALG = "es.aduanas.alg"
CTG = "co.polfa.ctg"


async def person(node: TestNode, login: str) -> Browser:
    enrolment: Enrolment = await add_user(
        node.ctx.db, login, name=login.title(), role="analyst", unit=None,
        password=PASSWORD, now=now_ms(),
    )  # fmt: skip
    browser = Browser(node)
    status, _ = await browser.sign_in(login, PASSWORD, pyotp.TOTP(enrolment.totp_secret).now())
    assert status == 200
    return browser


async def post(browser: Browser, path: str, form: dict[str, str]) -> tuple[int, str]:
    _, page = await browser.page("/console/watching")
    token = CSRF.search(page)
    assert token is not None
    url = browser.node.url + path
    async with browser.session.post(url, data={"csrf": token.group(1), **form}) as resp:
        return resp.status, await resp.text()


async def test_a_watch_from_the_console_is_its_owners_alone(
    cluster: Cluster, database_engine: str
) -> None:
    alg, ctg = await cluster([ALG, CTG], [database_engine, "sqlite"])
    julia, marco = await person(alg, "julia"), await person(alg, "marco")
    try:
        status, page = await post(
            julia, "/console/watching", {"what": "container", "value": CONTAINER}
        )
        assert status == 200 and CONTAINER in page
        found = re.search(r'<tr data-id="([0-9a-f]{16})">', page)
        assert found is not None
        entry = found.group(1)
        # A malformed entry is refused on the page, naming the field.
        status, page = await post(julia, "/console/watching", {"what": "container", "value": "X"})
        assert status == 400 and 'id="value-error"' in page

        eid = await send(ctg, seizure("not in any mail"))

        async def on_her_page() -> bool:
            return eid in (await julia.page("/console/watching"))[1]

        await wait_for(on_her_page, what="the match on Julia's page")
        async with julia.session.get(alg.url + "/console/notifications.json") as resp:
            badge = await resp.json()
        assert badge["unread"] == 1 and "ESALG" in badge["items"][0]["text"]
        assert eid not in (await marco.page("/console/watching"))[1]

        status, _ = await post(marco, f"/console/watching/{entry}/remove", {})
        assert status == 404
        assert entry in (await julia.page("/console/watching"))[1]
        status, _ = await post(marco, "/console/watching/read", {})
        async with julia.session.get(alg.url + "/console/notifications.json") as resp:
            assert (await resp.json())["unread"] == 1

        status, page = await post(julia, "/console/watching/read", {})
        async with julia.session.get(alg.url + "/console/notifications.json") as resp:
            assert (await resp.json())["unread"] == 0
        status, page = await post(julia, f"/console/watching/{entry}/remove", {})
        assert status == 200 and f'data-id="{entry}"' not in page
    finally:
        await julia.close()
        await marco.close()


@pytest.mark.parametrize("lang", ["es", "fr", "pt"])
async def test_the_watching_page_speaks_the_persons_language(cluster: Cluster, lang: str) -> None:
    (alg,) = await cluster([ALG])
    julia = await person(alg, "julia")
    try:
        julia.session.cookie_jar.update_cookies({"baliza_lang": lang})
        status, page = await julia.page("/console/watching")
        assert status == 200
        words = {"es": "Seguimiento", "fr": "Suivi", "pt": "Acompanhamento"}[lang]
        assert f"<h1>{words}</h1>" in page
    finally:
        await julia.close()
