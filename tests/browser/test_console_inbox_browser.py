"""A person works their inbox in a real browser, on a desk and on a phone.

Guayaquil sends Algeciras an alert due within the hour. An officer of
Algeciras signs in with password and code, finds the alert at the top of
the inbox as unread (the menu's badge counts it), assigns it to herself,
puts it in progress, and does the same on a 390 px phone without the page
ever being wider than the screen.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from browser_env import axe_source, browser, screenshots  # noqa: F401 (fixtures)
from node_harness import Cluster, TestNode
from people import enrol, sign_in
from test_console_phone_browser import alert

from baliza.node.core.clock import now_ms

INBOX = "/console/inbox"
HOUR_MS = 3_600_000
PHONE = {"width": 390, "height": 844}
WIDTH = "() => JSON.stringify([document.scrollingElement.scrollWidth, window.innerWidth])"


async def send_alert(gye: TestNode, alg: TestNode, container: str) -> str:
    sent = await gye.api("publisher").post(
        "/api/v1/notices",
        {"notice": alert(gye.agency, container, now_ms() + HOUR_MS), "recipients": [alg.agency]},
    )
    for _ in range(400):  # bounded: at most 20 s
        found = await alg.api("analyst").get("/api/v1/notices", {"kind": "notice.alert"})
        if any(n["id"] == sent["id"] for n in found["items"]):
            break
        await asyncio.sleep(0.05)
    eid: str = sent["id"]
    return eid


async def take_and_work(page: Any, eid: str) -> None:
    item = page.locator(f'li[data-id="{eid}"]')
    assert await item.get_attribute("data-read") == "no"
    assert "unread" in (await item.get_attribute("class") or "")
    await item.locator("button.assign-me").click()
    await page.wait_for_load_state()
    item = page.locator(f'li[data-id="{eid}"]')
    assert await item.get_attribute("data-assignee") == "mlopez"
    await item.locator(f"#status-{eid}").select_option("in_progress")
    await item.locator(f"#status-{eid}").locator("xpath=..").locator("button").click()
    await page.wait_for_load_state()
    item = page.locator(f'li[data-id="{eid}"]')
    assert await item.get_attribute("data-status") == "in_progress"
    assert await item.get_attribute("data-read") == "yes"


async def test_an_officer_takes_an_alert_from_her_inbox_on_a_desk_and_a_phone(
    browser: Any,
    cluster: Cluster,
    screenshots: Path,
) -> None:
    gye, alg = await cluster(("ec.polnac.gye", "es.aduanas.alg"))
    enrolment = await enrol(
        alg, "mlopez", name="Marta López", role="publisher", unit="Port of Algeciras"
    )
    first = await send_alert(gye, alg, "MSCU1234566")

    axe = axe_source()
    context = await browser.new_context(
        locale="en", viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    page = await context.new_page()
    await sign_in(page, alg.url, "mlopez", enrolment, start=INBOX, lands=INBOX)
    assert (await page.text_content("#inbox-unread") or "").split() == ["1", "unread"]
    top = page.locator("ol.inbox > li").first
    assert await top.get_attribute("data-id") == first
    assert "pressing" in (await top.get_attribute("class") or "")
    assert (await page.inner_text("#inbox-count")) == "1 of 1 notices"
    await page.screenshot(path=str(screenshots / "inbox-en.png"), full_page=True)
    await take_and_work(page, first)
    assert await page.locator("#inbox-unread").count() == 0  # nothing open is unread now
    await page.screenshot(path=str(screenshots / "inbox-taken-en.png"), full_page=True)
    # No serious accessibility violation, in any language (axe-core, injected past the CSP).
    serious = []
    for lang in ("en", "es", "fr", "pt"):
        await page.goto(f"{alg.url}/console/inbox?lang={lang}")
        assert await page.get_attribute("html", "lang") == lang
        await page.add_script_tag(content=axe)
        result = json.loads(
            await page.evaluate("async () => JSON.stringify(await axe.run(document))")
        )
        serious += [
            f"{lang}: {v['id']} {v['help']}"
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
    assert serious == []
    await context.close()

    # On a phone, with a second alert: the same steps, and never wider than the screen.
    second = await send_alert(gye, alg, "TGHU8837006")
    phone = await browser.new_context(locale="es", viewport=PHONE, is_mobile=True)
    page = await phone.new_page()
    await sign_in(page, alg.url, "mlopez", enrolment, start=INBOX, lands=INBOX, ahead=1)
    width, screen = json.loads(await page.evaluate(WIDTH))
    assert width <= screen == PHONE["width"]
    await take_and_work(page, second)
    width, _ = json.loads(await page.evaluate(WIDTH))
    assert width <= PHONE["width"]
    await page.screenshot(path=str(screenshots / "inbox-phone-es.png"), full_page=True)
    await phone.close()
