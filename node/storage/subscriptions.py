"""Partner subscriptions and share permission requests as stored.

Both are kept on the two nodes concerned under the same id; a row changes
state only through the services, which check who may make which change.
``sql.subscriptions`` and ``sql.permissions`` read and write them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscription:
    """One subscription as stored here."""

    id: str
    publisher: str
    subscriber: str
    filter_json: str
    state: str
    created_ms: int
    updated_ms: int
    paused_by: str | None = None
    note: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Permission:
    """One request to pass a notice on, as stored by the requester or the originator."""

    id: str
    envelope_id: str
    requester: str
    originator: str
    recipients: tuple[str, ...]
    state: str
    created_ms: int
    note: str | None = None
    reason: str | None = None
    decided_ms: int | None = None
    share_id: str | None = None
