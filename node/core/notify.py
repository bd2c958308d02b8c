"""Signals between worker processes that share one PostgreSQL database.

Several ``baliza serve`` workers of one agency share a database, but each has
its own couriers and its own live followers. A worker that queues envelopes
for a peer must be able to wake the other workers' couriers (one of them may
be idle while this one is busy, or this one may die), and a notice stored by
one worker must reach the followers connected to every worker.

PostgreSQL's ``LISTEN``/``NOTIFY`` does both. Signals are sent *inside* the
transaction that stores what they announce (``signal``): PostgreSQL delivers
them when, and only if, it commits, so a worker killed right after its commit
has still told the others, and none hears of data it cannot read yet. Every
worker, the sender included, receives them on one dedicated connection
(``Listener``). On SQLite there is one process and ``signal`` does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence

import asyncpg
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

# Channel names; the payload of each is described where it is sent.
OUTBOX_CHANNEL = "baliza_outbox"
LIVE_CHANNEL = "baliza_live"
DIRECTORY_CHANNEL = "baliza_directory"
# Local blocks changed (payload: the agencies); every worker reads them again.
BLOCKS_CHANNEL = "baliza_blocks"
# PostgreSQL refuses payloads of 8000 bytes or more; stay well below.
MAX_PAYLOAD = 7000
RECONNECT_S = 1.0
# While the database stays unreachable the listener retries every second;
# it says so once, then at most this often (a line a second drowns the log).
WARN_EVERY_S = 60.0

Handler = Callable[[str], None]


def chunks(words: Iterable[str], limit: int = MAX_PAYLOAD) -> list[str]:
    """Comma-joined groups of ``words``, each within ``limit`` characters."""
    out: list[str] = []
    current: list[str] = []
    size = 0
    for word in words:
        if current and size + len(word) + 1 > limit:
            out.append(",".join(current))
            current, size = [], 0
        current.append(word)
        size += len(word) + 1
    if current:
        out.append(",".join(current))
    return out


_NOTIFY = text("SELECT pg_notify(:channel, :payload)")


def signal_in(connection: Connection, channel: str, words: Iterable[str]) -> None:
    """``signal`` inside a unit of work (``Database.run``): sent when it commits."""
    if connection.dialect.name != "postgresql":
        return
    payloads = chunks(dict.fromkeys(words))
    if payloads:
        connection.execute(_NOTIFY, [{"channel": channel, "payload": p} for p in payloads])


class Listener:
    """One connection that listens on channels and calls a handler per signal.

    If the connection drops, it reconnects and calls ``on_reconnect``: signals
    sent meanwhile are lost, so whoever listens re-checks what they announce.
    """

    def __init__(
        self,
        database_url: str,
        handlers: dict[str, Handler],
        on_reconnect: Callable[[], None],
        *,
        reconnect_s: float = RECONNECT_S,
    ) -> None:
        self._url = make_url(database_url)
        self._handlers = handlers
        self._on_reconnect = on_reconnect
        self._reconnect_s = reconnect_s
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        #: Connection attempts that failed since the listener last listened.
        self.failed_attempts = 0

    async def start(self) -> None:
        """Connect and listen; return once listening (or after the first failure)."""
        self._task = asyncio.create_task(self._run(), name="listener")
        await self._ready.wait()

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        attempts = 0
        warned_at = -WARN_EVERY_S
        while True:
            error = await self._listen_once(reconnected=attempts > 0)
            attempts += 1
            if error is not None:
                self.failed_attempts += 1
                now = asyncio.get_running_loop().time()
                if self.failed_attempts == 1 or now - warned_at >= WARN_EVERY_S:
                    warned_at = now
                    log.warning(
                        "cannot listen for other workers (attempt %d; retrying every"
                        " %g s, this line at most every %d s): %s",
                        self.failed_attempts,
                        self._reconnect_s,
                        WARN_EVERY_S,
                        error,
                    )
            await asyncio.sleep(self._reconnect_s)

    async def _listen_once(self, *, reconnected: bool) -> str | None:
        """Connect, listen until the connection is lost, close it; why it could not, if so."""
        try:
            connection = await asyncpg.connect(
                host=self._url.host,
                port=self._url.port,
                user=self._url.username,
                password=self._url.password,
                database=self._url.database,
            )
        except (OSError, asyncpg.PostgresError) as err:
            self._ready.set()
            return str(err) or type(err).__name__
        lost = asyncio.Event()
        try:
            connection.add_termination_listener(lambda _c: lost.set())
            for channel in self._handlers:
                await connection.add_listener(channel, self._dispatch)
            self._ready.set()
            if self.failed_attempts:
                log.warning(
                    "listening for other workers again after %d failed attempts",
                    self.failed_attempts,
                )
                self.failed_attempts = 0
            if reconnected:
                self._on_reconnect()
            await lost.wait()
            log.warning("listening connection lost; reconnecting")
        except (OSError, asyncpg.PostgresError) as err:
            log.warning("listening for other workers failed: %s", err)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(connection.close(timeout=2))
        return None

    def _dispatch(self, _connection: object, _pid: int, channel: str, payload: object) -> None:
        handler = self._handlers.get(channel)
        if handler is None or not isinstance(payload, str):
            return
        try:
            handler(payload)
        except Exception:  # a handler bug must not end the listener
            log.exception("handling a %s signal failed", channel)


def live_payload(stored: Sequence[tuple[str, str]]) -> list[str]:
    """The cross-worker signal's items: ``sender/envelope-id`` (ids are unique per sender)."""
    return [f"{sender}/{eid}" for sender, eid in stored]


def from_live_payload(items: list[str]) -> list[tuple[str, str]]:
    """The (sender, envelope id) pairs of a cross-worker signal."""
    return [(sender, eid) for sender, _, eid in (item.partition("/") for item in items)]
