"""The node's logs: text for people, JSON lines for log shippers, a request id in both.

Each HTTP request gets an id (the proxy's ``X-Request-Id`` when it sends a
sane one, else a new one), kept in a context variable, so every line logged
while serving that request carries it, and the answer's ``X-Request-Id``
header lets an operator find them. What is logged is the message the code
wrote and a few named fields (method, path, status, duration); never request
bodies, query strings (search terms are notice content) or headers (tokens).
"""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from baliza.node.core.config import NodeConfig

REQUEST_ID: ContextVar[str] = ContextVar("baliza_request_id", default="")
# Fields a log call may add with ``extra=``; anything else is not written.
FIELDS = (
    "method",
    "path",
    "status",
    "duration_ms",
    "client",
    "peer",
    "reason",
    # Delivery (services/delivery.py): the peer's own reason code for a
    # refusal, the envelopes concerned, which attempt, when the next is due.
    "peer_reason",
    "envelope_id",
    "envelopes",
    "attempt",
    "next_retry_ms",
    "clock_skew_suspected",
    # Console sign-in by account (services/person_sign_in.py): the login typed
    # and why it was refused (``wrong_password``, ``replayed_code`` …).
    "login",
    "cause",
)


def new_request_id() -> str:
    """A fresh request id, for work this node starts itself (a courier's round)."""
    return uuid.uuid4().hex


def current_request_id() -> str:
    """The id of the request being served, or a fresh one outside any request.

    Federation calls carry it to the peer (``X-Request-Id``), whose request
    log records it, so one id finds the lines on both nodes.
    """
    return REQUEST_ID.get() or new_request_id()


class RequestIdFilter(logging.Filter):
    """Stamp each record with the current request id (empty outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, agency, request id, message, fields."""

    def __init__(self, agency: str) -> None:
        super().__init__()
        self._agency = agency

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "agency": self._agency,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", "")
        if request_id:
            entry["request_id"] = request_id
        for name in FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(config: NodeConfig, log_format: str | None, *, verbose: bool) -> None:
    """Send the node's logs to stderr in the chosen format (``--log-format`` over the setting)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if (log_format or config.log_format) == "json":
        handler.setFormatter(JsonFormatter(config.agency))
    else:
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(levelname)s " + config.agency + " %(name)s: %(message)s"
            )
        )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    # Alembic says "Context impl SQLiteImpl." and "Will assume non-transactional
    # DDL." at INFO each time the node checks its schema: noise, not news.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def announcer(config: NodeConfig, log_format: str | None) -> Callable[[str], None]:
    """How ``serve`` says where it listens and that it stopped, whatever ``-v``.

    In the log's own format: with JSON logs it is one more JSON line on
    stderr (a log shipper reading the stream finds nothing else), with text
    logs a plain line on stdout, for the person who started it.
    """
    if (log_format or config.log_format) != "json":
        return lambda message: print(message, flush=True)
    formatter = JsonFormatter(config.agency)

    def say(message: str) -> None:
        record = logging.LogRecord("baliza.serve", logging.INFO, __file__, 0, message, None, None)
        print(formatter.format(record), file=sys.stderr, flush=True)

    return say
