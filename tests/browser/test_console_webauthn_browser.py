"""A person registers a security key in a real browser, signs out, and signs in with it.

The key is Chromium's virtual authenticator (DevTools ``WebAuthn`` domain,
CTAP2 over USB, with user verification), so the browser's own WebAuthn
code makes and signs every answer, as with a key on a key ring. The page
is opened at ``http://localhost:<port>``, the console's origin by default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from browser_env import browser, screenshots  # noqa: F401 (fixtures)
from node_harness import Cluster
from people import PASSWORD, enrol, sign_in

from baliza.node.services.accounts import list_users
from baliza.node.services.security_keys import security_keys_of


async def test_a_person_registers_a_key_then_signs_in_with_it(
    browser: Any,
    cluster: Cluster,
    screenshots: Path,
) -> None:
    [gye] = await cluster(("ec.polnac.gye",))
    enrolment = await enrol(gye, "jruiz", name="Julia Ruiz", role="publisher", unit="Port unit")
    origin = f"http://localhost:{gye.config.port}"
    context = await browser.new_context(locale="en", viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    cdp = await context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable")
    added = await cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": False,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    authenticator = added["authenticatorId"]

    # Signed in with password and app code, the person registers a key on their page.
    await sign_in(page, origin, "jruiz", enrolment)
    await page.click("#my-account")
    await page.wait_for_url("**/console/account")
    await page.fill("#key-name", "Blue key")
    await page.click("#register-key-button")
    await page.wait_for_url("**/console/account?done=key-added")
    assert "Blue key" in await page.inner_text("#security-keys")
    await page.screenshot(path=str(screenshots / "security-key-registered-en.png"))
    [user] = await list_users(gye.ctx.db)
    [key] = await security_keys_of(gye.ctx.db, user.id)
    held = await cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(held["credentials"]) == 1

    # Signed out, the key stands in for the code.
    await page.click("form.signout button")
    await page.wait_for_url("**/console/sign-in**")
    await page.fill("#login", "jruiz")
    await page.fill("#password", PASSWORD)
    await page.click("#sign-in-with-key")
    await page.wait_for_url("**/console/")
    assert (await page.inner_text("#signed-in-as")).startswith("Julia Ruiz · Port unit")
    [after] = await security_keys_of(gye.ctx.db, user.id)
    assert after.sign_count > key.sign_count and after.last_used_ms is not None
    await page.screenshot(path=str(screenshots / "signed-in-with-key-en.png"))

    # A wrong password never reaches the key: refused in words, no session.
    await page.click("form.signout button")
    await page.wait_for_url("**/console/sign-in**")
    await page.fill("#login", "jruiz")
    await page.fill("#password", "not the password at all")
    await page.click("#sign-in-with-key")
    problem = page.locator("#key-error")
    await problem.wait_for()
    assert await problem.inner_text() == "Wrong login name, password or code."
    assert "/console/sign-in" in page.url
    await context.close()


async def test_an_administrator_creates_an_account_and_confirms_before_disabling(
    browser: Any,
    cluster: Cluster,
    screenshots: Path,
) -> None:
    [gye] = await cluster(("ec.polnac.gye",))
    boss = await enrol(gye, "boss", name="Ana Pérez", role="admin", unit=None)
    context = await browser.new_context(locale="es", viewport={"width": 1280, "height": 1000})
    page = await context.new_page()
    await sign_in(
        page, f"http://localhost:{gye.config.port}", "boss", boss, start="/console/sign-in?lang=es"
    )
    await page.goto(f"http://localhost:{gye.config.port}/console/admin/people")
    await page.fill("#person-name", "Julia Ruiz")
    await page.fill("#person-login", "jruiz")
    await page.fill("#person-unit", "Unidad portuaria")
    await page.select_option("#person-role", "publisher")
    await page.click("#create-person button[type=submit]")
    await page.locator("#enrolment").wait_for()
    assert "Entregue estos datos a Julia Ruiz" in await page.inner_text("#enrolment")
    assert await page.locator("#enrolment-codes li").count() == 10
    await page.screenshot(path=str(screenshots / "people-enrolment-es.png"), full_page=True)
    # Disabling asks first; cancelling changes nothing.
    await page.click("button[aria-label='Desactivar jruiz']")
    dialog = page.locator("[role=alertdialog]")
    await dialog.wait_for()
    assert "¿Desactivar la cuenta de Julia Ruiz (jruiz)?" in await dialog.inner_text()
    await page.screenshot(path=str(screenshots / "people-confirm-disable-es.png"))
    assert not next(u for u in await list_users(gye.ctx.db) if u.login == "jruiz").disabled
    await page.click("#confirm-action")
    await page.locator("#people-done").wait_for()
    assert next(u for u in await list_users(gye.ctx.db) if u.login == "jruiz").disabled
    await context.close()
