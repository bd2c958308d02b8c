"""Reading a JSON request body: one place for its media type and parse errors."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from baliza.node.http.appkeys import NODE
from baliza.node.http.server import read_body
from baliza.protocol.errors import InputError, ReasonCode


async def json_body(request: web.Request) -> Any:
    """The parsed JSON body; ``UNSUPPORTED_MEDIA`` or ``MALFORMED`` otherwise.

    Read under the node's body deadline (``TIMEOUT`` when it does not arrive).
    """
    if request.content_type != "application/json":
        raise InputError(
            ReasonCode.UNSUPPORTED_MEDIA, "expected application/json", path="Content-Type"
        )
    try:
        return json.loads(await read_body(request, request.app[NODE].config))
    except ValueError as exc:
        raise InputError(ReasonCode.MALFORMED, f"not JSON: {exc}") from None


async def json_object(request: web.Request) -> dict[str, Any]:
    """The parsed JSON body, which must be an object (``WRONG_TYPE`` otherwise)."""
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InputError(ReasonCode.WRONG_TYPE, "the body must be a JSON object")
    return body
