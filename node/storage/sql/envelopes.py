"""Envelopes, recipients and the outbox rows a publication queues; envelopes read back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, bindparam, insert, literal, null, select, union_all

from baliza.node.storage.delivery import OutboxState
from baliza.node.storage.envelopes import ReceivedEnvelope, SentEnvelope, Via
from baliza.node.storage.models import (
    OutboxRow,
    ReceivedEnvelopeRow,
    RecipientRow,
    SentEnvelopeRow,
    table_of,
)
from baliza.node.storage.recipients import Addressee
from baliza.node.storage.sql._dialect import Upsert
from baliza.protocol.errors import ReasonCode, StorageError

_received = table_of(ReceivedEnvelopeRow)
_sent = table_of(SentEnvelopeRow)
_recipients = table_of(RecipientRow)
_outbox = table_of(OutboxRow)

# Bound parameters per statement stay well under SQLite's and asyncpg's limits.
IN_CHUNK = 500

_INSERT_RECEIVED = Upsert(
    _received,
    lambda s: s.on_conflict_do_nothing(index_elements=["sender", "id"]).returning(_received.c.id),
)
_INSERT_RECIPIENTS = Upsert(
    _recipients, lambda s: s.on_conflict_do_nothing(index_elements=["envelope_id", "agency"])
)
_INSERT_OUTBOX = Upsert(
    _outbox, lambda s: s.on_conflict_do_nothing(index_elements=["destination", "envelope_id"])
)
_INSERT_SENT = insert(_sent)

_RAW_FROM = select(_received.c.id, _received.c.raw).where(
    _received.c.sender == bindparam("sender"), _received.c.id.in_(bindparam("ids", expanding=True))
)
_SENT_IDS = select(_sent.c.id).where(_sent.c.id.in_(bindparam("ids", expanding=True)))
# What a batch's ids already name here, in one statement: the bytes received
# from its sender under them, and those this node used for envelopes it sent.
_KNOWN = union_all(
    select(_received.c.id, _received.c.raw, literal(False).label("sent")).where(
        _received.c.sender == bindparam("sender"),
        _received.c.id.in_(bindparam("ids", expanding=True)),
    ),
    select(_sent.c.id, null(), literal(True)).where(
        _sent.c.id.in_(bindparam("sent_ids", expanding=True))
    ),
)
# The earliest stored sender of each id: whose notice a ``supersedes`` names.
_RECEIVED_SENDERS = (
    select(_received.c.id, _received.c.sender)
    .where(_received.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_received.c.received_ms, _received.c.sender)
)


def _chunks(ids: Iterable[str]) -> list[list[str]]:
    wanted = sorted(set(ids))
    return [wanted[i : i + IN_CHUNK] for i in range(0, len(wanted), IN_CHUNK)]


def received_raw(connection: Connection, sender: str, ids: Iterable[str]) -> dict[str, bytes]:
    """The exact bytes already received from ``sender`` under any of ``ids``."""
    found: dict[str, bytes] = {}
    for chunk in _chunks(ids):
        for eid, raw in connection.execute(_RAW_FROM, {"sender": sender, "ids": chunk}):
            found[eid] = raw
    return found


def known_ids(
    connection: Connection, sender: str, ids: Iterable[str], sent_too: Iterable[str] = ()
) -> tuple[dict[str, bytes], set[str]]:
    """(bytes received from ``sender`` under ``ids``, those of ``ids`` + ``sent_too`` sent here)."""
    received: dict[str, bytes] = {}
    sent: set[str] = set()
    wanted = sorted(set(ids))
    also = sorted(set(sent_too) | set(wanted))
    for start in range(0, max(len(also), 1), IN_CHUNK):
        params = {
            "sender": sender,
            "ids": wanted[start : start + IN_CHUNK],
            "sent_ids": also[start : start + IN_CHUNK],
        }
        for eid, raw, was_sent in connection.execute(_KNOWN, params):
            if was_sent:
                sent.add(eid)
            else:
                received[eid] = raw
    return received, sent


def sent_ids(connection: Connection, ids: Iterable[str]) -> set[str]:
    """Those of ``ids`` this node sent (one id space with what it received)."""
    found: set[str] = set()
    for chunk in _chunks(ids):
        found.update(connection.execute(_SENT_IDS, {"ids": chunk}).scalars())
    return found


def received_senders(connection: Connection, ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The senders of each of ``ids`` received here, earliest stored first."""
    found: dict[str, list[str]] = {}
    for chunk in _chunks(ids):
        for eid, sender in connection.execute(_RECEIVED_SENDERS, {"ids": chunk}):
            found.setdefault(eid, []).append(sender)
    return {eid: tuple(senders) for eid, senders in found.items()}


