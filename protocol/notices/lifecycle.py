"""Receipts, corrections and retractions: messages about other envelopes.

Envelopes are immutable, so a notice is never edited in place: a correction
is a new envelope carrying a full replacement notice, a retraction a new
envelope withdrawing one. Both name the envelope they supersede here, and the
sender also puts that id in the envelope header's ``supersedes`` so nodes can
act on it without decrypting (the crypto layer checks the two agree).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, TypeAlias

from baliza.protocol.canonical import Value
from baliza.protocol.envelope import MessageKind
from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.fields import FieldReader, as_map, check_enum
from baliza.protocol.ids import EnvelopeId, envelope_id
from baliza.protocol.notices.alert import AlertOutcome, PreArrivalAlert
from baliza.protocol.notices.case import CaseNotice
from baliza.protocol.notices.common import MAX_DESCRIPTION, MAX_TIME_MS, prose, time_ms, within
from baliza.protocol.notices.reporting import head, read_head
from baliza.protocol.notices.seizure import SeizureNotice

#: Notices that state facts and can therefore be corrected.
Correctable: TypeAlias = SeizureNotice | PreArrivalAlert | AlertOutcome | CaseNotice

CORRECTABLE: dict[str, type[Correctable]] = {
    cls.kind.value: cls for cls in (SeizureNotice, PreArrivalAlert, AlertOutcome, CaseNotice)
}


class ReceiptStatus(StrEnum):
    """How far the recipient got with an envelope."""

    DELIVERED = "delivered"  # stored by the recipient's node
    READ = "read"  # opened by a person
    ACTIONED = "actioned"  # acted upon (the requests were handled)


@dataclass(frozen=True, slots=True, kw_only=True)
class Receipt:
    """A signed acknowledgement of an envelope."""

    kind: ClassVar[MessageKind] = MessageKind.RECEIPT

    envelope: EnvelopeId
    status: ReceiptStatus
    at_ms: int

    def __post_init__(self) -> None:
        envelope_id(self.envelope, "envelope")
        check_enum(self.status, "status", ReceiptStatus)
        time_ms(self.at_ms, "at_ms")

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form, with ``v`` and ``kind``."""
        out = head(self.kind)
        out["envelope"] = self.envelope
        out["status"] = self.status.value
        out["at_ms"] = self.at_ms
        return out

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> Receipt:
        """Build from a canonical map; raise ``InputError`` naming the field."""
        with within(path):
            r = FieldReader(value)
            read_head(r, cls.kind)
            item = cls(
                envelope=envelope_id(r.text("envelope", max_len=36), "envelope"),
                status=r.choice("status", ReceiptStatus),
                at_ms=r.integer("at_ms", lo=0, hi=MAX_TIME_MS),
            )
            r.finish()
        return item


def read_correctable(value: Value, path: str = "") -> Correctable:
    """Decode a nested notice of a correctable kind."""
    with within(path):
        kind = as_map(value, "").get("kind")
        cls = CORRECTABLE.get(kind) if isinstance(kind, str) else None
        if cls is None:
            raise InputError(
                ReasonCode.UNKNOWN_KIND,
                f"must be one of: {', '.join(sorted(CORRECTABLE))}",
                path="kind",
            )
        return cls.from_wire(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Correction:
    """A full replacement for an earlier notice of the same kind."""

    kind: ClassVar[MessageKind] = MessageKind.CORRECTION

    supersedes: EnvelopeId
    reason: str
    notice: Correctable

    def __post_init__(self) -> None:
        envelope_id(self.supersedes, "supersedes")
        prose(self.reason, "reason", max_len=MAX_DESCRIPTION)
        if not isinstance(self.notice, tuple(CORRECTABLE.values())):
            raise InputError(
                ReasonCode.UNKNOWN_KIND, "only a fact-stating notice is corrected", path="notice"
            )

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form, with ``v`` and ``kind``."""
        out = head(self.kind)
        out["supersedes"] = self.supersedes
        out["reason"] = self.reason
        out["notice"] = self.notice.to_wire()
        return out

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> Correction:
        """Build from a canonical map; raise ``InputError`` naming the field."""
        with within(path):
            r = FieldReader(value)
            read_head(r, cls.kind)
            item = cls(
                supersedes=envelope_id(r.text("supersedes", max_len=36), "supersedes"),
                reason=r.text("reason", max_len=MAX_DESCRIPTION),
                notice=r.nested("notice", read_correctable),
            )
            r.finish()
        return item


@dataclass(frozen=True, slots=True, kw_only=True)
class Retraction:
    """Withdrawal of an earlier notice (sent in error, or must no longer be used)."""

    kind: ClassVar[MessageKind] = MessageKind.RETRACTION

    supersedes: EnvelopeId
    reason: str

    def __post_init__(self) -> None:
        envelope_id(self.supersedes, "supersedes")
        prose(self.reason, "reason", max_len=MAX_DESCRIPTION)

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form, with ``v`` and ``kind``."""
        out = head(self.kind)
        out["supersedes"] = self.supersedes
        out["reason"] = self.reason
        return out

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> Retraction:
        """Build from a canonical map; raise ``InputError`` naming the field."""
        with within(path):
            r = FieldReader(value)
            read_head(r, cls.kind)
            item = cls(
                supersedes=envelope_id(r.text("supersedes", max_len=36), "supersedes"),
                reason=r.text("reason", max_len=MAX_DESCRIPTION),
            )
            r.finish()
        return item
