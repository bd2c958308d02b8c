"""The outbox's units of work: a courier's rounds, pull cursors, and what others read of it.

A courier round is at most two units. ``take_round`` reads where delivery to
a destination stands (backoff, a local block or pause) and takes the next
batch; after the push, ``finish_round`` records the answers and, while rows
remain or more were queued meanwhile, takes the next batch in the same unit,
so a courier under load spends one unit (three statements on SQLite) per
batch. On SQLite one node process owns the database and a round only reads
until it has answers to record; on PostgreSQL a round leases the rows it
takes (``sql/leases.py``), since other workers share the outbox.

The functions taking a ``Connection`` are units (or parts of them) for
``Database.run``; the async ones are the service calls other modules use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import Connection

from baliza.node.services.rules.peer_standing import refusal_note
from baliza.node.storage import Database
from baliza.node.storage.delivery import Destination, OutboxItem, PendingDelivery
from baliza.node.storage.leases import Lease
from baliza.node.storage.sql import delivery as outbox_rows
from baliza.node.storage.sql import leases as lease_rows
from baliza.node.storage.sql import trust as trust_rows
from baliza.node.storage.sql.delivery import Standing
from baliza.node.storage.trust import BlockKind

# A courier waiting for another worker's lease to end looks again this much later.
LEASE_SLACK_MS = 50
IDLE_MS = 60_000

Fit = Callable[[list[PendingDelivery]], list[PendingDelivery]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Taking:
    """How a courier takes a batch: for whom, how many rows at most, cut by ``fit``.

    ``lease`` is None on SQLite (one process owns the outbox); on PostgreSQL
    the rows taken are leased to the worker until ``lease.until_ms``.
    """

    agency: str
    now_ms: int
    limit: int
    fit: Fit
    lease: Lease | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Round:
    """What a courier found for its destination.

    ``batch`` is empty when the destination is blocked or paused here
    (``block``), backing off (``destination.next_attempt_ms``), when nothing
    is pending, or when other workers hold every pending row (then
    ``held_ms`` says how long until the first of their leases ends).
    ``more``: rows are left behind this batch and should go at once.
    """

    block: BlockKind | None
    destination: Destination | None
    batch: list[PendingDelivery] = field(default_factory=list)
    more: bool = False
    held_ms: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Answers:
    """What a destination answered to a batch, as the courier sorted it.

    ``retry_seqs``: rows refused for a reason worth retrying (their leases
    are given back); ``failure``: ``(error, next_attempt_ms)`` when any was,
    else the delivery counts as a success.
    """

    agency: str
    done_ms: int
    delivered: Sequence[str]
    refused: Sequence[tuple[str, str, str]]
    retry_seqs: Sequence[int]
    owner: str | None
    failure: tuple[str, int] | None


def _take(connection: Connection, standing: Standing, taking: Taking) -> Round:
    """The next batch for a destination that stands as ``standing``, if it may have one."""
    state = standing.destination
    if standing.block is not None or (state is not None and state.next_attempt_ms > taking.now_ms):
        return Round(block=standing.block, destination=state)
    if taking.lease is None:
        pending = outbox_rows.pending_batch(connection, taking.agency, taking.limit)
    else:
        pending = lease_rows.available(connection, taking.agency, taking.limit, taking.now_ms)
    batch = taking.fit(pending)
    more = len(pending) >= taking.limit or len(batch) < len(pending)
    if taking.lease is not None:
        if batch:
            lease_rows.take(connection, [item.seq for item in batch], taking.lease)
        else:
            expiry = lease_rows.next_expiry(connection, taking.agency, taking.now_ms)
            if expiry is not None:
                held = min(IDLE_MS, expiry - taking.now_ms + LEASE_SLACK_MS)
                return Round(block=None, destination=state, held_ms=held)
    return Round(block=None, destination=state, batch=batch, more=more)


def take_round(connection: Connection, taking: Taking) -> Round:
    """Unit: where delivery to ``taking.agency`` stands, and the next batch if it may go."""
    return _take(connection, outbox_rows.standing(connection, taking.agency), taking)


def finish_round(connection: Connection, answers: Answers, then: Taking | None) -> Round | None:
    """Unit: record a batch's answers and, with ``then``, take the next batch.

    Returns the next round, or None when none was taken (``then`` is None,
    or the answers asked for a retry later). Raises ``StorageError`` (not
    found) when the destination was never ensured.
    """
    outbox_rows.mark_delivered(connection, answers.agency, answers.delivered, answers.done_ms)
    outbox_rows.mark_refused(connection, answers.agency, answers.refused)
    if answers.owner is not None:
        lease_rows.release(connection, answers.retry_seqs, answers.owner)
    if answers.failure is not None:
        error, next_attempt_ms = answers.failure
        outbox_rows.record_failure(
            connection, answers.agency, answers.done_ms, error, next_attempt_ms
        )
        return None
    # What happened last is what the peer's status shows: a refusal in this
    # round stays visible until a round delivers without one.
    refused = refusal_note(*answers.refused[-1][1:]) if answers.refused else None
    standing = outbox_rows.record_success(connection, answers.agency, answers.done_ms, refused)
    return None if then is None else _take(connection, standing, then)


def record_unreachable(
    connection: Connection,
    agency: str,
    now_ms: int,
    error: str,
    next_attempt_ms: int,
    *,
    seqs: Sequence[int] = (),
    owner: str | None = None,
) -> None:
    """Unit: the destination could not be reached; back off and give the batch's leases back."""
    outbox_rows.record_failure(connection, agency, now_ms, error, next_attempt_ms)
    if owner is not None:
        lease_rows.release(connection, seqs, owner)


