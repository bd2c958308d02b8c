"""A person watches a container in a real browser, and hears of it while the page is open.

Julia signs in (password and the code her app shows), adds a watch on a
container on the Watching page and asks for e-mail at once. A partner node
on loopback sends a seizure naming that container: while the page stays
open, the menu's badge and the page title count it, the browser raises its
own notification, and the e-mail arrives at a real SMTP server (aiosmtpd)
saying the notice's kind, place and handling — not its remarks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from browser_env import browser, screenshots  # noqa: F401 (fixtures)
from loopback_support import free_port, wait_for
from node_harness import Cluster
from people import enrol, sign_in
from test_node_notify import CONTAINER, Inbox, seizure, send, smtp_table

ALG = "es.aduanas.alg"
CTG = "co.polfa.ctg"

# Records each notification the page raises (the real one too, when the
# browser shows it), so the test can read what the person would have seen.
RECORD_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  window.__raised = [];
  function Recording(title, options) {
    window.__raised.push({ title, body: (options || {}).body });
    try { return new Real(title, options); } catch (e) { return {addEventListener() {}}; }
  }
  Object.defineProperty(Recording, "permission", { get: () => Real.permission });
  Recording.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Recording;
})();
"""


async def test_a_watched_container_counts_notifies_and_mails_while_the_page_is_open(
    browser: Any, cluster: Cluster, screenshots: Path
) -> None:
    inbox = Inbox()
    port = free_port()
    relay = Controller(inbox, hostname="127.0.0.1", port=port)
    relay.start()
    try:
        alg, ctg = await cluster([ALG, CTG], per_node={ALG: {"smtp": smtp_table(port)}})
        enrolment = await enrol(alg, "jruiz", name="Julia Ruiz", role="analyst", unit="Port unit")
        context = await browser.new_context(locale="en", viewport={"width": 1280, "height": 900})
        await context.grant_permissions(["notifications"], origin=alg.url)
        await context.add_init_script(RECORD_NOTIFICATIONS)
        page = await context.new_page()
        await sign_in(page, alg.url, "jruiz", enrolment)

        await page.click("#nav-watching")
        await page.wait_for_url("**/console/watching")
        await page.select_option("#what", "container")
        await page.fill("#value", CONTAINER)
        await page.click("#add-watch")
        await page.wait_for_url("**/console/watching")
        assert CONTAINER in await page.inner_text("#watch-rows")
        await page.fill("#email", "julia.ruiz@alg.example")
        await page.select_option("#mode", "immediate")
        await page.click("#save-mail")
        await page.wait_for_url("**/console/watching")
        assert await page.is_hidden("#notify-count")
        assert not (await page.title()).startswith("(")

        remarks = "Bricks marked with a green scorpion"
        eid = await send(ctg, seizure(remarks))

        # No reload: the live stream announces the notice, the page counts it.
        # (Locators and polling: the console's policy forbids the eval that
        # wait_for_function would need.)
        await page.locator("#notify-count", has_text="1").wait_for(timeout=20_000)
        assert await page.is_visible("#notify-count")
        assert (await page.title()).startswith("(1) ")

        async def raised_one() -> bool:
            return bool(json.loads(await page.evaluate("JSON.stringify(window.__raised)")))

        await wait_for(raised_one, what="the browser's notification")
        raised = json.loads(await page.evaluate("JSON.stringify(window.__raised)"))
        assert raised[0]["title"] == "Baliza notification"
        assert "ESALG" in raised[0]["body"] and "TLP:AMBER" in raised[0]["body"]
        await page.screenshot(path=str(screenshots / "watching-badge-en.png"), full_page=True)

        async def mailed() -> bool:
            return bool(inbox.messages)

        await wait_for(mailed, what="the e-mail at the relay")
        text = inbox.messages[0].content.decode()
        assert inbox.messages[0].rcpt_tos == ["julia.ruiz@alg.example"]
        assert "seizure notice, ESALG, TLP:AMBER" in text and eid in text
        assert remarks not in text and "scorpion" not in text

        # The page lists it once reloaded; reading them clears the badge and the title's count.
        await page.reload()
        assert eid in await page.inner_text("#notification-rows")
        await page.click("#mark-all-read")
        await page.wait_for_url("**/console/watching")
        await page.locator("#notify-count").wait_for(state="hidden")
        assert not (await page.title()).startswith("(")
        await context.close()
    finally:
        relay.stop()
