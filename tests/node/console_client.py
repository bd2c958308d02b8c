"""A browser-like HTTP client for the console tests: cookies, sign-in, the form's CSRF token."""

from __future__ import annotations

import re

import aiohttp
from node_harness import TestNode

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def signed_in(
    node: TestNode, role: str, lang: str = "en"
) -> tuple[aiohttp.ClientSession, str]:
    """A client signed in with ``role``'s token; returns it and its session's CSRF token."""
    client = aiohttp.ClientSession(
        headers={"Accept-Language": lang}, cookie_jar=aiohttp.CookieJar(unsafe=True)
    )
    async with client.get(node.url + "/console/sign-in") as resp:
        pre = CSRF.search(await resp.text())
    assert pre is not None
    async with client.post(
        node.url + "/console/sign-in",
        data={"csrf": pre.group(1), "token": node.tokens[role], "next": "/console/"},
    ) as resp:
        assert resp.status == 200, await resp.text()
        page = await resp.text()
    found = CSRF.search(page)
    assert found is not None
    return client, found.group(1)


def multipart(
    fields: dict[str, str | list[str]], files: list[tuple[str, bytes, str]]
) -> aiohttp.FormData:
    """A multipart form as a browser sends it: fields, then files (name, content, type)."""
    form = aiohttp.FormData()
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            form.add_field(name, item)
    for filename, content, media_type in files:
        form.add_field("photos", content, filename=filename, content_type=media_type)
    return form
