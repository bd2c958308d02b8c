"""Statements, units of work and thread trips per notice, counted in a real node.

The node runs in this process (the counters are SQLAlchemy event hooks and
wrappers installed here, never in production code), on SQLite, with one live
follower connected, so the count includes what an announcement and the
follower's stream cost. Ingest: single-envelope pushes, one at a time (no
group commit can merge them). Publish: one notice to one recipient at a time.

What is counted:
- statements: every statement sent to the database (SQLAlchemy's
  ``before_cursor_execute``), ``BEGIN`` excluded;
- transactions: units of work (``Database.run``), each one transaction;
- thread trips: one per unit of work on SQLite (the whole unit runs on a
  database thread, statements and commit included).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import event

from baliza.crypto import AgencyKeys
from baliza.node.cli.client import ApiClient
from baliza.node.core.clock import now_ms
from baliza.node.core.config import NodeConfig
from baliza.node.core.trust import Keyring, Peer
from baliza.node.http.app import build_app
from baliza.node.http.appkeys import NODE
from baliza.node.services.directory_sync import apply_directory
from baliza.node.services.fedclient import new_session, push_batch
from baliza.node.services.tokens import issue_token
from baliza.node.storage import Database
from baliza.protocol.federation import Outcome

DEBUG = False


@dataclass
class Counts:
    """Running totals while a measured section runs."""

    statements: int = 0
    units: int = 0
    measuring: bool = False

    @property
    def transactions(self) -> int:
        return self.units

    @property
    def trips(self) -> int:
        return self.units


@dataclass(frozen=True)
class PerNotice:
    """Per-notice figures of one path."""

    statements: float
    transactions: float
    trips: float


@contextlib.contextmanager
def counting(db: Database) -> Any:
    """Count statements and units of work of ``db`` while the block runs."""
    counts = Counts()

    def on_statement(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not counts.measuring or statement.lstrip().upper().startswith("BEGIN"):
            return
        counts.statements += 1
        if DEBUG:
            print(statement[:100].replace("\n", " "))

    original_run: Callable[..., Any] = db.run

    async def run(work: Any, *, write: bool) -> Any:
        if counts.measuring:
            counts.units += 1
        return await original_run(work, write=write)

    for engine in db.engines:
        event.listen(engine, "before_cursor_execute", on_statement)
    db.run = run  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        for engine in db.engines:
            event.remove(engine, "before_cursor_execute", on_statement)
        del db.run


async def _measure(
    receiver: NodeConfig,
    receiver_keys: AgencyKeys,
    directory: tuple[bytes, str] | None,
    sender_keys: AgencyKeys,
    sender_peer: Peer,
    receiver_peer: Peer,
    raws: list[bytes],
    publish_body: dict[str, Any],
    publishes: int,
) -> tuple[PerNotice, PerNotice]:
    del sender_peer  # the receiver knows the sender from the directory
    runner = web.AppRunner(build_app(receiver, Keyring([receiver_keys])), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, receiver.host, receiver.port).start()
    try:
        ctx = runner.app[NODE]
        if directory is not None and ctx.trust.directory is None:
            signed, fingerprint = directory
            await apply_directory(ctx, signed, actor="bench", fingerprint=fingerprint)
        token = await issue_token(ctx.db, "bench", "publisher", now_ms())
        follower = ApiClient(receiver.url, token)
        seen: list[str] = []
        follow = asyncio.create_task(
            follower.follow({"after": "0"}, lambda item: seen.append(str(item["id"])))
        )
        for _ in range(200):  # bounded: the stream opens within seconds
            if ctx.live.followers:
                break
            await asyncio.sleep(0.05)
        with counting(ctx.db) as counts:
            async with new_session() as session:
                # One warm-up push, not counted (first-use caches, pool connections).
                await push_batch(session, sender_keys, receiver_peer, raws[:1])
                counts.measuring = True
                for raw in raws[1:]:
                    (result,) = await push_batch(session, sender_keys, receiver_peer, [raw])
                    if result.outcome is not Outcome.ACCEPTED:
                        raise RuntimeError(f"push refused: {result}")
                counts.measuring = False
            n = len(raws) - 1
            ingest = PerNotice(counts.statements / n, counts.transactions / n, counts.trips / n)
        with counting(ctx.db) as counts:
            headers = {"Authorization": f"Bearer {token}"}
            async with aiohttp.ClientSession(headers=headers) as http:
                for i in range(publishes + 1):
                    counts.measuring = i > 0  # the first one warms up
                    async with http.post(
                        receiver.url + "/api/v1/notices", json=publish_body
                    ) as resp:
                        if resp.status != 201:
                            raise RuntimeError(f"publish refused: {await resp.text()}")
                counts.measuring = False
            publish = PerNotice(
                counts.statements / publishes,
                counts.transactions / publishes,
                counts.trips / publishes,
            )
        follow.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await follow
        return ingest, publish
    finally:
        await runner.cleanup()


def measure(
    receiver: NodeConfig,
    receiver_keys: AgencyKeys,
    directory: tuple[bytes, str] | None,
    sender_keys: AgencyKeys,
    sender_peer: Peer,
    receiver_peer: Peer,
    raws: list[bytes],
    publish_body: dict[str, Any],
    publishes: int = 20,
) -> tuple[PerNotice, PerNotice]:
    """(ingest, publish) figures per notice for a fresh receiver node."""
    return asyncio.run(
        _measure(
            receiver,
            receiver_keys,
            directory,
            sender_keys,
            sender_peer,
            receiver_peer,
            raws,
            publish_body,
            publishes,
        )
    )
