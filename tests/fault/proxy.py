"""A TCP proxy the fault tests control, placed between nodes through the directory.

Each node's URL in the federation directory is the URL of its proxy, so every
request any peer sends to that node (pushes, pulls, directory gossip) passes
through it. The proxy understands just enough HTTP/1.1 to find where each
request and each answer ends (``Content-Length``), which lets a test decide
per request: forward it, drop it (a partition: the connection is reset before
anything reaches the node), delay it, cut it part-way through the request or
the answer (a clean close), reset it part-way (a TCP RST), or swallow it
without a word until the test resets the link (a silent partition). It can also
hand every complete exchange to an observer, which is how the history learns
each answer a receiver gave, including answers its sender never saw.

Requests name their origin node in a signed header, so a rule can cut one
link (origin → this node) and leave the others up.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

ORIGIN_HEADER = b"baliza-origin"


class Fault(Enum):
    """What the proxy does to one request."""

    FORWARD = "forward"
    DROP = "drop"  # reset before the node sees anything
    BLACKHOLE = "blackhole"  # swallowed: no answer until the link is reset
    DELAY = "delay"  # forward after a pause
    CUT_REQUEST = "cut_request"  # part of the request reaches the node, then a clean close
    RESET_REQUEST = "reset_request"  # part of the request, then a TCP reset
    CUT_RESPONSE = "cut_response"  # the node answers in full; the caller gets part of it
    RESET_RESPONSE = "reset_response"  # likewise, ended by a TCP reset


@dataclass(frozen=True, slots=True)
class Action:
    """A fault and where it strikes: ``at`` is the fraction of the message sent first."""

    fault: Fault = Fault.FORWARD
    at: float = 0.5
    delay_s: float = 0.0


FORWARD = Action()


@dataclass(frozen=True, slots=True)
class Message:
    """One HTTP/1.1 message as it crossed the proxy."""

    head: bytes
    body: bytes

    @property
    def raw(self) -> bytes:
        return self.head + self.body

    @property
    def first_line(self) -> str:
        return self.head.split(b"\r\n", 1)[0].decode("latin-1")

    def header(self, name: bytes) -> str | None:
        for line in self.head.split(b"\r\n")[1:]:
            key, sep, value = line.partition(b":")
            if sep and key.strip().lower() == name:
                return value.strip().decode("latin-1")
        return None

    @property
    def origin(self) -> str:
        """The node that sent this request (empty for clients that are not nodes)."""
        return self.header(ORIGIN_HEADER) or ""

    @property
    def path(self) -> str:
        parts = self.first_line.split(" ")
        return parts[1] if len(parts) > 1 else ""

    @property
    def status(self) -> int:
        parts = self.first_line.split(" ")
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


Chooser = Callable[[Message], Action]
Observer = Callable[[Message, Message], None]


async def _read_message(reader: asyncio.StreamReader) -> Message | None:
    """Read one message framed by Content-Length; None when the peer closed first."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    message = Message(head, b"")
    if (message.header(b"transfer-encoding") or "").lower() == "chunked":
        raise ConnectionError("chunked bodies are not proxied (federation answers have a length)")
    length = int(message.header(b"content-length") or "0")
    body = await reader.readexactly(length) if length else b""
    return Message(head, body)


def _close(writer: asyncio.StreamWriter, *, reset: bool) -> None:
    """Close a connection: a clean FIN, or an abortive RST (SO_LINGER of zero)."""
    if reset:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
    else:
        writer.close()


def _part(data: bytes, at: float) -> bytes:
    """A strict, non-empty prefix of ``data`` (of one byte at least)."""
    cut = min(max(1, int(len(data) * at)), max(1, len(data) - 1))
    return data[:cut]


class FaultProxy:
    """Listens on a loopback port and forwards to ``upstream_port``, applying faults."""

    def __init__(self, upstream_port: int, *, name: str = "") -> None:
        self.name = name
        self.upstream_port = upstream_port
        self.port = 0
        self.choose: Chooser = lambda _: FORWARD
        self.observers: list[Observer] = []
        self.applied: Counter[Fault] = Counter()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._held: set[asyncio.Future[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, port: int = 0) -> None:
        """Listen (on ``port``, or a free one the first time)."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port or self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening and reset every open connection."""
        if self._server is not None:
            self._server.close()
        self.reset_all()
        # Python 3.11's wait_closed does not wait for the connection handlers.
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def reset_all(self) -> None:
        """Reset every connection in flight (a link flapping, or the end of a partition)."""
        for held in self._held:
            if not held.done():
                held.set_result(None)
        self._held.clear()
        for writer in list(self._writers):
            _close(writer, reset=True)
        self._writers.clear()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)
        self._writers.add(client_w)
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                request = await _read_message(client_r)
                if request is None:
                    return
                action = self.choose(request)
                self.applied[action.fault] += 1
                if action.fault is Fault.DROP:
                    _close(client_w, reset=True)
                    return
                if action.fault is Fault.BLACKHOLE:
                    held: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                    self._held.add(held)
                    await held  # until reset_all: the caller hears nothing meanwhile
                    _close(client_w, reset=True)
                    return
                if action.delay_s:
                    await asyncio.sleep(action.delay_s)
                if upstream is None:
                    upstream = await asyncio.open_connection("127.0.0.1", self.upstream_port)
                    self._writers.add(upstream[1])
                up_r, up_w = upstream
                if action.fault in (Fault.CUT_REQUEST, Fault.RESET_REQUEST):
                    up_w.write(_part(request.raw, action.at))
                    await up_w.drain()
                    reset = action.fault is Fault.RESET_REQUEST
                    _close(up_w, reset=reset)
                    _close(client_w, reset=reset)
                    return
                up_w.write(request.raw)
                await up_w.drain()
                response = await _read_message(up_r)
                if response is None:
                    return
                for observe in self.observers:
                    observe(request, response)
                if action.fault in (Fault.CUT_RESPONSE, Fault.RESET_RESPONSE):
                    client_w.write(_part(response.raw, action.at))
                    await client_w.drain()
                    _close(client_w, reset=action.fault is Fault.RESET_RESPONSE)
                    return
                client_w.write(response.raw)
                await client_w.drain()
        except (ConnectionError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # either side went away: so does the other
        finally:
            for writer in (client_w, upstream[1] if upstream else None):
                if writer is not None:
                    self._writers.discard(writer)
                    if not writer.is_closing():
                        writer.close()
