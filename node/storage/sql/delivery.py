"""The outbox, per-destination backoff and pull cursors, as units of work use them.

Row meanings are those of ``storage/delivery.py`` (whose frozen dataclasses
these functions return). Two statements carry the courier's hot path:
``standing`` (a destination's backoff and any local block on it, one row
whatever exists) and ``record_success`` (which returns the same facts as
they are after the write), so a courier that marks a batch and takes the
next one needs no read of its own state in between.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    String,
    and_,
    bindparam,
    exists,
    func,
    select,
    update,
)

from baliza.node.storage.delivery import (
    MAX_BATCH,
    Destination,
    OutboxEntry,
    OutboxItem,
    OutboxState,
    PendingDelivery,
)
from baliza.node.storage.models import (
    DestinationRow,
    LocalBlockRow,
    NoticeRow,
    OutboxRow,
    PullCursorRow,
    RecipientRow,
    SentEnvelopeRow,
    table_of,
)
from baliza.node.storage.sql._dialect import Upsert
from baliza.node.storage.trust import BlockKind
from baliza.protocol.errors import ReasonCode, StorageError

_outbox = table_of(OutboxRow)
_sent = table_of(SentEnvelopeRow)
_dest = table_of(DestinationRow)
_blocks = table_of(LocalBlockRow)
_cursors = table_of(PullCursorRow)
_recipients = table_of(RecipientRow)
_notices = table_of(NoticeRow)

_PENDING = OutboxState.PENDING.value
_DEST_COLUMNS = (
    _dest.c.agency,
    _dest.c.url,
    _dest.c.attempts,
    _dest.c.next_attempt_ms,
    _dest.c.failing_since_ms,
    _dest.c.last_error,
    _dest.c.last_delivered_ms,
)
_ENTRY_COLUMNS = (
    _outbox.c.seq,
    _outbox.c.destination,
    _outbox.c.envelope_id,
    _outbox.c.created_ms,
    _outbox.c.state,
    _outbox.c.delivered_ms,
    _outbox.c.refused_reason,
    _outbox.c.refused_detail,
)
# The local decision about an agency (blocked or paused), as a column.
_BLOCK_OF = select(_blocks.c.kind).where(_blocks.c.agency == bindparam("who")).scalar_subquery()


@dataclass(frozen=True, slots=True, kw_only=True)
class Standing:
    """Where delivery to one agency stands: its backoff (None before the first
    ``ensure``) and the local block or pause on it, if any."""

    destination: Destination | None
    block: BlockKind | None


# --- the outbox --------------------------------------------------------------

_PENDING_BATCH = (
    select(_outbox.c.seq, _outbox.c.envelope_id, _outbox.c.created_ms, _sent.c.raw)
    .join(_sent, _sent.c.id == _outbox.c.envelope_id)
    .where(_outbox.c.destination == bindparam("destination"), _outbox.c.state == _PENDING)
    .order_by(_outbox.c.seq)
    .limit(bindparam("limit"))
)
# PostgreSQL: rows locked by another transaction are skipped, and these stay
# locked until this one ends.
_PENDING_BATCH_LOCKED = _PENDING_BATCH.with_for_update(skip_locked=True, of=_outbox)
_MARK_DELIVERED = (
    update(_outbox)
    .where(
        _outbox.c.destination == bindparam("to"),
        _outbox.c.envelope_id.in_(bindparam("ids", expanding=True)),
        _outbox.c.state == _PENDING,
    )
    .values(state=OutboxState.DELIVERED.value, delivered_ms=bindparam("now_ms"))
)
_MARK_REFUSED = (
    update(_outbox)
    .where(
        _outbox.c.destination == bindparam("to"),
        _outbox.c.envelope_id == bindparam("eid"),
        _outbox.c.state == _PENDING,
    )
    .values(
        state=OutboxState.REFUSED.value,
        refused_reason=bindparam("reason"),
        refused_detail=bindparam("detail"),
        delivered_ms=bindparam("now_ms"),
    )
)
_STATE_FOR_ENVELOPE = (
    select(*_ENTRY_COLUMNS)
    .where(_outbox.c.envelope_id == bindparam("envelope_id"))
    .order_by(_outbox.c.destination)
)
_COUNTS = select(_outbox.c.destination, _outbox.c.state, func.count()).group_by(
    _outbox.c.destination, _outbox.c.state
)
_PENDING_COUNTS = (
    select(_outbox.c.destination, func.count())
    .where(_outbox.c.state == _PENDING)
    .group_by(_outbox.c.destination)
)
_FOR_PEER_AFTER = (
    select(_outbox.c.seq, _sent.c.raw)
    .join(_sent, _sent.c.id == _outbox.c.envelope_id)
    .where(_outbox.c.destination == bindparam("destination"), _outbox.c.seq > bindparam("cursor"))
    .order_by(_outbox.c.seq)
    .limit(bindparam("limit"))
)


def _limit(limit: int) -> int:
    return max(1, min(limit, MAX_BATCH))


def pending_batch(connection: Connection, destination: str, limit: int) -> list[PendingDelivery]:
    """The oldest pending envelopes for ``destination``, by ``seq``, with their bytes.

    On PostgreSQL the rows stay locked until the unit ends and rows locked by
    another worker are skipped (several workers sharing the database lease
    instead: ``sql/leases.py``).
    """
    statement = _PENDING_BATCH_LOCKED if connection.dialect.name == "postgresql" else _PENDING_BATCH
    return [
        PendingDelivery(seq=seq, envelope_id=envelope_id, created_ms=created_ms, raw=raw)
        for seq, envelope_id, created_ms, raw in connection.execute(
            statement, {"destination": destination, "limit": _limit(limit)}
        )
    ]


def mark_delivered(
    connection: Connection, destination: str, envelope_ids: Sequence[str], now_ms: int
) -> int:
    """Mark ``destination``'s pending rows for ``envelope_ids`` delivered; return how many.

    Rows already delivered or refused are left alone, so a late duplicate
    answer cannot rewrite history (a peer answers per envelope id, and
    (destination, envelope id) is unique in the outbox). One statement.
    """
    if not envelope_ids:
        return 0
    result = connection.execute(
        _MARK_DELIVERED,
        {"to": destination, "ids": list(envelope_ids), "now_ms": now_ms},
    )
    return int(result.rowcount)


def mark_refused(
    connection: Connection,
    destination: str,
    refusals: Sequence[tuple[str, str, str]],
    now_ms: int | None = None,
) -> int:
    """Mark pending rows refused for good, each ``(envelope_id, reason, detail)``.

    Returns how many were pending (an answered row is left alone).
    ``now_ms``, when given, is kept in ``delivered_ms``: when the peer
    answered. One statement per refusal: refusals are rare, and each count
    must be exact on both engines.
    """
    changed = 0
    for envelope_id, reason, detail in refusals:
        result = connection.execute(
            _MARK_REFUSED,
            {
                "to": destination,
                "eid": envelope_id,
                "reason": reason[:64],
                "detail": detail,
                "now_ms": now_ms,
            },
        )
        changed += int(result.rowcount)
    return changed


def state_for_envelope(connection: Connection, envelope_id: str) -> list[OutboxEntry]:
    """Where one sent envelope stands at each destination, sorted by destination."""
    return [
        OutboxEntry(
            seq=seq,
            destination=destination,
            envelope_id=eid,
            created_ms=created_ms,
            state=OutboxState(state),
            delivered_ms=delivered_ms,
            refused_reason=reason,
            refused_detail=detail,
        )
        for seq, destination, eid, created_ms, state, delivered_ms, reason, detail in (
            connection.execute(_STATE_FOR_ENVELOPE, {"envelope_id": envelope_id})
        )
    ]


def counts(connection: Connection) -> dict[str, dict[OutboxState, int]]:
    """Rows per destination and state: the numbers behind a status page."""
    found: dict[str, dict[OutboxState, int]] = {}
    for destination, state, count in connection.execute(_COUNTS):
        found.setdefault(destination, {})[OutboxState(state)] = count
    return found


def pending_counts(connection: Connection) -> dict[str, int]:
    """Pending rows per destination (destinations with none are absent)."""
    return {destination: count for destination, count in connection.execute(_PENDING_COUNTS)}


def for_peer_after(
    connection: Connection, destination: str, cursor: int, limit: int
) -> list[OutboxItem]:
    """Envelopes queued for ``destination`` with ``seq > cursor``, by ``seq``.

    This answers a peer's pull: every state is included, because a peer back
    from a week offline may have lost what it acknowledged, and it
    de-duplicates by envelope id anyway.
    """
    params = {"destination": destination, "cursor": cursor, "limit": _limit(limit)}
    return [OutboxItem(seq, raw) for seq, raw in connection.execute(_FOR_PEER_AFTER, params)]


# An envelope this node sent, only if addressed to ``to``, with its notice.
_SENT_COPY = (
    select(_sent.c.raw, _notices.c.notice_json)
    .join(
        _recipients,
        and_(_recipients.c.envelope_id == _sent.c.id, _recipients.c.agency == bindparam("to")),
    )
    .join(
        _notices,
        and_(_notices.c.envelope_id == _sent.c.id, _notices.c.sender == bindparam("me")),
    )
    .where(_sent.c.id == bindparam("eid"))
)


def sent_copy(
    connection: Connection, envelope_id: str, to: str, me: str
) -> tuple[bytes, str] | None:
    """(raw bytes, notice JSON) of ``me``'s envelope ``envelope_id`` if it was addressed to ``to``.

    None when no such envelope was sent, or not to ``to``: the two are one
    answer, so a caller cannot tell which envelopes went to others.
    """
    row = connection.execute(_SENT_COPY, {"eid": envelope_id, "to": to, "me": me}).first()
    return None if row is None else (bytes(row[0]), str(row[1]))


# --- destinations ------------------------------------------------------------

# Attempts and the next attempt time start at their server defaults (0).
_ENSURE = Upsert(
    _dest,
    lambda s: s.on_conflict_do_update(index_elements=["agency"], set_={"url": s.excluded.url}),
)
# One row for any agency: the destination's columns (NULL before the first
# ``ensure``) beside the local block on it. The one-row derived table is what
# the outer joins hang from.
_ASKED = select(bindparam("agency", type_=String).label("agency")).subquery()
_STANDING = select(*_DEST_COLUMNS, _blocks.c.kind).select_from(
    _ASKED.outerjoin(_dest, _dest.c.agency == _ASKED.c.agency).outerjoin(
        _blocks, _blocks.c.agency == _ASKED.c.agency
    )
)
_GET = select(*_DEST_COLUMNS).where(_dest.c.agency == bindparam("agency"))
_ALL = select(*_DEST_COLUMNS).order_by(_dest.c.agency)
_DUE = (
    select(*_DEST_COLUMNS)
    .where(
        _dest.c.next_attempt_ms <= bindparam("now_ms"),
        exists().where(and_(_outbox.c.destination == _dest.c.agency, _outbox.c.state == _PENDING)),
    )
    .order_by(_dest.c.next_attempt_ms, _dest.c.agency)
)
_SUCCESS = (
    update(_dest)
    .where(_dest.c.agency == bindparam("who"))
    .values(
        attempts=0,
        next_attempt_ms=0,
        failing_since_ms=None,
        last_error=bindparam("why"),
        last_delivered_ms=bindparam("now_ms"),
    )
    .returning(*_DEST_COLUMNS, _BLOCK_OF)
)
_FAILURE = (
    update(_dest)
    .where(_dest.c.agency == bindparam("who"))
    .values(
        attempts=_dest.c.attempts + 1,
        next_attempt_ms=bindparam("retry_at"),
        failing_since_ms=func.coalesce(_dest.c.failing_since_ms, bindparam("now_ms")),
        last_error=bindparam("why"),
    )
)


def _destination(row: Sequence[Any]) -> Destination:
    agency, url, attempts, next_attempt_ms, failing_since_ms, last_error, last_delivered_ms = row
    return Destination(
        agency=agency,
        url=url,
        attempts=attempts,
        next_attempt_ms=next_attempt_ms,
        failing_since_ms=failing_since_ms,
        last_error=last_error,
        last_delivered_ms=last_delivered_ms,
    )


def _standing(row: Sequence[Any]) -> Standing:
    kind = row[len(_DEST_COLUMNS)]
    return Standing(
        destination=None if row[0] is None else _destination(row[: len(_DEST_COLUMNS)]),
        block=None if kind is None else BlockKind(kind),
    )


def ensure(connection: Connection, agency: str, url: str) -> None:
    """Create the destination, or update its URL and keep its delivery history."""
    connection.execute(_ENSURE.on(connection), {"agency": agency, "url": url})


def standing(connection: Connection, agency: str) -> Standing:
    """The destination's backoff and the local block on ``agency``, in one statement."""
    return _standing(connection.execute(_STANDING, {"agency": agency}).one())


