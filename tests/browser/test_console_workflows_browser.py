"""The command line's channel and subscription workflows, done in the browser, desk and phone.

Guayaquil's administrator founds a programme channel with Cartagena and
Algeciras, reading the channel before signing it; its officer posts an
alert to the channel from the publish form, and Cartagena receives it.
Algeciras's administrator asks Guayaquil for a subscription; Guayaquil's
menu counts the request, its administrator admits it, and Algeciras sees it
admitted. Guayaquil's administrator then adds Madrid and removes Algeciras:
the change is shown (who comes in, who goes out, version 1 → 2) before it
is signed, and Madrid holds version 2. At 1366 × 768 and at 390 px wide no
page is wider than the window, and every new page passes axe-core in
every language.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from browser_env import axe_source, browser, screenshots  # noqa: F401 (fixtures)
from loopback_support import wait_for
from node_harness import Cluster, TestNode
from notice_json import publish_body
from test_console_browser import LANGS

GYE, CTG, ALG, MAD = "ec.polnac.gye", "co.polfa.ctg", "es.aduanas.alg", "es.gc.mad"
CCP = "ccp.pacific-europe"
SIZES = {"desk": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
WIDEST = "() => [document.documentElement.scrollWidth, window.innerWidth]"


@pytest.fixture
async def four(cluster: Cluster) -> list[TestNode]:
    return await cluster((GYE, CTG, ALG, MAD))


async def _signed_in(browser: Any, node: TestNode, role: str, size: str) -> Any:
    context = await browser.new_context(
        locale="en", viewport=SIZES[size], is_mobile=size == "phone", has_touch=size == "phone"
    )
    page = await context.new_page()
    await page.goto(node.url + "/")
    await page.click("#sign-in-token-choice")
    await page.fill("#token", node.tokens[role])
    await page.press("#token", "Enter")
    await page.wait_for_url("**/console/")
    return page


async def _fits(page: Any, where: str) -> None:
    scroll, inner = await page.evaluate(WIDEST)
    assert scroll <= inner, f"{where}: the page is {scroll} px wide in a {inner} px window"


async def _axe(page: Any, axe: str, label: str) -> list[str]:
    """The serious and critical axe-core findings on the page, labelled."""
    await page.add_script_tag(content=axe)
    result = json.loads(await page.evaluate("async () => JSON.stringify(await axe.run(document))"))
    return [
        f"{label}: {v['id']} ({v['impact']}) {v['help']}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def _channel_version(node: TestNode) -> int | None:
    listed = await node.api("analyst").get("/api/v1/channels", {})
    return next((c["version"] for c in listed["items"] if c["channel"] == CCP), None)


@pytest.mark.parametrize("size", list(SIZES))
async def test_channel_post_subscription_and_member_change_in_the_browser(
    browser: Any, four: list[TestNode], screenshots: Path, size: str
) -> None:
    gye, ctg, alg, mad = four
    admin = await _signed_in(browser, gye, "admin", size)
    await admin.goto(gye.url + "/console/admin/channels")
    await _fits(admin, "channels")
    await admin.click("#found-channel")
    await admin.fill("#id", CCP)
    await admin.fill("#name", "Container programme, Pacific to Europe")
    await admin.select_option("#kind", "programme")
    await admin.select_option("#programme", "ccp")
    for member in (ctg, alg):
        await admin.check(f"input[name=members][value='{member.agency}']")
    await admin.click("#show-change")
    await admin.locator("#change").wait_for()
    added = await admin.inner_text("#members-added")
    assert ctg.agency in added and alg.agency in added
    assert await _channel_version(gye) is None  # shown, not yet signed
    await _fits(admin, "the channel before signing")
    await admin.screenshot(path=str(screenshots / f"channel-found-{size}.png"), full_page=True)
    await admin.check("#read-change")
    await admin.click("#sign-change")
    await admin.locator("#signed").wait_for()
    assert "version 1 is in force" in await admin.inner_text("#signed")

    async def ctg_holds_it() -> bool:
        return await _channel_version(ctg) == 1

    await wait_for(ctg_holds_it, what="version 1 at Cartagena")

    officer = await _signed_in(browser, gye, "publisher", size)
    await officer.goto(gye.url + "/console/publish/alert")
    await officer.fill("#origin", "ECGYE")
    await officer.fill("#destination", "ESALG")
    await officer.fill("#expected", "2027-01-10T08:00")
    await officer.select_option("#subject_type", "container")
    await officer.fill("#container", "MSKU8912345")
    await officer.select_option("#channel", CCP)
    await _fits(officer, "the alert form")
    await officer.click("form.publish button[type=submit]")
    await officer.wait_for_url("**/console/notices/*")
    await officer.locator("#route-map").wait_for()
    await _fits(officer, "the alert sent to the channel")
    await officer.screenshot(path=str(screenshots / f"channel-alert-{size}.png"), full_page=True)

    async def ctg_got_it() -> bool:
        page = await ctg.api("analyst").get("/api/v1/notices", {"direction": "in"})
        return any(i.get("channel") == CCP for i in page["items"])

    await wait_for(ctg_got_it, what="the channel's alert at Cartagena")

    asker = await _signed_in(browser, alg, "admin", size)
    await asker.goto(alg.url + "/console/admin/subscriptions")
    await asker.click("#ask-subscription")
    await asker.select_option("#publisher", gye.agency)
    await asker.check("input[name=kinds][value='notice.seizure']")
    await asker.check("input[name=categories][value='cocaine']")
    await asker.fill("#note", "Puerto de Algeciras")
    await _fits(asker, "the subscription request")
    await asker.click("#ask-subscription")
    await asker.wait_for_url("**/console/admin/subscriptions")

    async def badge() -> bool:
        await admin.goto(gye.url + "/console/")
        return bool(await admin.locator("#admin-waiting").count() == 1)

    await wait_for(badge, what="the badge at Guayaquil")
    await admin.click("#nav-admin")
    await admin.click("a[href='/console/admin/subscriptions']")
    assert (await admin.inner_text("#waiting-subscriptions")).startswith("1")
    await _fits(admin, "subscriptions waiting")
    await admin.click("form[action$='/approve'] button")
    await admin.wait_for_url("**/console/admin/subscriptions")
    assert await admin.locator("#admin-waiting").count() == 0

    async def admitted() -> bool:
        listed = await alg.api("analyst").get("/api/v1/subscriptions", {})
        return [i["state"] for i in listed["items"]] == ["admitted"]

    await wait_for(admitted, what="the admission at Algeciras")

    await admin.goto(gye.url + f"/console/admin/channels/{CCP}/members")
    await admin.check(f"input[name=add][value='{mad.agency}']")
    await admin.check(f"input[name=remove][value='{alg.agency}']")
    await admin.click("#show-change")
    await admin.locator("#change").wait_for()
    assert "1 → 2" in await admin.inner_text("#change-version")
    assert mad.agency in await admin.inner_text("#members-added")
    assert alg.agency in await admin.inner_text("#members-removed")
    assert ctg.agency in await admin.inner_text("#members-kept")
    assert await _channel_version(gye) == 1
    await _fits(admin, "the member change before signing")
    await admin.screenshot(path=str(screenshots / f"channel-members-{size}.png"), full_page=True)
    await admin.check("#read-change")
    await admin.click("#sign-change")
    await admin.locator("#signed").wait_for()
    assert "version 2 is in force" in await admin.inner_text("#signed")

    async def mad_holds_it() -> bool:
        return await _channel_version(mad) == 2

    await wait_for(mad_holds_it, what="version 2 at Madrid")


async def test_the_workflow_pages_pass_the_accessibility_audit_in_every_language(
    browser: Any, four: list[TestNode], screenshots: Path
) -> None:
    gye, ctg, alg, mad = four
    axe = axe_source()
    await gye.api("admin").post(
        "/api/v1/channels",
        {"id": CCP, "kind": "programme", "name": "CCP", "members": [ctg.agency, alg.agency]},
    )
    await mad.api("admin").post(f"/api/v1/channels/{CCP}/join", {"owner": gye.agency})
    sent = await gye.api().post("/api/v1/notices", publish_body(gye.agency, [alg.agency]))
    pages = {
        "channel-new": "/console/admin/channels/new",
        "channel-members": f"/console/admin/channels/{CCP}/members",
        "admin-channels": "/console/admin/channels",
        "subscribe": "/console/admin/subscriptions/new",
        "charts-map": "/console/charts",
        "notice-map": f"/console/notices/{sent['id']}",
    }
    found: list[str] = []
    for lang in LANGS:
        context = await browser.new_context(locale=lang, viewport=SIZES["desk"], bypass_csp=True)
        page = await context.new_page()
        await page.goto(gye.url + "/")
        await page.click("#sign-in-token-choice")
        await page.fill("#token", gye.tokens["admin"])
        await page.press("#token", "Enter")
        await page.wait_for_url("**/console/")

        for name, path in pages.items():
            await page.goto(gye.url + path)
            assert await page.get_attribute("html", "lang") == lang
            found.extend(await _axe(page, axe, f"{lang} {name}"))
        # The change shown before signing, and a refusal next to its field.
        await page.goto(gye.url + f"/console/admin/channels/{CCP}/members")
        await page.check(f"input[name=add][value='{mad.agency}']")
        await page.click("#show-change")
        await page.locator("#change").wait_for()
        found.extend(await _axe(page, axe, f"{lang} channel-change"))
        await page.screenshot(path=str(screenshots / f"channel-change-{lang}.png"), full_page=True)
        await page.context.close()
    assert found == []
