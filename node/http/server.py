"""The listening socket and its guards against slow, stuck and noisy clients.

aiohttp keeps a connection that has not completed a request's headers until
its keep-alive timer fires, never times out a body, accepts any number of
connections and logs every malformed request with a traceback. Here:

- ``keepalive_timeout`` is the header deadline: aiohttp arms it when a
  connection opens and after each answer, and closes the connection if no
  complete request head has arrived by then (nothing sent, or a header line
  at a time). Bodies get their own deadline in ``read_body``.
- ``NodeSite`` listens with a connection cap: past ``max_connections`` a new
  connection is closed at once, before any byte is parsed.
- ``QuietServerLog`` turns a malformed request or a client that went away
  into one INFO line: strangers cannot fill the log, or hide in it.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import MutableMapping
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from baliza.node.core.config import NodeConfig
from baliza.protocol.errors import InputError, ReasonCode

log = logging.getLogger(__name__)
_server_log = logging.getLogger("aiohttp.server")

# After a refused request, how long to drain what the client is still sending
# before closing; the default (10 s) would hand a slow client that much more.
LINGER_S = 1.0


class QuietServerLog(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's server logger, with client faults as INFO lines without traceback."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        return msg, kwargs

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kw: Any) -> None:
        error = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1]
        if isinstance(error, HttpProcessingError | ConnectionError):
            self.info("%s: %s", str(msg) % args if args else msg, _one_line(error))
            return
        self.error(msg, *args, exc_info=exc_info, **kw)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:200]}"


def runner_options(config: NodeConfig) -> dict[str, Any]:
    """Keyword arguments of the node's ``AppRunner`` (passed on to each connection)."""
    return {
        "access_log": None,
        "keepalive_timeout": config.header_timeout_ms / 1000,
        "lingering_time": LINGER_S,
        "logger": QuietServerLog(_server_log, {}),
    }


def node_runner(app: web.Application, config: NodeConfig) -> web.AppRunner:
    """The runner ``baliza serve`` and the tests use, with the guards above."""
    return web.AppRunner(app, **runner_options(config))


class _Refused(asyncio.Protocol):
    """A connection over the cap: closed as soon as it is accepted."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


class NodeSite(web.BaseSite):
    """A TCP listener that accepts at most ``max_connections`` connections at once."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, max_connections: int) -> None:
        super().__init__(runner, backlog=min(max_connections, 1024))
        self._host = host
        self._port = port
        self._max_connections = max_connections
        self.refused = 0

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    def bound(self) -> list[str]:
        """The URLs of the sockets actually listening (the port the system chose for port 0)."""
        if not isinstance(self._server, asyncio.Server):
            return []
        urls = []
        for sock in self._server.sockets:
            host, port = sock.getsockname()[:2]
            urls.append(f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}")
        return urls

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None, "the runner is set up before its site starts"

        def accept() -> asyncio.BaseProtocol:
            if len(server.connections) >= self._max_connections:
                self.refused += 1
                if self.refused == 1 or self.refused % 1000 == 0:
                    log.warning("connection cap reached: %d refused so far", self.refused)
                return _Refused()
            return server()

        self._server = await asyncio.get_running_loop().create_server(
            accept, self._host, self._port, backlog=self._backlog
        )


async def read_body(request: web.Request, config: NodeConfig) -> bytes:
    """The request body, within ``client_max_size`` and the body deadline."""
    try:
        async with asyncio.timeout(config.body_timeout_ms / 1000):
            return await request.read()
    except TimeoutError:
        raise InputError(ReasonCode.TIMEOUT, "the body did not arrive in time") from None