async def ensure_destination(db: Database, agency: str, url: str) -> None:
    """Create the destination, or record its new URL (its delivery history stays)."""
    await db.run(partial(outbox_rows.ensure, agency=agency, url=url), write=True)


async def give_back(db: Database, seqs: Sequence[int], owner: str) -> None:
    """Give back leases on rows a courier took and will not push now."""
    if seqs:
        await db.run(partial(lease_rows.release, seqs=seqs, owner=owner), write=True)


# --- pull cursors -------------------------------------------------------------


def _pull_position(connection: Connection, peer: str) -> int | None:
    if trust_rows.is_blocked(connection, peer):
        return None
    return outbox_rows.pull_cursor(connection, peer)


async def pull_position(db: Database, peer: str) -> int | None:
    """How far this node has pulled ``peer``'s outbox (0 when never); None when
    ``peer`` is blocked here and nothing is to be pulled from it (one read unit)."""
    return await db.run(partial(_pull_position, peer=peer), write=False)


async def set_pull_cursor(db: Database, peer: str, cursor: int) -> None:
    """Remember that everything up to ``cursor`` was pulled from ``peer``."""
    await db.run(partial(outbox_rows.set_pull_cursor, peer=peer, cursor=cursor), write=True)


# --- what the rest of the node reads ------------------------------------------


def _backlog(connection: Connection) -> tuple[list[Destination], dict[str, int]]:
    return outbox_rows.all_destinations(connection), outbox_rows.pending_counts(connection)


async def peer_backlog(db: Database) -> tuple[dict[str, Destination], dict[str, int]]:
    """Every destination by agency, and the rows pending for each (one read unit)."""
    destinations, pending = await db.run(_backlog, write=False)
    return {d.agency: d for d in destinations}, pending


async def outbox_page(db: Database, peer: str, after: int, limit: int) -> list[OutboxItem]:
    """The envelopes queued for ``peer`` after its cursor, at most ``limit`` (a pull)."""
    return await db.run(
        partial(outbox_rows.for_peer_after, destination=peer, cursor=after, limit=limit),
        write=False,
    )
