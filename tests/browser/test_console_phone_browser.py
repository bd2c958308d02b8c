"""The console on a phone: 390 × 844, every page, every language.

An officer on the quay works on a phone. With the data of a working day
(alerts both ways, a seizure with a route and a photo, a JIT channel, a
subscription waiting), no page may be wider than the screen, and every
entry of the menu must be on the screen without panning sideways.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from browser_env import axe_source, browser, screenshots  # noqa: F401 (fixtures)
from node_harness import TestNode
from notice_json import alert_notice, publish_body
from test_console_browser import LANGS, nodes  # noqa: F401 (fixture)
from test_console_officer_browser import JPEG, ask_subscription, found_jit

PHONE = {"width": 390, "height": 844}
# The widest the page is, and the menu entries that stick out of the screen.
MEASURE = """() => {
  const width = document.scrollingElement.scrollWidth;
  const off = [...document.querySelectorAll('header.top a, header.top button')]
    .filter((a) => { const r = a.getBoundingClientRect();
                     return r.left < 0 || r.right > window.innerWidth || r.width === 0; })
    .map((a) => a.textContent.trim());
  return JSON.stringify({width, off});
}"""


def alert(agency: str, container: str, expected_ms: int) -> dict[str, Any]:
    return alert_notice(
        agency,
        container,
        expected_ms,
        indicators=["route", "consignee"],
        text={"lang": "en", "text": "Reefer booked last minute; consignee unknown."},
    )


async def working_day(gye: TestNode, alg: TestNode) -> dict[str, str]:
    """The data of a day at work, and the console pages that show it."""
    await found_jit(gye, alg)
    await ask_subscription(alg, gye)
    stored = await gye.api("publisher").post_bytes("/api/v1/attachments", JPEG, "image/jpeg")
    body = publish_body(gye.agency, [alg.agency])
    body["notice"]["attachments"] = [{**stored, "filename": "doors-of-the-reefer.jpg"}]
    body["notice"]["route"] = {
        "loading": {"locode": "ECGYE"},
        "transit": [{"locode": "PABLB"}],
        "discharge": {"locode": "ESALG"},
    }
    sent = await gye.api("publisher").post("/api/v1/notices", body)
    sent_alert = await gye.api("publisher").post(
        "/api/v1/notices",
        {"notice": alert(gye.agency, "TGHU8837006", 1_797_336_000_000), "recipients": [alg.agency]},
    )
    received = await alg.api("publisher").post(
        "/api/v1/notices",
        {"notice": alert(alg.agency, "CSQU3054383", 1_797_422_400_000), "recipients": [gye.agency]},
    )
    for _ in range(400):  # bounded: at most 20 s
        if (await gye.api("analyst").get("/api/v1/alerts", {}))["total"] == 2:
            break
        await asyncio.sleep(0.05)
    pages = {
        "feed": "/console/",
        "notice-sent": f"/console/notices/{sent['id']}",
        "notice-alert-sent": f"/console/notices/{sent_alert['id']}",
        "notice-alert-received": f"/console/notices/{received['id']}",
        "board": "/console/board",
        "charts": "/console/charts",
        "publish-alert": "/console/publish/alert",
        "publish-alert-long": "/console/publish/alert?form=long",
        "publish-seizure": "/console/publish/seizure",
        "publish-seizure-long": "/console/publish/seizure?form=long",
        "publish-case": "/console/publish/case",
        "publish-outcome": f"/console/publish/outcome?alert={received['id']}",
        "publish-correction": f"/console/publish/correction?of={sent['id']}",
        "import": "/console/import",
        "shares": "/console/shares",
    }
    pages |= {f"admin-{s}": f"/console/admin/{s}" for s in ADMIN_SECTIONS}
    return pages


ADMIN_SECTIONS = ("keys", "directory", "peers", "channels", "subscriptions", "tokens", "events")


async def phone(browser: Any, node: TestNode, role: str, lang: str) -> Any:
    context = await browser.new_context(
        locale=lang, viewport=PHONE, is_mobile=True, has_touch=True, bypass_csp=True
    )
    page = await context.new_page()
    await page.goto(node.url + "/console/sign-in")
    await page.click("#sign-in-token-choice")  # accounts first; a token is the other way
    await page.fill("#token", node.tokens[role])
    await page.press("#token", "Enter")
    await page.wait_for_url("**/console/")
    return page


async def test_no_page_is_wider_than_a_phone_in_any_language(
    browser: Any, nodes: tuple[TestNode, TestNode], screenshots: Path
) -> None:
    gye, alg = nodes
    pages = await working_day(gye, alg)
    axe = axe_source()

    async def visit(lang: str) -> list[str]:
        found: list[str] = []
        page = await phone(browser, gye, "admin", lang)
        for name, path in {"sign-in": "/console/sign-in", **pages}.items():
            await page.goto(gye.url + path)
            measured = json.loads(await page.evaluate(MEASURE))
            if measured["width"] > PHONE["width"]:
                found.append(f"{lang} {name}: {measured['width']} px wide")
            if measured["off"] and name != "sign-in":
                found.append(f"{lang} {name}: off the screen: {measured['off']}")
            await page.screenshot(
                path=str(screenshots / f"phone-{name}-{lang}.png"), full_page=True
            )
            if lang == "es":  # axe on the phone layout too (once: the words differ, not the CSS)
                await page.add_script_tag(content=axe)
                result = json.loads(
                    await page.evaluate("async () => JSON.stringify(await axe.run(document))")
                )
                found += [
                    f"{lang} {name}: {v['id']} ({v['impact']}) {v['help']}"
                    for v in result["violations"]
                    if v["impact"] in ("serious", "critical")
                ]
        await page.context.close()
        return found

    problems = [p for found in await asyncio.gather(*map(visit, LANGS)) for p in found]
    assert problems == []


async def test_every_menu_entry_is_on_a_phone_screen_and_works(
    browser: Any, nodes: tuple[TestNode, TestNode]
) -> None:
    gye, _ = nodes
    page = await phone(browser, gye, "admin", "es")
    entries = page.locator("header.top nav[aria-label] a")
    hrefs = [await entries.nth(i).get_attribute("href") for i in range(await entries.count())]
    assert "/console/admin/keys" in hrefs and "/console/publish/seizure" in hrefs
    for href in hrefs:
        if href is None or href.startswith("?"):
            continue
        link = page.locator(f"header.top a[href='{href}']")
        box = await link.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        await link.tap()
        await page.wait_for_url(f"**{href}")


async def test_an_analyst_on_a_phone_reads_why_the_outcome_is_not_offered(
    browser: Any, nodes: tuple[TestNode, TestNode]
) -> None:
    gye, alg = nodes
    pages = await working_day(gye, alg)
    axe = axe_source()
    page = await phone(browser, gye, "analyst", "pt")
    await page.goto(gye.url + pages["notice-alert-received"])
    why = page.locator("#not-offered-answer_alert")
    assert "perfil de oficial emissor" in await why.inner_text()
    assert await why.is_visible()
    measured = json.loads(await page.evaluate(MEASURE))
    assert measured["width"] <= PHONE["width"] and measured["off"] == []
    await page.add_script_tag(content=axe)
    result = json.loads(await page.evaluate("async () => JSON.stringify(await axe.run(document))"))
    assert [v["id"] for v in result["violations"] if v["impact"] in ("serious", "critical")] == []
    # A refused form on a phone: the summary fits, and its links lead to the fields.
    page = await phone(browser, gye, "publisher", "es")
    await page.goto(gye.url + "/console/publish/alert")
    await page.click("form.publish button[type=submit]")
    summary = page.locator("#error-summary")
    await summary.wait_for()
    measured = json.loads(await page.evaluate(MEASURE))
    assert measured["width"] <= PHONE["width"]
    await summary.locator("a[href='#destination']").tap()
    assert page.url.endswith("#destination")
    await page.add_script_tag(content=axe)
    result = json.loads(await page.evaluate("async () => JSON.stringify(await axe.run(document))"))
    assert [v["id"] for v in result["violations"] if v["impact"] in ("serious", "critical")] == []
