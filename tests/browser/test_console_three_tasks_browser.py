"""The three tasks of a working day, in the console alone, on a desk and on a phone,
in each of the four languages.

1. An officer at Algeciras publishes a pre-arrival alert with a photo of the
   container to Cartagena.
2. An officer at Cartagena finds it in the feed by the container typed as it
   is painted on the box (with spaces), opens it and records the outcome;
   Algeciras's alert board shows it answered.
3. Algeciras's administrator admits Cartagena's subscription request and
   checks the joint investigation team's channel and its members.

Every page the tasks pass through is measured: none may be wider than the
window (1366 × 768, and 390 × 844 as a phone).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from browser_env import browser, screenshots  # noqa: F401 (fixtures)
from loopback_support import wait_for
from node_harness import Cluster, TestNode
from test_console_browser import LANGS

ALG, CTG = "es.aduanas.alg", "co.polfa.ctg"
CONTAINER, PAINTED = "MSCU1234566", "MSCU 123456 6"
JIT = "jit.es-co-2026-12"
SIZES = {"desk": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


class Walk:
    """A person's browser, measuring every page it lands on."""

    def __init__(self, page: Any, node: TestNode, width: int) -> None:
        self.page, self.node, self.width = page, node, width
        self.too_wide: list[str] = []

    async def measure(self) -> None:
        wide = int(await self.page.evaluate("document.documentElement.scrollWidth"))
        if wide > self.width:
            self.too_wide.append(f"{self.page.url}: {wide} px")

    async def goto(self, path: str) -> None:
        await self.page.goto(self.node.url + path)
        await self.measure()


async def person(browser: Any, node: TestNode, role: str, lang: str, size: str) -> Walk:
    context = await browser.new_context(
        locale=lang, viewport=SIZES[size], is_mobile=size == "phone", has_touch=size == "phone"
    )
    page = await context.new_page()
    await page.goto(node.url + "/console/sign-in")
    await page.click("#sign-in-token-choice")
    await page.fill("#token", node.tokens[role])
    await page.press("#token", "Enter")
    await page.wait_for_url("**/console/")
    walk = Walk(page, node, SIZES[size]["width"])
    await walk.measure()
    return walk


# A container's doors as an officer photographs them (drawn, then taken as a real JPEG).
DOORS = (
    """<svg xmlns="http://www.w3.org/2000/svg" width="480" height="320">
<rect width="480" height="320" fill="#9aa7b0"/><rect x="40" y="30" width="400" height="270"
fill="#b3472f" stroke="#5a2418" stroke-width="6"/>
<line x1="240" y1="30" x2="240" y2="300" stroke="#5a2418" stroke-width="6"/>
<g stroke="#7c3020" stroke-width="4">"""
    + "".join(
        f'<line x1="{x}" y1="40" x2="{x}" y2="290"/>'
        for x in range(60, 440, 24)
        if abs(x - 240) > 10
    )
    + """</g><rect x="120" y="60" width="240" height="44" fill="#f4f1ea"/>
<text x="240" y="92" font-family="monospace" font-size="28"
text-anchor="middle">MSCU 123456 6</text>
<rect x="222" y="150" width="10" height="90" fill="#cfd6da"/><rect x="248" y="150" width="10"
height="90" fill="#cfd6da"/></svg>"""
)


async def doors_photo(browser: Any) -> bytes:
    page = await browser.new_page(viewport={"width": 480, "height": 320})
    await page.set_content(f"<body style='margin:0'>{DOORS}</body>")
    photo = bytes(await page.screenshot(type="jpeg", quality=70))
    await page.close()
    return photo


