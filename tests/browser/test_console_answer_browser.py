"""Seizure made — record it: one form on the alert publishes the seizure and its outcome.

Guayaquil alerts Algeciras (the destination) and Cartagena (co-addressed,
transit). Algeciras's officer opens the alert, follows "Seizure made —
record it", finds the form filled from the alert (place, container, route,
recipients), adds what was seized and how much, and sends once. The sender's
board and the co-addressee's board both show the alert answered, with the
seizure it names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_env import browser, screenshots  # noqa: F401 (fixtures)
from loopback_support import wait_for
from node_harness import Cluster, TestNode
from notice_json import alert_notice
from test_console_browser import sign_in

CONTAINER = "MSCU1234566"


@pytest.fixture
async def three(cluster: Cluster) -> tuple[TestNode, TestNode, TestNode]:
    gye, ctg, alg = await cluster(3)
    return gye, ctg, alg


async def _alert_from(gye: TestNode, to: list[str]) -> str:
    notice = alert_notice(gye.agency, CONTAINER)
    sent = await gye.api("publisher").post("/api/v1/notices", {"notice": notice, "recipients": to})
    return str(sent["id"])


async def test_a_seizure_recorded_from_the_alert_answers_it_on_every_board(
    browser: Any, three: tuple[TestNode, TestNode, TestNode], screenshots: Path
) -> None:
    gye, ctg, alg = three
    alert = await _alert_from(gye, [alg.agency, ctg.agency])

    async def arrived() -> bool:
        page = await alg.api("analyst").get("/api/v1/notices", {"direction": "in"})
        return alert in {i["id"] for i in page["items"]}

    await wait_for(arrived, what="the alert at Algeciras")
    officer = await sign_in(browser, alg, "publisher", "es")
    await officer.goto(alg.url + f"/console/notices/{alert}")
    await officer.click(f"a[href='/console/publish/seizure?answers={alert}']")
    await officer.wait_for_selector("#answers-note")
    # Filled from the alert: where, what carried it, and everyone it was sent to.
    assert await officer.input_value("#location") == "ESALG"
    assert await officer.input_value("#container") == CONTAINER
    for agency in (gye.agency, ctg.agency):
        assert await officer.is_checked(f"input[name=recipients][value='{agency}']")
    await officer.select_option("#category", "cocaine")
    await officer.fill("#amount", "412 kg")
    await officer.screenshot(path=str(screenshots / "seizure-answers-alert-es.png"), full_page=True)
    await officer.click("form.publish button[type=submit]")
    await officer.wait_for_url("**/console/notices/*")
    seizure = officer.url.rsplit("/", 1)[1]
    assert seizure != alert
    for node, lang, word in ((gye, "en", "answered"), (ctg, "fr", "répondue")):
        page = await sign_in(browser, node, "analyst", lang)

        async def answered(page: Any = page, node: TestNode = node) -> bool:
            await page.goto(node.url + "/console/board?state=answered")
            return bool(await page.locator(f"tr[data-id='{alert}']").count() == 1)

        await wait_for(answered, what=f"the alert answered on {node.agency}'s board")
        row = page.locator(f"tr[data-id='{alert}']")
        assert word in (await row.inner_text()).lower()
        board = await node.api("analyst").get("/api/v1/alerts", {"state": "answered"})
        assert board["items"][0]["outcome"]["seizure"] == seizure
        assert board["items"][0]["outcome"]["result"] == "seizure"
