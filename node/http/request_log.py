"""One log line per HTTP request, and a request id that ties a request's lines together.

The middleware sits outside the error middleware, so it sees the status it
chose, and inside the client-address one, so it logs the client's address (as
a trusted proxy named it, see client_address.py). It logs the method, the path
without its query string, the status, the duration and that address: no body,
no header, no search term.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from aiohttp import web
from aiohttp.typedefs import Handler

from baliza.node.core.logs import REQUEST_ID

log = logging.getLogger("baliza.request")
HEADER = "X-Request-Id"
# What a proxy may hand us (nginx's $request_id is 32 hex digits).
_SANE = re.compile(r"[A-Za-z0-9._-]{8,64}")


@web.middleware
async def request_log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give the request an id, run it, log one line, echo the id in the answer."""
    given = request.headers.get(HEADER, "")
    request_id = given if _SANE.fullmatch(given) else uuid.uuid4().hex
    token = REQUEST_ID.set(request_id)
    started = time.monotonic()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        if not response.prepared:
            response.headers[HEADER] = request_id
        return response
    except web.HTTPException as exc:
        status = exc.status
        exc.headers[HEADER] = request_id
        raise
    finally:
        if log.isEnabledFor(logging.INFO):
            log.info(
                "%s %s %d",
                request.method,
                request.path,
                status,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": status,
                    "client": request.remote or "",
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )
        REQUEST_ID.reset(token)