def get(connection: Connection, agency: str) -> Destination | None:
    """One destination, or None before the first ``ensure``: nothing to back off from."""
    row = connection.execute(_GET, {"agency": agency}).first()
    return None if row is None else _destination(row)


def all_destinations(connection: Connection) -> list[Destination]:
    """Every destination, sorted by agency."""
    return [_destination(row) for row in connection.execute(_ALL)]


def due(connection: Connection, now_ms: int) -> list[Destination]:
    """Destinations whose backoff has expired and that have something pending.

    Ordered by ``next_attempt_ms``, so the longest-waiting peer goes first.
    """
    return [_destination(row) for row in connection.execute(_DUE, {"now_ms": now_ms})]


def record_success(
    connection: Connection, agency: str, now_ms: int, refused: str | None = None
) -> Standing:
    """Reset the backoff after a delivery; return the standing as it now is (one statement).

    ``refused`` is kept as the last error when the peer answered but refused
    envelopes for good (``rules/peer_standing.py``); None clears it.

    Raises ``StorageError(NOT_FOUND)`` when there is no such destination.
    """
    row = connection.execute(_SUCCESS, {"who": agency, "now_ms": now_ms, "why": refused}).first()
    if row is None:
        raise StorageError(ReasonCode.NOT_FOUND, f"no destination {agency}")
    return _standing(row)


