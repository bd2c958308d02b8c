"""Pre-arrival alerts (``notice.alert``) and their outcomes (``notice.outcome``).

An origin unit warns a destination about a container, flight, passenger or
vessel before it arrives; the destination answers with an outcome that names
the alert by envelope id and, after a seizure, the seizure notice it sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from baliza.protocol import codes
from baliza.protocol.canonical import Value
from baliza.protocol.envelope import MessageKind
from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.evaluation import Evaluation
from baliza.protocol.fields import FieldReader, check_enum
from baliza.protocol.ids import EnvelopeId, envelope_id
from baliza.protocol.notices.common import (
    MAX_TIME_MS,
    Attachment,
    FreeText,
    Location,
    Programme,
    ReportingUnit,
    Request,
    count,
    put,
    sorted_unique,
    time_ms,
    within,
)
from baliza.protocol.notices.nominal import Nominal, PersonRole
from baliza.protocol.notices.reporting import (
    check_reported,
    head,
    read_head,
    read_reported,
    write_reported,
)
from baliza.protocol.notices.transport import Vessel

MAX_INDICATORS = 20


class SubjectType(StrEnum):
    """What the alert is about."""

    CONTAINER = "container"
    FLIGHT = "flight"
    PASSENGER = "passenger"
    VESSEL = "vessel"


class RiskIndicator(StrEnum):
    """Why the subject was selected; several may apply."""

    ROUTE = "route"
    SHIPPER = "shipper"
    CONSIGNEE = "consignee"
    GOODS_DESCRIPTION = "goods_description"
    DOCUMENT_ANOMALY = "document_anomaly"
    BOOKING_PATTERN = "booking_pattern"
    PAYMENT = "payment"
    TRAVEL_PATTERN = "travel_pattern"
    TICKET = "ticket"
    PREVIOUS_SEIZURE = "previous_seizure"
    INTELLIGENCE = "intelligence"
    SCANNER_IMAGE = "scanner_image"
    OTHER = "other"


# The identifier each subject type needs; a passenger is named in ``nominal``.
_REQUIRED = {
    SubjectType.CONTAINER: "container",
    SubjectType.FLIGHT: "flight",
    SubjectType.PASSENGER: "flight",
    SubjectType.VESSEL: "vessel",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Subject:
    """The container, flight, passenger or vessel an alert is about."""

    type: SubjectType
    container: str | None = None
    flight: str | None = None
    awb: str | None = None
    vessel: Vessel | None = None

    def __post_init__(self) -> None:
        check_enum(self.type, "type", SubjectType)
        if self.container is not None:
            codes.container(self.container, "container")
        if self.flight is not None:
            codes.flight(self.flight, "flight")
        if self.awb is not None:
            codes.awb(self.awb, "awb")
        needed = _REQUIRED[SubjectType(self.type)]
        if getattr(self, needed) is None:
            raise InputError(
                ReasonCode.MISSING_FIELD, f"a {self.type} subject needs its {needed}", path=needed
            )

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        out: dict[str, Value] = {"type": self.type.value}
        put(out, "container", self.container)
        put(out, "flight", self.flight)
        put(out, "awb", self.awb)
        put(out, "vessel", self.vessel)
        return out

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> Subject:
        """Build from a canonical map."""
        with within(path):
            r = FieldReader(value)
            item = cls(
                type=r.choice("type", SubjectType),
                container=r.opt_text("container", max_len=11),
                flight=r.opt_text("flight", max_len=9),
                awb=r.opt_text("awb", max_len=12),
                vessel=r.opt_nested("vessel", Vessel.from_wire),
            )
            r.finish()
        return item


@dataclass(frozen=True, slots=True, kw_only=True)
class PreArrivalAlert:
    """A warning, before arrival, from an origin unit to a destination."""

    kind: ClassVar[MessageKind] = MessageKind.ALERT

    programme: Programme
    unit: ReportingUnit
    origin: Location
    destination: Location
    subject: Subject
    expected_ms: int
    indicators: tuple[RiskIndicator, ...] = ()
    nominal: Nominal | None = None
    text: FreeText | None = None
    evaluation: Evaluation | None = None
    requests: tuple[Request, ...] = ()
    attachments: tuple[Attachment, ...] = ()

    def __post_init__(self) -> None:
        check_reported(self)
        time_ms(self.expected_ms, "expected_ms")
        count(self.indicators, "indicators", max_len=MAX_INDICATORS)
        for i, indicator in enumerate(self.indicators):
            check_enum(indicator, f"indicators[{i}]", RiskIndicator)
        sorted_unique(self.indicators, "indicators")
        if self.subject.type is SubjectType.PASSENGER and not any(
            p.role is PersonRole.PASSENGER for p in (self.nominal.persons if self.nominal else ())
        ):
            raise InputError(
                ReasonCode.MISSING_FIELD,
                "a passenger alert names the passenger in nominal.persons (role passenger)",
                path="nominal",
            )

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form, with ``v`` and ``kind``."""
        out = head(self.kind)
        write_reported(self, out)
        out["origin"] = self.origin.to_wire()
        out["destination"] = self.destination.to_wire()
        out["subject"] = self.subject.to_wire()
        out["expected_ms"] = self.expected_ms
        put(out, "indicators", self.indicators)
        put(out, "nominal", self.nominal)
        return out

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> PreArrivalAlert:
        """Build from a canonical map; raise ``InputError`` naming the field."""
        with within(path):
            r = FieldReader(value)
            read_head(r, cls.kind)
            item = cls(
                **read_reported(r),
                origin=r.nested("origin", Location.from_wire),
                destination=r.nested("destination", Location.from_wire),
                subject=r.nested("subject", Subject.from_wire),
                expected_ms=r.integer("expected_ms", lo=0, hi=MAX_TIME_MS),
                indicators=r.array(
                    "indicators",
                    lambda v, p: check_enum(v, p, RiskIndicator),
                    max_len=MAX_INDICATORS,
                ),
                nominal=r.opt_nested("nominal", Nominal.from_wire),
            )
            r.finish()
        return item


