"""Envelopes as bytes: received ones kept as evidence, sent ones kept for delivery.

Nothing ever updates ``raw``: the exact bytes are what signatures and the
audit log cover. Batches go through one Core INSERT of a list, which is about
four times faster than ORM ``add_all`` for rows of a few KB. This module holds
the types; ``baliza.node.storage.sql.envelopes`` stores and reads them.

Ids are chosen by senders and travel in clear headers, so received envelopes
are unique per (sender, id) only: one member reusing another member's id
must neither block nor shadow the other's envelope. Lookups without a
sender take the earliest stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from baliza.node.storage.recipients import Addressee


class Via(StrEnum):
    """How an envelope reached this node."""

    PUSH = "push"
    PULL = "pull"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceivedEnvelope:
    """An envelope a peer delivered, with the header fields the node indexes."""

    id: str
    sender: str
    sender_key: bytes
    kind: str
    created_ms: int
    received_ms: int
    via: Via
    raw: bytes
    signed_by_revoked: bool = False
    recipients: tuple[Addressee, ...] = ()  # stored in the recipients table


@dataclass(frozen=True, slots=True, kw_only=True)
class SentEnvelope:
    """An envelope this node sealed, and the agencies it was addressed to."""

    id: str
    kind: str
    created_ms: int
    recipients: tuple[Addressee, ...]  # stored in the recipients table
    raw: bytes

    def destinations(self) -> list[str]:
        """The agencies to deliver this envelope to."""
        return [r.agency for r in self.recipients]