def record_failure(
    connection: Connection, agency: str, now_ms: int, error: str, next_attempt_ms: int
) -> None:
    """Count a failed attempt and schedule the next one (the caller computes backoff).

    ``failing_since_ms`` keeps the first failure of the current streak.
    Raises ``StorageError(NOT_FOUND)``.
    """
    result = connection.execute(
        _FAILURE,
        {"who": agency, "now_ms": now_ms, "why": error, "retry_at": next_attempt_ms},
    )
    if not result.rowcount:
        raise StorageError(ReasonCode.NOT_FOUND, f"no destination {agency}")


# --- pull cursors ------------------------------------------------------------

_CURSOR = select(_cursors.c.cursor).where(_cursors.c.peer == bindparam("peer"))
_SET_CURSOR = Upsert(
    _cursors,
    lambda s: s.on_conflict_do_update(index_elements=["peer"], set_={"cursor": s.excluded.cursor}),
)


def pull_cursor(connection: Connection, peer: str) -> int:
    """The last outbox ``seq`` pulled from ``peer``; 0 when never pulled."""
    return int(connection.execute(_CURSOR, {"peer": peer}).scalar() or 0)


def set_pull_cursor(connection: Connection, peer: str, cursor: int) -> None:
    """Remember that everything up to ``cursor`` was pulled from ``peer``."""
    connection.execute(_SET_CURSOR.on(connection), {"peer": peer, "cursor": cursor})
