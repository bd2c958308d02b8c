"""Queued federation messages as units of work queue, send and settle them."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, insert, select, update

from baliza.node.storage.messages import PENDING, QueuedMessage
from baliza.node.storage.models import MessageRow, table_of

_messages = table_of(MessageRow)
_COLUMNS = (
    _messages.c.seq,
    _messages.c.destination,
    _messages.c.path,
    _messages.c.body,
    _messages.c.attempts,
    _messages.c.next_attempt_ms,
)

_ADD = insert(_messages).returning(_messages.c.seq)
_PENDING = select(*_COLUMNS).where(_messages.c.state == PENDING).order_by(_messages.c.seq)
_PENDING_TO = _PENDING.where(_messages.c.destination == bindparam("destination"))
_OUTCOME = select(_messages.c.state, _messages.c.last_error).where(
    _messages.c.seq == bindparam("message")
)
_DONE = (
    update(_messages)
    .where(_messages.c.seq == bindparam("message"))
    .values(state=bindparam("new_state"), done_ms=bindparam("now_ms"), last_error=bindparam("why"))
)
_FAILED = (
    update(_messages)
    .where(_messages.c.seq == bindparam("message"))
    .values(
        attempts=_messages.c.attempts + 1,
        next_attempt_ms=bindparam("retry_at"),
        last_error=bindparam("why"),
    )
)


def add(connection: Connection, destination: str, path: str, body: bytes, now_ms: int) -> int:
    """Queue a message; return its sequence number."""
    params = {"destination": destination, "path": path, "body": body, "created_ms": now_ms}
    return int(connection.execute(_ADD, params).scalar_one())


def pending(connection: Connection, destination: str | None = None) -> list[QueuedMessage]:
    """Pending messages (of one destination), oldest first."""
    if destination is None:
        rows = connection.execute(_PENDING)
    else:
        rows = connection.execute(_PENDING_TO, {"destination": destination})
    return [QueuedMessage(*row) for row in rows]


def outcome_of(connection: Connection, seq: int) -> tuple[str, str | None]:
    """(``pending``, ``sent`` or ``refused``; the last error recorded) of message ``seq``."""
    state, error = connection.execute(_OUTCOME, {"message": seq}).one()
    return str(state), error


def done(
    connection: Connection, seq: int, state: str, now_ms: int, error: str | None = None
) -> None:
    """Mark a message sent, or refused by the peer (kept with its reason)."""
    connection.execute(_DONE, {"message": seq, "new_state": state, "now_ms": now_ms, "why": error})


def failed(connection: Connection, seq: int, next_attempt_ms: int, error: str) -> None:
    """The peer could not be reached: try again at ``next_attempt_ms``."""
    connection.execute(_FAILED, {"message": seq, "retry_at": next_attempt_ms, "why": error})