def insert_received(connection: Connection, envelopes: Sequence[ReceivedEnvelope]) -> set[str]:
    """Store those of ``envelopes`` not stored yet, with their recipients; return the new ids.

    The check and the insert are one statement, so two peers pushing the same
    envelope at once both succeed and exactly one sees it as new. Call it with
    envelopes of one sender per id (an inbox batch is).
    """
    if not envelopes:
        return set()
    params = [
        {
            "id": e.id,
            "sender": e.sender,
            "sender_key": e.sender_key,
            "kind": e.kind,
            "created_ms": e.created_ms,
            "received_ms": e.received_ms,
            "via": Via(e.via).value,
            "raw": e.raw,
            "signed_by_revoked": e.signed_by_revoked,
        }
        for e in envelopes
    ]
    inserted = set(connection.execute(_INSERT_RECEIVED.on(connection), params).scalars())
    insert_recipients(connection, [e for e in envelopes if e.id in inserted])
    return inserted


def insert_sent(connection: Connection, envelopes: Sequence[SentEnvelope]) -> None:
    """Store sealed envelopes and their recipients; a stored id fails the unit (CONFLICT)."""
    if not envelopes:
        return
    connection.execute(
        _INSERT_SENT,
        [{"id": e.id, "kind": e.kind, "created_ms": e.created_ms, "raw": e.raw} for e in envelopes],
    )
    insert_recipients(connection, envelopes)


def insert_recipients(
    connection: Connection, envelopes: Sequence[ReceivedEnvelope | SentEnvelope]
) -> None:
    """Record who each envelope is addressed to, and why (one statement)."""
    rows = [
        {"envelope_id": e.id, "agency": r.agency, "via": r.via}
        for e in envelopes
        for r in e.recipients
    ]
    if rows:
        connection.execute(_INSERT_RECIPIENTS.on(connection), rows)


def enqueue(connection: Connection, queued: Sequence[tuple[Sequence[str], str, int]]) -> None:
    """Queue sent envelopes, each ``(destinations, envelope_id, created_ms)``, in one statement."""
    rows = [
        {
            "destination": destination,
            "envelope_id": envelope_id,
            "created_ms": created_ms,
            "state": OutboxState.PENDING.value,
        }
        for destinations, envelope_id, created_ms in queued
        for destination in dict.fromkeys(destinations)
    ]
    if rows:
        connection.execute(_INSERT_OUTBOX.on(connection), rows)


_SENT_RAW_OR_NONE = select(_sent.c.raw).where(_sent.c.id == bindparam("id"))
_FIRST_RECEIVED_RAW = (
    select(_received.c.raw)
    .where(_received.c.id == bindparam("id"))
    .order_by(_received.c.received_ms, _received.c.sender)
    .limit(1)
)


def sent_raw_or_none(connection: Connection, envelope_id: str) -> bytes | None:
    """The bytes of an envelope this node sent, or None."""
    return connection.execute(_SENT_RAW_OR_NONE, {"id": envelope_id}).scalar()


def first_received_raw(connection: Connection, envelope_id: str) -> bytes | None:
    """The bytes of the earliest stored envelope received under ``envelope_id``, or None."""
    return connection.execute(_FIRST_RECEIVED_RAW, {"id": envelope_id}).scalar()


