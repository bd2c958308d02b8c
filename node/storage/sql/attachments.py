"""What serving and fetching attachments read: the envelope and the notice listing them.

The content itself is a file (``baliza.node.storage.attachments``); these
units read only the facts that decide whether and how it travels.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, bindparam, select

from baliza.node.storage.models import NoticeRow, RecipientRow, SentEnvelopeRow, table_of
from baliza.node.storage.notices import StoredNotice
from baliza.node.storage.sql import envelopes as envelope_rows
from baliza.node.storage.sql import notices as notice_rows
from baliza.protocol.errors import ReasonCode, StorageError

_sent = table_of(SentEnvelopeRow)
_recipients = table_of(RecipientRow)
_notices = table_of(NoticeRow)

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
