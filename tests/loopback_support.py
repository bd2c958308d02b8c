"""Loopback plumbing every suite shares: ports nobody else takes, and waiting with a deadline.

Ports. The old way (bind port 0, read the number, close, let the server bind
it later) races: between the close and the server's bind, any other process
on the machine (four engineers run suites at once here) may be handed the
same number by the kernel, and so may an outgoing connection of this very
process (a client socket to PostgreSQL or to a peer takes a local port from
the same ephemeral range). A node that is stopped and started again on its
port, as the delivery tests do, widens the window to seconds.

``free_port`` removes both: it hands out ports from a range *below* the
kernel's ephemeral range (Linux: 32768-60999), so no outgoing connection
and no ``bind(0)`` ever lands there, and it splits that range into blocks
that a process claims with an ``flock`` on a file under the temporary
folder, so two test processes (pytest-xdist workers, other checkouts) never
hand out the same port. The kernel drops the lock when the process ends, so
a killed run leaves nothing to clean up. Each port is also checked to be
free when handed out, in case something outside this scheme listens there.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import socket
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO

import pytest

# Below Linux's default ephemeral range (ip_local_port_range 32768-60999).
PORT_LOW = 20_000
PORT_HIGH = 32_000
BLOCK = 100
LOCK_DIR = Path(tempfile.gettempdir()) / "baliza-test-ports"


class _PortBlocks:
    """The blocks of ports this process holds, and the next port to hand out."""

    def __init__(self) -> None:
        self._held: list[tuple[int, IO[str]]] = []  # block start, its locked file
        self._next: int | None = None
        self._end = 0
        self._reuse = 0  # when every block is taken: cycle through our own again

    def port(self) -> int:
        while True:
            if self._next is None or self._next >= self._end:
                start = self._claim()
                self._next, self._end = start, start + BLOCK
            port = self._next
            self._next += 1
            if _bindable(port):
                return port

    def _claim(self) -> int:
        LOCK_DIR.mkdir(exist_ok=True)
        starts = range(PORT_LOW, PORT_HIGH - BLOCK + 1, BLOCK)
        # Start the search at a place that depends on the process, so that
        # concurrent sessions do not all contend for the first free block.
        offset = os.getpid() % len(starts)
        held = {start for start, _ in self._held}
        order: list[int] = [*starts[offset:], *starts[:offset]]
        for start in order:
            if start in held:
                continue
            handle = (LOCK_DIR / f"{start}.lock").open("a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            self._held.append((start, handle))
            return start
        if not self._held:
            raise RuntimeError(f"every block of test ports in {LOCK_DIR} is held by another run")
        # All blocks are taken: reuse ours; the nodes of finished tests are long stopped.
        start = self._held[self._reuse % len(self._held)][0]
        self._reuse += 1
        return start


def _bindable(port: int) -> bool:
    """Whether a listener could bind ``port`` now (as asyncio's servers do, SO_REUSEADDR)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


_BLOCKS = _PortBlocks()


def free_port() -> int:
    """A loopback port that no other test process and no outgoing connection will take.

    It stays this process's for the rest of the session, so a node may stop
    and start again on it.
    """
    return _BLOCKS.port()


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive free ports (for configurations that count up)."""
    while True:
        first = free_port()
        rest = [free_port() for _ in range(count - 1)]
        if rest == list(range(first + 1, first + count)):
            return first


async def wait_for(
    predicate: Callable[[], Awaitable[bool]],
    limit_s: float = 20.0,
    *,
    what: str = "",
    interval_s: float = 0.05,
) -> None:
    """Poll an async predicate until it is true; fail the test when ``limit_s`` passes.

    The failure names what was awaited: ``what`` if given, else the predicate's name.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while not await predicate():
        if loop.time() > deadline:
            name = what or getattr(predicate, "__qualname__", repr(predicate))
            pytest.fail(f"not reached within {limit_s:g} s: {name}")
        await asyncio.sleep(interval_s)
