"""Federation messages that must arrive: queued with the change they announce, sent until they do.

A subscription request, a publisher's decision, a pause, a share permission
and its answer each change state on two nodes. The change here and the
message that tells the other side are written in one unit of work (the
change's unit calls ``sql.messages.add``); the message is then sent at once
(``flush``), and if the peer cannot be reached the courier
(``MessageCourier``) tries again with the delivery back-off until it can,
oldest first per destination so a pause and a resume arrive in that order.
A peer that refuses a message (4xx) has the refusal kept with its reason;
``409 conflict`` means the peer already holds what the message says (an
earlier attempt arrived, its answer did not).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from functools import partial

import aiohttp

from baliza.node.core.backoff import retry_delay_ms
from baliza.node.core.clock import now_ms
from baliza.node.services.context import NodeContext
from baliza.node.services.fedclient import post_message
from baliza.node.storage.messages import REFUSED, SENT, QueuedMessage
from baliza.node.storage.sql import messages as message_rows
from baliza.protocol.errors import BalizaError, ReasonCode, TransportError

log = logging.getLogger(__name__)
IDLE_S = 30.0
_TRANSIENT_STATUS = ("HTTP 5", "HTTP 429", "HTTP 408")
# The courier's wake-up (``ctx.wakeup``); agency ids never contain a space.
WAKE = "federation messages"


async def pending(ctx: NodeContext, destination: str | None = None) -> list[QueuedMessage]:
    """Messages still to send (to ``destination``), oldest first (one read unit)."""
    return await ctx.db.run(partial(message_rows.pending, destination=destination), write=False)


def _transient(err: BalizaError) -> bool:
    if err.reason in (ReasonCode.PEER_UNREACHABLE, ReasonCode.TIMEOUT):
        return True
    # No usable key or address for the peer right now is also worth waiting out.
    return not isinstance(err, TransportError) or err.detail.startswith(_TRANSIENT_STATUS)


async def flush(ctx: NodeContext, http: aiohttp.ClientSession, destination: str) -> None:
    """Send ``destination``'s pending messages in order; stop at the first it cannot take now."""
    lock = ctx.locks.setdefault(f"messages to {destination}", asyncio.Lock())
    async with lock:
        for item in await pending(ctx, destination):
            if not await _send(ctx, http, item):
                return


async def _send(ctx: NodeContext, http: aiohttp.ClientSession, item: QueuedMessage) -> bool:
    now = now_ms()
    try:
        peer = ctx.trust.peer(item.destination, now)
        await post_message(http, ctx.signing_keys(), peer, item.path, item.body)
        state, error = SENT, None
    except BalizaError as err:
        if err.detail.startswith("HTTP 409"):
            state, error = SENT, None
        elif _transient(err):
            delay = retry_delay_ms(
                item.attempts + 1,
                base_ms=ctx.config.backoff_base_ms,
                cap_ms=ctx.config.backoff_cap_ms,
                draw=random.random(),
            )
            await ctx.db.run(
                partial(
                    message_rows.failed,
                    seq=item.seq,
                    next_attempt_ms=now + delay,
                    error=f"{err.reason.value}: {err}",
                ),
                write=True,
            )
            log.info("message %d to %s not sent yet: %s", item.seq, item.destination, err)
            ctx.wakeup(WAKE).set()  # the courier plans the retry
            return False
        else:
            state, error = REFUSED, f"{err.reason.value}: {err.detail}"
            log.warning(
                "%s refused message %d (%s): %s", item.destination, item.seq, item.path, err
            )
    await ctx.db.run(
        partial(message_rows.done, seq=item.seq, state=state, now_ms=now_ms(), error=error),
        write=True,
    )
    return True


async def send_now(
    ctx: NodeContext, http: aiohttp.ClientSession, destination: str, seq: int
) -> bool:
    """Flush ``destination`` and say whether message ``seq`` arrived.

    A refusal by the peer is raised (``PEER_REFUSED`` with its reason) so the
    person who made the change sees it; ``False`` means it is queued and the
    courier keeps trying.
    """
    await flush(ctx, http, destination)
    state, error = await ctx.db.run(partial(message_rows.outcome_of, seq=seq), write=False)
    if state == REFUSED:
        raise TransportError(ReasonCode.PEER_REFUSED, error or "refused")
    return state == SENT


class MessageCourier:
    """Retries every destination's pending messages when they come due."""

    def __init__(self, ctx: NodeContext, http: aiohttp.ClientSession) -> None:
        self._ctx = ctx
        self._http = http
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the retry loop."""
        self._task = asyncio.create_task(self._run(), name="federation messages")

    async def stop(self) -> None:
        """Stop the retry loop; what is pending stays queued for the next start."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        wake = self._ctx.wakeup(WAKE)
        while True:
            wait_s = IDLE_S
            try:
                waiting = await pending(self._ctx)
                now = now_ms()
                due = {m.destination for m in waiting if m.next_attempt_ms <= now}
                for destination in sorted(due):
                    await flush(self._ctx, self._http, destination)
                later = [m.next_attempt_ms for m in waiting if m.next_attempt_ms > now]
                if later:
                    wait_s = min(wait_s, max(0.01, (min(later) - now) / 1000))
            except BalizaError as err:
                log.warning("message courier: %s", err)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), wait_s)
            wake.clear()