class OutcomeResult(StrEnum):
    """What the destination found."""

    INSPECTED = "inspected"  # inspected, result still pending
    NEGATIVE = "negative"  # inspected, nothing found
    SEIZURE = "seizure"  # inspected and seized: ``seizure`` names the notice
    NOT_ARRIVED = "not_arrived"


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertOutcome:
    """The destination's answer to a pre-arrival alert."""

    kind: ClassVar[MessageKind] = MessageKind.OUTCOME

    alert: EnvelopeId
    result: OutcomeResult
    at_ms: int
    seizure: EnvelopeId | None = None
    text: FreeText | None = None

    def __post_init__(self) -> None:
        envelope_id(self.alert, "alert")
        check_enum(self.result, "result", OutcomeResult)
        time_ms(self.at_ms, "at_ms")
        if (self.result is OutcomeResult.SEIZURE) != (self.seizure is not None):
            raise InputError(
                ReasonCode.INCONSISTENT,
                "a seizure outcome names its seizure notice, and only it does",
                path="seizure",
            )
        if self.seizure is not None:
            envelope_id(self.seizure, "seizure")

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form, with ``v`` and ``kind``."""
        out = head(self.kind)
        out["alert"] = self.alert
        out["result"] = self.result.value
        out["at_ms"] = self.at_ms
        put(out, "seizure", self.seizure)
        put(out, "text", self.text)
        return out

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> AlertOutcome:
        """Build from a canonical map; raise ``InputError`` naming the field."""
        with within(path):
            r = FieldReader(value)
            read_head(r, cls.kind)
            item = cls(
                alert=EnvelopeId(r.text("alert", max_len=36)),
                result=r.choice("result", OutcomeResult),
                at_ms=r.integer("at_ms", lo=0, hi=MAX_TIME_MS),
                seizure=r.opt_nested("seizure", envelope_id),
                text=r.opt_nested("text", FreeText.from_wire),
            )
            r.finish()
        return item
