"""The viewer's preferences: the time zone times are typed and shown in.

Kept in a cookie, not in the node's database: a preference belongs to the
browser it was chosen on (an officer's phone on the quay and the office
desktop may well differ), and it is no secret. The page is public, like
sign-in, so the zone is set before the first page with times on it; the
console's script offers the browser's own zone when none was chosen.
"""

from __future__ import annotations

from aiohttp import web

from baliza.node.console.i18n import zones
from baliza.node.console.web import PREFIX, render
from baliza.node.core.clock import now_ms


def safe_back(raw: str) -> str:
    """A console page to go back to, or '' (never another site: no ``//host``, no scheme)."""
    if raw.startswith(PREFIX + "/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return ""


async def page(request: web.Request) -> web.Response:
    """The preferences form (``?tz=`` itself is remembered by the console's middleware)."""
    context = {"zones": zones(), "back": safe_back(request.query.get("back", "")), "now": now_ms()}
    return render(request, "preferences.html", context)