async def subscription_asked(ctg: TestNode, alg: TestNode) -> str:
    body = {"publisher": alg.agency, "filter": {"kinds": ["notice.alert"]}}
    asked = await ctg.api("admin").post("/api/v1/subscriptions", body)

    async def arrived() -> bool:
        page = await alg.api("analyst").get("/api/v1/subscriptions", {})
        return any(i["id"] == asked["id"] for i in page["items"])

    await wait_for(arrived, what="the subscription request at Algeciras")
    return str(asked["id"])


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", LANGS)
async def test_publish_find_answer_admit_in_the_console_alone(
    browser: Any, cluster: Cluster, screenshots: Path, tmp_path: Path, lang: str, size: str
) -> None:
    alg, ctg = await cluster((ALG, CTG))
    photo = tmp_path / "container-doors.jpg"
    photo.write_bytes(await doors_photo(browser))

    # 1. Algeciras publishes an alert with a photo.
    officer = await person(browser, alg, "publisher", lang, size)
    await officer.goto("/console/publish/alert")
    page = officer.page
    await page.fill("#origin", "ESALG")
    await page.fill("#destination", "COCTG")
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    await page.fill("#expected", tomorrow.strftime("%Y-%m-%dT%H:%M"))
    await page.select_option("#subject_type", "container")
    await page.fill("#container", CONTAINER)
    await page.set_input_files("#photos", str(photo))
    await page.check(f"input[name=recipients][value='{CTG}']")
    await officer.measure()
    await page.click("form.publish button[type=submit]")
    await page.wait_for_url("**/console/notices/*")
    await officer.measure()
    alert = page.url.rsplit("/", 1)[1]
    await page.locator(".photos img").first.wait_for()
    if size == "desk":
        await page.screenshot(
            path=str(screenshots / f"task1-alert-sent-{lang}.png"), full_page=True
        )

    # 2. Cartagena finds it by the container as painted, and records the outcome.
    answering = await person(browser, ctg, "publisher", lang, size)

    async def found() -> bool:
        await answering.goto("/console/?container=" + PAINTED.replace(" ", "+"))
        return bool(await answering.page.locator(f"a[href='/console/notices/{alert}']").count())

    await wait_for(found, what="the alert in Cartagena's feed by its container")
    page = answering.page
    if size == "phone":
        await page.screenshot(
            path=str(screenshots / f"task2-found-phone-{lang}.png"), full_page=True
        )
    await page.click(f"a[href='/console/notices/{alert}']")
    await page.wait_for_url(f"**/console/notices/{alert}")
    await answering.measure()
    await page.click(f"a[href='/console/publish/outcome?alert={alert}']")
    await page.wait_for_selector("#result")
    await answering.measure()
    assert await page.input_value("#alert") == alert
    await page.select_option("#result", "negative")
    await page.fill("#at", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M"))
    if not await page.is_checked(f"input[name=recipients][value='{ALG}']"):
        await page.check(f"input[name=recipients][value='{ALG}']")
    await page.click("form.publish button[type=submit]")
    await page.wait_for_url("**/console/notices/*")
    await answering.measure()

    async def answered() -> bool:
        await officer.goto("/console/board?state=answered")
        return bool(await officer.page.locator(f"tr[data-id='{alert}']").count())

    await wait_for(answered, what="the alert answered on Algeciras's board")

    # 3. Algeciras's administrator admits the subscription and checks the JIT.
    sid = await subscription_asked(ctg, alg)
    founded = await alg.api("admin").post(
        "/api/v1/channels",
        {
            "id": JIT,
            "kind": "jit",
            "name": "JIT Algeciras-Cartagena",
            "programme": "jit",
            "members": [CTG],
        },
    )
    assert founded["applied"] is True
    admin = await person(browser, alg, "admin", lang, size)
    await admin.goto("/console/admin/subscriptions")
    await admin.page.click(f"form[action='/console/admin/subscriptions/{sid}/approve'] button")
    await admin.page.wait_for_url("**/console/admin/subscriptions")
    await admin.measure()
    approve = f"form[action='/console/admin/subscriptions/{sid}/approve']"
    assert await admin.page.locator(approve).count() == 0  # admitted: pause and cancel now

    async def admitted() -> bool:
        items = (await ctg.api("analyst").get("/api/v1/subscriptions", {}))["items"]
        return any(i["id"] == sid and i["state"] == "admitted" for i in items)

    await wait_for(admitted, what="Cartagena told of the admission")
    await admin.goto("/console/admin/channels")
    channels = await admin.page.inner_text("main")
    assert "JIT Algeciras-Cartagena" in channels and (CTG in channels or "Cartagena" in channels)
    if size == "desk":
        await admin.page.screenshot(
            path=str(screenshots / f"task3-channels-{lang}.png"), full_page=True
        )

    too_wide = officer.too_wide + answering.too_wide + admin.too_wide
    assert too_wide == [], too_wide
    for walk in (officer, answering, admin):
        await walk.page.context.close()
    await asyncio.sleep(0)
