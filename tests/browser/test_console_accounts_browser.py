"""A person signs in in a real browser: login, password, and the code their app shows.

The code is computed by pyotp from the secret the enrolment printed, as the
person's authenticator app would. A wrong code is refused in words on the
page; the right one lands on the feed with the person's name in the header.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from browser_env import browser, screenshots  # noqa: F401 (fixtures)
from node_harness import Cluster
from people import PASSWORD, code, enrol


async def test_a_person_signs_in_with_password_and_totp(
    browser: Any,
    cluster: Cluster,
    screenshots: Path,
) -> None:
    [gye] = await cluster(("ec.polnac.gye",))
    enrolment = await enrol(gye, "jruiz", name="Julia Ruiz", role="publisher", unit="Port unit")
    context = await browser.new_context(locale="en", viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(gye.url + "/")
    await page.wait_for_url("**/console/sign-in**")

    # A wrong code: the same page again, the reason said, the login kept.
    await page.fill("#login", "JRuiz")
    await page.fill("#password", PASSWORD)
    await page.fill("#code", f"{(int(code(enrolment)) + 1) % 1_000_000:06d}")
    await page.press("#code", "Enter")
    alert = page.locator("#person-error")
    await alert.wait_for()
    assert await alert.inner_text() == "Wrong login name, password or code."
    assert await page.input_value("#login") == "JRuiz"
    await page.screenshot(path=str(screenshots / "sign-in-refused-en.png"))

    await page.fill("#password", PASSWORD)
    await page.fill("#code", code(enrolment))
    await page.press("#code", "Enter")
    await page.wait_for_url("**/console/")
    header = await page.inner_text("#signed-in-as")
    assert header.startswith("Julia Ruiz · Port unit")
    await page.screenshot(path=str(screenshots / "signed-in-person-en.png"))
    # Signing out ends the session: the feed asks for sign-in again.
    await page.click("form.signout button")
    await page.wait_for_url("**/console/sign-in**")
    await page.goto(gye.url + "/console/")
    assert "/console/sign-in" in page.url
    await context.close()
