"""Local trust records: the trust-event log and local blocks of agencies.

Trust events are append-only: who changed what about trust, and when (key
rotation, directory update, block, peer admission). They feed the audit log
and the admin console. Local blocks narrow trust below the federation
directory; they can never widen it, so nothing here admits anyone.

Units of work read and write them through sql/trust.py; these are the records.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

MAX_PAGE = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustEvent:
    """One recorded trust decision. ``detail`` is a JSON object."""

    seq: int
    at_ms: int
    actor: str
    action: str
    subject: str
    detail: Mapping[str, Any] = field(default_factory=dict)


class BlockKind(StrEnum):
    """``block`` refuses an agency's envelopes; ``pause`` only stops delivery to it."""

    BLOCK = "block"
    PAUSE = "pause"


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalBlock:
    """A local decision about one agency, and who took it when."""

    agency: str
    kind: BlockKind
    reason: str
    at_ms: int
    actor: str
