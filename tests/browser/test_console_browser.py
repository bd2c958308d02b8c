"""The console in a real browser: publish on one node, see it live on another.

Two real nodes on loopback federate; Chromium signs in to each as a person
would, with the keyboard and the forms the console serves.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from browser_env import axe_source, browser, screenshots  # noqa: F401 (fixtures)
from node_harness import Cluster, TestNode
from notice_json import publish_body

LANGS = ("es", "pt", "en", "fr")


@pytest.fixture
async def nodes(cluster: Cluster) -> tuple[TestNode, TestNode]:
    gye, alg = await cluster(("ec.polnac.gye", "es.aduanas.alg"))
    return gye, alg


async def sign_in(
    browser: Any, node: TestNode, role: str, lang: str = "en", *, audit: bool = False
) -> Any:
    """A new browser page signed in to ``node`` with ``role``'s API token, in ``lang``.

    ``audit`` lets the test inject axe-core, an inline script the console's
    policy would (rightly) block.
    """
    context = await browser.new_context(
        locale=lang, viewport={"width": 1280, "height": 900}, bypass_csp=audit
    )
    page = await context.new_page()
    await page.goto(node.url + "/")
    await page.click("#sign-in-token-choice")  # accounts first; a token is the other way
    await page.fill("#token", node.tokens[role])
    await page.press("#token", "Enter")
    await page.wait_for_url("**/console/")
    return page


async def fill_alert(page: Any, recipient: str, container: str) -> None:
    # The short form's programme is its tab (ccp unless the link names another).
    await page.fill("#origin", "ECGYE")
    await page.fill("#destination", "ESALG")
    await page.fill("#expected", "2026-12-24T08:00")
    await page.select_option("#subject_type", "container")
    await page.fill("#container", container)
    await page.check(f"input[name=recipients][value='{recipient}']")


async def test_an_alert_published_on_one_node_appears_live_on_the_other(
    browser: Any, nodes: tuple[TestNode, TestNode], screenshots: Path
) -> None:
    gye, alg = nodes
    analyst = await sign_in(browser, alg, "analyst", "es")
    # The page's script says when the stream is open (polled from here: the
    # console's policy forbids the eval that wait_for_function would need).
    await analyst.locator("#live-status", has_text="En directo").wait_for()
    officer = await sign_in(browser, gye, "publisher", "en")
    await officer.goto(gye.url + "/console/publish/alert")
    await fill_alert(officer, alg.agency, "MSCU1234566")
    await officer.screenshot(path=str(screenshots / "publish-alert-en.png"), full_page=True)
    await officer.click("form.publish button[type=submit]")
    await officer.wait_for_url("**/console/notices/*")
    await officer.wait_for_selector(".banner.tlp-amber")
    # The analyst did not reload: the row arrives over the live stream.
    row = analyst.locator("#feed tr.fresh")
    await row.first.wait_for(timeout=20_000)
    assert "MSCU1234566" in (await row.first.inner_text())
    assert "Alerta previa" in (await row.first.inner_text())  # the kind, in Spanish
    await analyst.screenshot(path=str(screenshots / "feed-live-es.png"), full_page=True)
    await analyst.click("#feed tr.fresh a")
    await analyst.wait_for_selector(".banner.tlp-amber")
    assert "TLP:AMBER" in await analyst.inner_text(".banner")


async def test_a_refused_field_shows_its_message_in_the_chosen_language(
    browser: Any, nodes: tuple[TestNode, TestNode]
) -> None:
    gye, alg = nodes
    officer = await sign_in(browser, gye, "publisher", "pt")
    await officer.goto(gye.url + "/console/publish/alert")
    await fill_alert(officer, alg.agency, "MSCU1234567")  # wrong check digit
    await officer.click("form.publish button[type=submit]")
    message = officer.locator("#container-error")
    await message.wait_for()
    assert "Não é um número de contentor válido" in await message.inner_text()
    assert await officer.get_attribute("#container", "aria-invalid") == "true"


async def test_an_analyst_cannot_reach_the_publish_form(
    browser: Any, nodes: tuple[TestNode, TestNode]
) -> None:
    gye, _ = nodes
    analyst = await sign_in(browser, gye, "analyst", "fr")
    assert await analyst.locator("a[href='/console/publish/alert']").count() == 0
    answer = await analyst.goto(gye.url + "/console/publish/alert")
    assert answer.status == 403
    assert "Votre rôle ne le permet pas." in await analyst.inner_text("main")


async def test_headers_and_a_post_without_csrf_token(
    browser: Any, nodes: tuple[TestNode, TestNode]
) -> None:
    gye, alg = nodes
    officer = await sign_in(browser, gye, "publisher")
    answer = await officer.goto(gye.url + "/console/")
    headers = answer.headers
    assert "default-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    # Same origin, session cookie sent, but no CSRF token: refused.
    refused = await officer.request.post(
        gye.url + "/console/publish/seizure", form={"programme": "ccp", "recipients": alg.agency}
    )
    assert refused.status == 403
    # An inline script, were one injected, would not run under this policy.
    ran = await officer.evaluate(
        """() => { const s = document.createElement('script');
                   s.textContent = 'window.__inline = 1'; document.body.appendChild(s);
                   return window.__inline === 1; }"""
    )
    assert ran is False


async def test_keyboard_alone_reaches_the_main_actions(
    browser: Any, nodes: tuple[TestNode, TestNode]
) -> None:
    gye, _ = nodes
    context = await browser.new_context(locale="en")
    page = await context.new_page()
    await page.goto(gye.url + "/console/sign-in")
    focused = []
    for _ in range(12):
        await page.keyboard.press("Tab")
        focused.append(
            await page.evaluate(
                "document.activeElement.id || document.activeElement.textContent.trim()"
            )
        )
    assert "login" in focused and "sign-in-token-choice" in focused
    await page.focus("#sign-in-token-choice")
    await page.keyboard.press("Enter")  # opens the token form
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "token"
    await page.keyboard.type(gye.tokens["publisher"])
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/console/")
    reached = set()
    for _ in range(40):
        await page.keyboard.press("Tab")
        reached.add(
            await page.evaluate(
                "document.activeElement.getAttribute('href')"
                " || document.activeElement.textContent.trim()"
            )
        )
    assert {"/console/publish/alert", "/console/publish/seizure", "Sign out"} <= reached


async def test_every_page_in_every_language_has_no_serious_accessibility_violation(
    browser: Any, nodes: tuple[TestNode, TestNode], screenshots: Path
) -> None:
    gye, alg = nodes
    axe = axe_source()
    body = publish_body(gye.agency, [alg.agency])
    body["notice"]["route"] = {
        "loading": {"locode": "ECGYE"},
        "transit": [{"locode": "PABLB"}],
        "discharge": {"locode": "ESALG"},
    }
    published = await gye.api("publisher").post("/api/v1/notices", body)
    pages = {
        "feed": "/console/",
        "notice": f"/console/notices/{published['id']}",
        "board": "/console/board",
        "charts": "/console/charts",
        "watching": "/console/watching",
        "publish-alert": "/console/publish/alert",
        "publish-seizure": "/console/publish/seizure",
        "admin-keys": "/console/admin/keys",
        "admin-peers": "/console/admin/peers",
        "admin-tokens": "/console/admin/tokens",
        "admin-events": "/console/admin/events",
    }

    async def audit(lang: str) -> list[str]:
        """Visit every page in ``lang``: screenshot it, run axe-core, keep what is serious."""
        found: list[str] = []
        page = await sign_in(browser, gye, "admin", lang, audit=True)
        for name, path in pages.items():
            await page.goto(gye.url + path)
            assert await page.get_attribute("html", "lang") == lang
            await page.screenshot(path=str(screenshots / f"{name}-{lang}.png"), full_page=True)
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

    # The languages side by side: the browser does the work, the suite stays short.
    problems = [p for found in await asyncio.gather(*map(audit, LANGS)) for p in found]
    context = await browser.new_context(locale="en")
    sign_in_page = await context.new_page()
    await sign_in_page.goto(gye.url + "/console/sign-in")
    await sign_in_page.screenshot(path=str(screenshots / "sign-in-en.png"))
    assert problems == []


async def test_the_browser_zone_is_offered_and_a_form_keeps_its_fields_across_languages(
    browser: Any, nodes: tuple[TestNode, TestNode]
) -> None:
    gye, alg = nodes
    context = await browser.new_context(
        locale="es", timezone_id="Europe/Madrid", viewport={"width": 1280, "height": 900}
    )
    page = await context.new_page()
    await page.goto(gye.url + "/console/sign-in")

    async def zone() -> str | None:
        found = [c["value"] for c in await context.cookies() if c["name"] == "baliza_tz"]
        return found[0].strip('"') if found else None

    # The sign-in page's script sends the browser's zone once; the cookie keeps it.
    for _ in range(100):
        if await zone() is not None:
            break
        await asyncio.sleep(0.05)
    assert await zone() == "Europe/Madrid"
    await page.click("#sign-in-token-choice")  # accounts first; a token is the other way
    await page.fill("#token", gye.tokens["publisher"])
    await page.press("#token", "Enter")
    await page.wait_for_url("**/console/")
    assert "Europe/Madrid" in await page.inner_text("header")
    await page.goto(gye.url + "/console/publish/alert")
    await page.fill("#origin", "ECGYE")
    await page.fill("#destination", "COCTG")
    await page.fill("#container", "MSCU1234566")
    await page.check(f"input[name=recipients][value='{alg.agency}']")
    # Half-filled, the officer switches to French: nothing typed is lost.
    await page.click(".langs a[hreflang=fr]")
    await page.wait_for_selector("html[lang=fr]")
    assert "carried" in page.url and "lang=" not in page.url
    assert await page.input_value("#origin") == "ECGYE"
    assert await page.input_value("#destination") == "COCTG"
    assert await page.input_value("#container") == "MSCU1234566"
    assert await page.is_checked(f"input[name=recipients][value='{alg.agency}']")
    assert await page.input_value("input[name=tz]") == "Europe/Madrid"
    # The destination's zone is offered for the arrival (Cartagena, Colombia).
    assert "America/Bogota" in await page.inner_text("#expected_tz")
    await context.close()
