"""Sharing from the console: an H2 notice passed on with the originator's permission.

Guayaquil sends Algeciras a seizure marked H2 (not to be passed on without
the sender's permission). Algeciras's officer shares it with Cartagena from
the notice page; the console says the permission was requested. At
Guayaquil the menu shows a badge with the one request waiting; its officer
grants it from the shares page, the badge goes, and Cartagena receives the
share. A refusal without a reason is refused, naming the reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_env import browser, screenshots  # noqa: F401 (fixtures)
from loopback_support import wait_for
from node_harness import Cluster, TestNode
from notice_json import publish_body
from test_console_browser import sign_in

GYE, CTG, ALG = "ec.polnac.gye", "co.polfa.ctg", "es.aduanas.alg"


@pytest.fixture
async def three(cluster: Cluster) -> tuple[TestNode, TestNode, TestNode]:
    gye, alg, ctg = await cluster((GYE, ALG, CTG))
    return gye, alg, ctg


async def _held(node: TestNode, direction: str, **match: str) -> bool:
    page = await node.api("analyst").get("/api/v1/notices", {"direction": direction})
    return any(all(item.get(k) == v for k, v in match.items()) for item in page["items"])


async def test_an_h2_notice_is_shared_once_the_originator_grants_it(
    browser: Any, three: tuple[TestNode, TestNode, TestNode], screenshots: Path
) -> None:
    gye, alg, ctg = three
    body = publish_body(gye.agency, [alg.agency])
    body["handling"] = {"tlp": "green", "codes": ["h2"]}
    original = str((await gye.api().post("/api/v1/notices", body))["id"])
    await wait_for(lambda: _held(alg, "in", id=original), what="the notice at Algeciras")
    officer = await sign_in(browser, alg, "publisher", "es")
    await officer.goto(alg.url + f"/console/notices/{original}")
    await officer.click(f"a[href='/console/notices/{original}/share']")
    await officer.check(f"input[name=recipients][value='{ctg.agency}']")
    await officer.fill("#note", "Cartagena investiga la misma ruta.")
    await officer.screenshot(path=str(screenshots / "share-es.png"), full_page=True)
    await officer.click("form.publish button[type=submit]")
    await officer.wait_for_url("**/console/shares?asked=*")
    assert await officer.locator("#asked").count() == 1
    granting = await sign_in(browser, gye, "publisher", "en")

    async def badge() -> bool:
        await granting.goto(gye.url + "/console/")
        return bool(await granting.locator("#shares-waiting").count() == 1)

    await wait_for(badge, what="the badge at Guayaquil")
    assert (await granting.inner_text("#shares-waiting")).startswith("1")
    await granting.click("#nav-shares")
    row = granting.locator("table.shares tr.state-pending")
    assert "Cartagena investiga la misma ruta." in await row.inner_text()
    # A refusal must say why: refused without a reason, and nothing decided.
    answer = await granting.request.post(
        gye.url + row_action(await row.get_attribute("data-id"), "refuse"),
        form={"reason": ""},
    )
    assert answer.status == 403  # no CSRF token from outside the page
    await granting.click("table.shares form[action$='/refuse'] button")
    assert await granting.locator("table.shares tr.state-pending").count() == 1
    await granting.screenshot(path=str(screenshots / "shares-en.png"), full_page=True)
    await granting.click("table.shares form[action$='/grant'] button")
    await granting.wait_for_url("**/console/shares")
    assert await granting.locator("#shares-waiting").count() == 0
    assert await granting.locator("table.shares tr.state-granted").count() == 1
    await wait_for(lambda: _held(ctg, "in", sender=alg.agency), what="the share at Cartagena")


def row_action(pid: str | None, decision: str) -> str:
    assert pid is not None
    return f"/console/shares/{pid}/{decision}"
