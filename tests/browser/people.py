"""Named people in the browser tests: enrolled on a node, signed in by the console's form.

The code a person types is computed by pyotp from the secret their
enrolment printed, as their authenticator app would. A code signs in once,
so a second sign-in within the same 30 s takes a later step's code
(``ahead``), which the node accepts as a phone's clock a little ahead.
"""

from __future__ import annotations

from typing import Any

import pyotp
from node_harness import TestNode

from baliza.node.core.clock import now_ms
from baliza.node.services.accounts import Enrolment, add_user

PASSWORD = "a long enough passphrase"


async def enrol(node: TestNode, login: str, *, name: str, role: str, unit: str | None) -> Enrolment:
    """Enrol a person on ``node`` with the shared test password."""
    return await add_user(
        node.ctx.db, login, name=name, role=role, unit=unit, password=PASSWORD, now=now_ms()
    )


def code(enrolment: Enrolment, *, ahead: int = 0) -> str:
    """The code the person's app shows ``ahead`` 30 s steps from now."""
    return pyotp.TOTP(enrolment.totp_secret).at(now_ms() // 1000 + 30 * ahead)


async def sign_in(
    page: Any,
    url: str,
    login: str,
    enrolment: Enrolment,
    *,
    start: str = "/console/sign-in",
    lands: str = "/console/",
    ahead: int = 0,
) -> None:
    """Open ``start`` (sent to sign-in if it needs it), sign in, wait to land on ``lands``."""
    await page.goto(url + start)
    if not start.startswith("/console/sign-in"):
        await page.wait_for_url("**/console/sign-in**")
    await page.fill("#login", login)
    await page.fill("#password", PASSWORD)
    await page.fill("#code", code(enrolment, ahead=ahead))
    await page.press("#code", "Enter")
    await page.wait_for_url("**" + lands)
