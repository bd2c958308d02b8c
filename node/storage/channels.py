"""Channel memberships and join requests as stored: what ``sql.channels`` reads and writes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredMembership:
    """One accepted membership version: who was in, who owned it, and the signed bytes."""

    channel: str
    version: int
    kind: str
    applied_ms: int
    expires_ms: int
    members: tuple[str, ...]
    owners: tuple[str, ...]
    raw: bytes


class JoinState(StrEnum):
    """Where a request to join a programme channel stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True, kw_only=True)
class JoinRequest:
    """An agency's request to join a channel, as the owner's node keeps it."""

    channel: str
    agency: str
    requested_ms: int
    note: str
    state: JoinState
    decided_ms: int | None = None
