"""Shared parts of the hardening tests: three agencies, one node running, an attacker's tools.

Algeciras (``alg``) is the node under attack; Guayaquil (``gye``) and
Cartagena (``ctg``) are members with real keys whose nodes need not run: the
tests push to Algeciras with their keys, as their nodes (or an attacker
holding their keys) would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from loopback_support import wait_for as wait_for  # the hardening tests import it from here
from node_harness import Cluster, TestNode, introduce, make_node
from notice_json import seizure

from baliza.crypto import AgencyKeys, seal
from baliza.node.core.clock import new_envelope_id, now_ms
from baliza.node.services.fedclient import new_session, push_batch
from baliza.node.storage.notices import Direction, NoticeRecord
from baliza.node.storage.sql import notices as notice_rows
from baliza.protocol.envelope import Envelope
from baliza.protocol.handling import Handling, Tlp
from baliza.protocol.ids import EnvelopeId
from baliza.protocol.notices import Notice, notice_from_json

AGENCIES = ("ec.polnac.gye", "es.aduanas.alg", "co.polfa.ctg")


def three_nodes(tmp_path: Path, **settings: Any) -> tuple[TestNode, TestNode, TestNode]:
    """Guayaquil, Algeciras and Cartagena in one federation, none started."""
    nodes = [
        make_node(tmp_path, a, f"sqlite+aiosqlite:///{tmp_path / a}.db", **settings)
        for a in AGENCIES
    ]
    introduce(*nodes)
    return nodes[0], nodes[1], nodes[2]


async def three_members(cluster: Cluster, **settings: Any) -> tuple[TestNode, TestNode, TestNode]:
    """``three_nodes`` on databases migrated from the template (the cluster stops them)."""
    gye, alg, ctg = await cluster(AGENCIES, start=False, **settings)
    return gye, alg, ctg


def sealed(
    sender: AgencyKeys,
    to: list[AgencyKeys],
    *,
    notice: Notice | None = None,
    created_ms: int | None = None,
    envelope_id: EnvelopeId | None = None,
) -> Envelope:
    """An envelope ``sender`` signs and seals to ``to`` (a seizure unless ``notice``)."""
    return seal(
        notice if notice is not None else notice_from_json(seizure(sender.agency)),
        sender=sender,
        recipients=[k.public() for k in to],
        handling=Handling(tlp=Tlp.AMBER),
        envelope_id=envelope_id or new_envelope_id(),
        created_ms=created_ms if created_ms is not None else now_ms(),
    )


def tampered(envelope: Envelope) -> bytes:
    """The envelope's bytes with one bit of a signature flipped."""
    raw = bytearray(envelope.raw)
    raw[-40] ^= 0x01
    return bytes(raw)


async def push(
    sender: TestNode, receiver: TestNode, envelopes: list[bytes]
) -> list[tuple[str, str | None]]:
    """Push ``envelopes`` signed as ``sender``'s node; (outcome, reason) for each."""
    async with new_session() as session:
        results = await push_batch(session, sender.keys, receiver.peer, envelopes)
    return [(r.outcome.value, r.reason) for r in results]


async def call(
    node: TestNode, method: str, path: str, *, role: str | None = "admin", **kwargs: Any
) -> tuple[int, Any]:
    """One API call with a token of ``role``: (status, JSON body or raw bytes)."""
    headers = {"Authorization": f"Bearer {node.tokens[role]}"} if role else {}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, node.url + path, headers=headers, **kwargs) as resp,
    ):
        if resp.content_type == "application/json":
            return resp.status, await resp.json()
        return resp.status, await resp.read()


def reason(answer: Any) -> str:
    """The reason code of an error answer."""
    return str(answer["error"]["reason"])


@asynccontextmanager
async def serving(app: web.Application, port: int) -> AsyncIterator[None]:
    """Run a plain aiohttp application on a loopback port for the block's duration."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield
    finally:
        await runner.cleanup()


async def stored_notices(node: TestNode, count: int, summary_bytes: int = 200) -> None:
    """Store ``count`` received notices directly (a backlog for stream replays)."""
    records = [
        NoticeRecord(
            envelope_id=new_envelope_id(),
            direction=Direction.IN,
            kind="notice.seizure",
            sender=AGENCIES[0],
            created_ms=now_ms(),
            stored_ms=now_ms(),
            tlp="amber",
            summary="x" * summary_bytes,
            search_text="x",
            notice_json="{}",
        )
        for _ in range(count)
    ]
    await node.ctx.db.run(partial(notice_rows.insert_notices, records=records), write=True)


class RawClient:
    """A TCP client that speaks HTTP only as much as an attacker wants to."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, node: TestNode, *, receive_buffer: int | None = None) -> RawClient:
        """Connect to ``node``; a small ``receive_buffer`` makes a reader that barely reads."""
        sock = socket.socket()
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", node.config.port))
        reader, writer = await asyncio.open_connection(sock=sock)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def closed_by_server(self, limit_s: float = 20.0) -> bool:
        """Whether the server closes the connection (EOF or reset) within ``limit_s``."""
        try:
            async with asyncio.timeout(limit_s):
                while await self.reader.read(65536):
                    pass
        except TimeoutError:
            return False
        except ConnectionError:
            pass
        finally:
            self.writer.close()
        return True

    async def answer(self, limit_s: float = 20.0) -> bytes:
        """Everything the server sends until it closes (bounded by ``limit_s``)."""
        chunks = []
        with contextlib.suppress(TimeoutError, ConnectionError):
            async with asyncio.timeout(limit_s):
                while chunk := await self.reader.read(65536):
                    chunks.append(chunk)
        self.writer.close()
        return b"".join(chunks)

    def abort(self) -> None:
        """Drop the connection at once (a reset, as a crashed client would)."""
        self.writer.transport.abort()
        self.writer.close()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


def tracebacks(records: list[logging.LogRecord]) -> list[str]:
    """The log records carrying a traceback or at ERROR and above."""
    return [
        f"{r.name}: {r.getMessage()}" for r in records if r.exc_info or r.levelno >= logging.ERROR
    ]