# Reads: one envelope as received or sent, and whom it was addressed to.
_RECEIVED_COLUMNS = (
    _received.c.id,
    _received.c.sender,
    _received.c.sender_key,
    _received.c.kind,
    _received.c.created_ms,
    _received.c.received_ms,
    _received.c.via,
    _received.c.raw,
    _received.c.signed_by_revoked,
)
_RECEIVED_GET = (
    select(*_RECEIVED_COLUMNS)
    .where(_received.c.id == bindparam("eid"))
    .order_by(_received.c.received_ms, _received.c.sender)
    .limit(1)
)
_RECEIVED_GET_FROM = _RECEIVED_GET.where(_received.c.sender == bindparam("sender"))
_RECEIVED_IDS = select(_received.c.id).where(_received.c.id.in_(bindparam("ids", expanding=True)))
_RECEIVED_IDS_FROM = _RECEIVED_IDS.where(_received.c.sender == bindparam("sender"))
_SENT_GET = select(_sent.c.id, _sent.c.kind, _sent.c.created_ms, _sent.c.raw).where(
    _sent.c.id == bindparam("eid")
)
_ADDRESSEES = (
    select(_recipients.c.envelope_id, _recipients.c.agency, _recipients.c.via)
    .where(_recipients.c.envelope_id.in_(bindparam("ids", expanding=True)))
    .order_by(_recipients.c.envelope_id, _recipients.c.agency)
)
_INCLUDES = select(_recipients.c.agency).where(
    _recipients.c.envelope_id == bindparam("eid"), _recipients.c.agency == bindparam("agency")
)


def received(
    connection: Connection, envelope_id: str, sender: str | None = None
) -> ReceivedEnvelope:
    """The received envelope (from ``sender``; else the earliest stored). Raises NOT_FOUND.

    Its recipients are not read (``addressees`` does).
    """
    if sender is None:
        row = connection.execute(_RECEIVED_GET, {"eid": envelope_id}).first()
    else:
        row = connection.execute(_RECEIVED_GET_FROM, {"eid": envelope_id, "sender": sender}).first()
    if row is None:
        raise StorageError(ReasonCode.NOT_FOUND, f"no received envelope {envelope_id}")
    return ReceivedEnvelope(
        id=row.id,
        sender=row.sender,
        sender_key=row.sender_key,
        kind=row.kind,
        created_ms=row.created_ms,
        received_ms=row.received_ms,
        via=Via(row.via),
        raw=row.raw,
        signed_by_revoked=row.signed_by_revoked,
    )


def received_ids(
    connection: Connection, ids: Iterable[str], *, sender: str | None = None
) -> set[str]:
    """Those of ``ids`` received from ``sender`` (from anyone, if None)."""
    found: set[str] = set()
    for chunk in _chunks(ids):
        if sender is None:
            found.update(connection.execute(_RECEIVED_IDS, {"ids": chunk}).scalars())
        else:
            values = {"ids": chunk, "sender": sender}
            found.update(connection.execute(_RECEIVED_IDS_FROM, values).scalars())
    return found


def sent(connection: Connection, envelope_id: str) -> SentEnvelope:
    """The sent envelope with its recipients (two statements). Raises NOT_FOUND."""
    row = connection.execute(_SENT_GET, {"eid": envelope_id}).first()
    if row is None:
        raise StorageError(ReasonCode.NOT_FOUND, f"no sent envelope {envelope_id}")
    return SentEnvelope(
        id=row.id,
        kind=row.kind,
        created_ms=row.created_ms,
        recipients=addressees(connection, [envelope_id]).get(envelope_id, ()),
        raw=row.raw,
    )


def addressees(connection: Connection, ids: Iterable[str]) -> dict[str, tuple[Addressee, ...]]:
    """The addressees of each of ``ids``, sorted by agency."""
    found: dict[str, list[Addressee]] = {}
    for chunk in _chunks(ids):
        for eid, agency, via in connection.execute(_ADDRESSEES, {"ids": chunk}):
            found.setdefault(eid, []).append(Addressee(agency, via))
    return {eid: tuple(items) for eid, items in found.items()}


def includes(connection: Connection, envelope_id: str, agency: str) -> bool:
    """Whether ``agency`` is among the addressees of ``envelope_id``."""
    values = {"eid": envelope_id, "agency": agency}
    return connection.execute(_INCLUDES, values).first() is not None


_SENT_RAW = select(_sent.c.raw).where(_sent.c.id == bindparam("eid"))


def sent_raw(connection: Connection, envelope_id: str) -> bytes:
    """The exact bytes of an envelope this node sent. Raises NOT_FOUND."""
    raw = connection.execute(_SENT_RAW, {"eid": envelope_id}).scalar()
    if raw is None:
        raise StorageError(ReasonCode.NOT_FOUND, f"no sent envelope {envelope_id}")
    return bytes(raw)
