"""Watch-lists, notifications and outbound mail: the types (statements in sql/notify.py).

A watch entry belongs to one owner (``user:<id>`` or ``token:<id>``) and is
a filter in the API's own query form. A notification records only what a
summary may say of a notice: its kind, place and handling (TLP), never its
content. A queued mail is the text the relay will carry, written once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchEntry:
    """One followed identifier or saved filter of one owner."""

    id: str
    owner: str
    what: str  # container, vessel, flight, awb, company, person, document, filter, all
    value: str
    query: str  # URL query string, as ``parse_filters`` reads it
    created_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Notification:
    """Something one owner should know about a notice (or an alert)."""

    seq: int
    owner: str
    cause: str  # watch, hit, overdue, permission
    subject: str  # the envelope (or permission request) id
    watch_id: str | None
    kind: str
    location: str | None
    tlp: str
    created_ms: int
    read_ms: int | None
    mail: str  # none, pending, queued


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifyPrefs:
    """Where one owner's e-mail goes, and how often."""

    owner: str
    email: str | None = None
    mode: str = "off"  # off, immediate, digest
    digest_ms: int = 3_600_000
    last_digest_ms: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class QueuedMail:
    """An e-mail waiting for (or taken by) the relay."""

    seq: int
    owner: str
    to_addr: str
    subject: str
    body: str
    created_ms: int
    due_ms: int
    attempts: int
    sent_ms: int | None = None
    last_error: str | None = None
