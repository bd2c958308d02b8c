"""The cross-worker listener, with its database unreachable, warns once, not every second.

A node on PostgreSQL keeps one connection listening for the other workers'
signals and reconnects every second when it drops. With the database down it
used to log a WARNING at every attempt: one line a second, even for a node
with a single worker, burying every other line.
"""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest

from baliza.node.core.notify import Listener


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port  # closed again when the socket is


async def test_an_unreachable_database_is_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    url = f"postgresql+asyncpg://baliza@127.0.0.1:{closed_port()}/baliza"
    listener = Listener(url, {}, lambda: None, reconnect_s=0.001)
    with caplog.at_level(logging.WARNING, logger="baliza.node.core.notify"):
        await listener.start()
        try:
            for _ in range(5000):  # bounded: until many attempts have failed
                if listener.failed_attempts >= 30:
                    break
                await asyncio.sleep(0.001)
        finally:
            await listener.stop()
    assert listener.failed_attempts >= 30
    lines = [r.getMessage() for r in caplog.records if r.name == "baliza.node.core.notify"]
    assert len(lines) == 1, lines
    assert lines[0].startswith("cannot listen for other workers (attempt 1;")
