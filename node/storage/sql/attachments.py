"""What serving and fetching attachments read: the envelope, the notice, what was fetched for it.

The content itself is a file (``baliza.node.storage.attachments``), stored
once per content; these units read and write only the facts that decide
whether and how it travels, and under which notice it may be shown: content
counts as a received notice's only once it was fetched from that notice's
sender for that envelope (``attachment_fetches``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, bindparam, select

from baliza.node.storage.models import (
    AttachmentFetchRow,
    NoticeRow,
    RecipientRow,
    SentEnvelopeRow,
    table_of,
)
from baliza.node.storage.notices import StoredNotice
from baliza.node.storage.sql import envelopes as envelope_rows
from baliza.node.storage.sql import notices as notice_rows
from baliza.node.storage.sql._dialect import Upsert
from baliza.protocol.errors import ReasonCode, StorageError

_sent = table_of(SentEnvelopeRow)
_recipients = table_of(RecipientRow)
_notices = table_of(NoticeRow)
_fetches = table_of(AttachmentFetchRow)

_FETCHED = select(_fetches.c.sha256).where(
    _fetches.c.sender == bindparam("sender"), _fetches.c.envelope_id == bindparam("eid")
)
_RECORD_FETCH = Upsert(
    _fetches,
    lambda s: s.on_conflict_do_nothing(index_elements=["sender", "envelope_id", "sha256"]),
)

# Our envelope, only if addressed to the asking agency, with our notice of it.
_SENT_TO = (
    select(_sent.c.raw, _notices.c.notice_json)
    .join(
        _recipients,
        and_(_recipients.c.envelope_id == _sent.c.id, _recipients.c.agency == bindparam("origin")),
    )
    .join(
        _notices,
        and_(_notices.c.envelope_id == _sent.c.id, _notices.c.sender == bindparam("me")),
    )
    .where(_sent.c.id == bindparam("eid"))
)


@dataclass(frozen=True, slots=True)
class SentListing:
    """An envelope this node sent to the asking agency, and its notice as JSON."""

    raw: bytes
    notice_json: str


def sent_listing(connection: Connection, envelope_id: str, origin: str, me: str) -> SentListing:
    """Our envelope ``envelope_id`` and its notice, if addressed to ``origin`` (one statement).

    Raises ``StorageError(NOT_FOUND)`` alike when the envelope does not
    exist and when it was not addressed to ``origin``: nobody learns which
    envelopes this node sent to others.
    """
    values = {"eid": envelope_id, "origin": origin, "me": me}
    row = connection.execute(_SENT_TO, values).first()
    if row is None:
        raise StorageError(ReasonCode.NOT_FOUND, f"no envelope {envelope_id} to {origin} here")
    return SentListing(raw=row.raw, notice_json=row.notice_json)


def received_raw(connection: Connection, envelope_id: str, sender: str) -> bytes:
    """The exact bytes of the envelope received from ``sender``. Raises NOT_FOUND."""
    return envelope_rows.received(connection, envelope_id, sender).raw


def notice(connection: Connection, envelope_id: str, sender: str) -> StoredNotice:
    """The notice listing the attachments to prefetch. Raises NOT_FOUND."""
    return notice_rows.get(connection, envelope_id, sender)


def fetched(connection: Connection, sender: str, envelope_id: str) -> frozenset[str]:
    """The hashes fetched from ``sender`` for its notice ``envelope_id`` and found as it signed."""
    rows = connection.execute(_FETCHED, {"sender": sender, "eid": envelope_id})
    return frozenset(str(sha) for sha in rows.scalars())


def record_fetch(
    connection: Connection, sender: str, envelope_id: str, sha256: str, now_ms: int
) -> None:
    """Note that ``sha256`` was fetched from ``sender`` for ``envelope_id`` and matched (once)."""
    connection.execute(
        _RECORD_FETCH.on(connection),
        {"sender": sender, "envelope_id": envelope_id, "sha256": sha256, "fetched_ms": now_ms},
    )


@dataclass(frozen=True, slots=True)
class FetchFacts:
    """What fetching one received notice's attachment reads: its envelope, what is fetched."""

    raw: bytes
    fetched: frozenset[str]


def fetch_facts(connection: Connection, envelope_id: str, sender: str) -> FetchFacts:
    """The envelope received from ``sender`` and the content fetched for it (one unit).

    Raises ``StorageError(NOT_FOUND)`` when no such envelope was received.
    """
    return FetchFacts(
        raw=received_raw(connection, envelope_id, sender),
        fetched=fetched(connection, sender, envelope_id),
    )
