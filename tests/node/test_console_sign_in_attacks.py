"""Guessing at the console's sign-in, on a real node (issue 17, item 13).

Each guesser connects from its own loopback address (127.0.0.2, 127.0.0.3 …
are distinct sources on Linux). Sign-in is throttled per client address and
per token, locks out, refuses a right token during the lock-out like a wrong
one, and logs every failure with the token's id and the address.
"""

from __future__ import annotations

import logging
import secrets

import aiohttp
import pytest
from console_client import CSRF
from node_harness import Cluster, TestNode

from baliza.node.services.sign_in_throttle import ACCOUNT_FAILURES, ADDRESS_FAILURES


class Browser:
    """A browser on ``address``: it fetches the form (its CSRF cookie), then posts a token."""

    def __init__(self, node: TestNode, address: str) -> None:
        self.node = node
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(local_addr=(address, 0)),
            cookie_jar=aiohttp.CookieJar(unsafe=True),
        )

    async def sign_in(self, token: str) -> int:
        url = self.node.url + "/console/sign-in"
        async with self.session.get(url) as resp:
            pre = CSRF.search(await resp.text())
        assert pre is not None
        form = {"csrf": pre.group(1), "token": token, "next": "/console/"}
        async with self.session.post(url, data=form, allow_redirects=False) as resp:
            return resp.status

    async def close(self) -> None:
        await self.session.close()


def wrong_secret(token: str) -> str:
    """``token``'s id with another secret."""
    prefix, token_id, _ = token.split("_", 2)
    return f"{prefix}_{token_id}_{secrets.token_urlsafe(24)}"


def guess() -> str:
    return f"bz_{secrets.token_hex(6)}_{secrets.token_urlsafe(24)}"


def lines(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


async def test_an_address_guessing_tokens_is_locked_out_and_logged(
    cluster: Cluster, database_engine: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="baliza.node.services.sessions")
    [gye] = await cluster(1, database_engine)
    guesser, neighbour = Browser(gye, "127.0.0.2"), Browser(gye, "127.0.0.3")
    try:
        statuses = [await guesser.sign_in(guess()) for _ in range(ADDRESS_FAILURES)]
        assert statuses == [401] * ADDRESS_FAILURES
        # Locked: even a right token is refused from there, before it is checked.
        assert await guesser.sign_in(gye.tokens["analyst"]) == 429
        assert await guesser.sign_in(guess()) == 429
        # Another address is not.
        assert await neighbour.sign_in(gye.tokens["analyst"]) == 303
    finally:
        await guesser.close()
        await neighbour.close()
    failed = lines(caplog, "console sign-in failed")
    assert len(failed) == ADDRESS_FAILURES
    assert all("from 127.0.0.2" in line and "_" not in line.split()[4] for line in failed)
    assert lines(caplog, "locked for 15 min: too many failures for address 127.0.0.2")
    # No secret is ever logged.
    assert not [r for r in caplog.records if "bz_" in r.getMessage()]


async def test_a_token_guessed_from_many_addresses_is_locked_out(
    cluster: Cluster, database_engine: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="baliza.node.services.sessions")
    [gye] = await cluster(1, database_engine)
    admin = gye.tokens["admin"]
    token_id = admin.split("_")[1]
    browsers = [Browser(gye, f"127.0.0.{10 + n}") for n in range(ACCOUNT_FAILURES + 1)]
    try:
        for browser in browsers[:-1]:  # one wrong secret from each address
            assert await browser.sign_in(wrong_secret(admin)) == 401
        fresh = browsers[-1]
        assert await fresh.sign_in(admin) == 429  # the token is locked, wherever from
        assert await fresh.sign_in(gye.tokens["analyst"]) == 303  # other tokens are not
    finally:
        for browser in browsers:
            await browser.close()
    assert lines(caplog, f"locked for 15 min: too many failures for token {token_id}")
    failed = lines(caplog, "console sign-in failed")
    assert len(failed) == ACCOUNT_FAILURES and all(token_id in line for line in failed)


async def test_a_successful_sign_in_forgets_its_tokens_failures(cluster: Cluster) -> None:
    [gye] = await cluster(1)
    analyst = gye.tokens["analyst"]
    browser = Browser(gye, "127.0.0.30")
    try:
        for _ in range(2):
            for _ in range(ACCOUNT_FAILURES - 1):
                assert await browser.sign_in(wrong_secret(analyst)) == 401
            assert await browser.sign_in(analyst) == 303
    finally:
        await browser.close()
