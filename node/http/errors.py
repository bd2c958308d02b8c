"""Errors as HTTP answers: a reason code, the field path, the right status.

The middleware here is the one place where a ``BalizaError`` becomes an HTTP
status and a JSON body, and where anything unexpected becomes a plain 500
with no stack trace (the trace goes to the log, never to the client).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from baliza.node.core.metrics import REQUESTS_REFUSED
from baliza.node.http.appkeys import NODE
from baliza.protocol.errors import (
    BalizaError,
    InputError,
    ReasonCode,
    StorageError,
    TransportError,
    TrustError,
    UsageError,
)

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_BY_REASON = {
    ReasonCode.UNAUTHENTICATED: 401,
    ReasonCode.FORBIDDEN: 403,
    ReasonCode.NOT_FOUND: 404,
    ReasonCode.CONFLICT: 409,
    ReasonCode.TOO_LARGE: 413,
    ReasonCode.UNSUPPORTED_MEDIA: 415,
    ReasonCode.MALFORMED: 400,
    ReasonCode.BUSY: 429,
    ReasonCode.SIGN_IN_THROTTLED: 429,
    ReasonCode.TIMEOUT: 408,
}


def http_status(err: BalizaError) -> int:
    """The HTTP status that answers ``err``.

    A ``TransportError`` is the fault of a peer this node called, never of
    the caller: 502 whatever its reason (a peer's answer too large or
    wrongly labelled is not the caller's 413 or 415).
    """
    if isinstance(err, TransportError):
        return 502
    if err.reason in _BY_REASON:
        return _BY_REASON[err.reason]
    if isinstance(err, InputError):
        return 422
    if isinstance(err, TrustError):
        return 403
    if isinstance(err, UsageError):
        return 400
    if isinstance(err, StorageError):
        return 503
    return 500


def error_body(reason: str, detail: str, path: str = "") -> dict[str, dict[str, str]]:
    """The JSON body of every error answer."""
    body = {"reason": reason, "detail": detail}
    if path:
        body["path"] = path
    return {"error": body}


TAXII_PREFIX = "/taxii2/"
TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"


def taxii_error(
    status: int, reason: str, detail: str, path: str, headers: dict[str, str] | None = None
) -> web.Response:
    """An error as TAXII 2.1 §3.6.1 writes it, with Baliza's reason code as ``error_code``.

    A 401 names both ways in (RFC 9110 §11.6.1): MISP and OpenCTI send Basic.
    """
    body: dict[str, str] = {
        "title": reason,
        "description": f"{path}: {detail}" if path else detail,
        "error_code": reason,
        "http_status": str(status),
    }
    extra = dict(headers or {})
    if status == 401:
        extra["WWW-Authenticate"] = 'Bearer realm="baliza", Basic realm="baliza"'
    return taxii_json(body, status=status, headers=extra)


def taxii_json(
    body: object, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A TAXII 2.1 answer: JSON under TAXII's media type (its ``version`` parameter included)."""
    extra = dict(headers or {}) | {"Content-Type": TAXII_MEDIA_TYPE}
    return web.Response(body=json.dumps(body).encode(), status=status, headers=extra)


def _count_refused(request: web.Request, reason: str) -> None:
    """Count an error answer by reason: a surge of ``unauthenticated`` is worth an alert."""
    ctx = request.config_dict.get(NODE)
    if ctx is not None:
        ctx.count_labelled(REQUESTS_REFUSED, (("reason", reason),))


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every failure into a JSON error with a reason code."""
    try:
        return await handler(request)
    except BalizaError as err:
        status = http_status(err)
        _count_refused(request, err.reason.value)
        if status >= 500:
            log.error("%s %s failed: %s", request.method, request.path, err)
        if request.path.startswith(TAXII_PREFIX):
            return taxii_error(status, err.reason.value, err.detail, err.path)
        return web.json_response(error_body(err.reason.value, err.detail, err.path), status=status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        reason = {
            401: "unauthenticated",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "too_large",
            415: "unsupported_media",
        }.get(exc.status, "http_error")
        _count_refused(request, reason)
        # 405 names the methods allowed (RFC 9110); other headers stay out.
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        if request.path.startswith(TAXII_PREFIX):
            return taxii_error(exc.status, reason, exc.reason, "", allow)
        return web.json_response(error_body(reason, exc.reason), status=exc.status, headers=allow)
    except ConnectionError as exc:
        # The client went away mid-request (mid-body, mid-answer): nobody to
        # answer, nothing wrong here. One line, so strangers cannot flood the log.
        log.info("%s %s: client gone (%s)", request.method, request.path, type(exc).__name__)
        return web.Response(status=400)
    except Exception:
        log.exception("%s %s: internal error", request.method, request.path)
        return web.json_response(
            error_body("internal", "internal error; see the node log"), status=500
        )
