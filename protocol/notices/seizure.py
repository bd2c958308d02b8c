"""The seizure notice (``notice.seizure``): what was seized, where, when and how.

The non-nominal facts (goods, quantities, place, conveyance, route, methods)
are top-level fields; persons, companies and documents sit apart in
``nominal`` so they can be shared under stricter rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from baliza.protocol.canonical import Value
from baliza.protocol.envelope import MessageKind
from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.evaluation import Evaluation
from baliza.protocol.fields import FieldReader, check_enum, check_str
from baliza.protocol.notices.common import (
    MAX_DESCRIPTION,
    MAX_NAME,
    MAX_TIME_MS,
    Attachment,
    FreeText,
    Location,
    Programme,
    Quantity,
    ReportingUnit,
    Request,
    count,
    line,
    prose,
    put,
    time_ms,
    within,
)
from baliza.protocol.notices.nominal import Nominal
from baliza.protocol.notices.reporting import (
    check_reported,
    head,
    read_head,
    read_reported,
    write_reported,
)
from baliza.protocol.notices.transport import Conveyance, Route, TransportMode

MAX_COMMODITIES = 50
MAX_CASE_REF = 64

CASE_REF = re.compile(r"[A-Z0-9][A-Z0-9/._\-]*")


class Category(StrEnum):
    """Commodity categories, broad enough for feeds to filter on."""

    COCAINE = "cocaine"
    HEROIN = "heroin"
    CANNABIS = "cannabis"
    SYNTHETIC = "synthetic"  # amphetamine-type stimulants, NPS, fentanyl analogues
    PRECURSOR = "precursor"
    CIGARETTES = "cigarettes"
    CURRENCY = "currency"
    WEAPONS = "weapons"
    WILDLIFE = "wildlife"
    COUNTERFEIT = "counterfeit"
    OTHER = "other"


class Concealment(StrEnum):
    """How the goods were hidden."""

    RIP_ON_RIP_OFF = "rip_on_rip_off"  # bags added to a legitimate container
    LEGITIMATE_CARGO = "legitimate_cargo"  # mixed into or disguised as the declared goods
    STRUCTURE = "structure"  # walls, floor, refrigeration unit, hull
    VEHICLE_COMPARTMENT = "vehicle_compartment"
    LUGGAGE = "luggage"
    BODY_CARRY = "body_carry"
    INGESTION = "ingestion"
    PARCEL = "parcel"
    NONE = "none"  # undeclared but not hidden
    OTHER = "other"


class Detection(StrEnum):
    """What led to the find."""

    RISK_PROFILE = "risk_profile"
    SCANNER = "scanner"
    CANINE = "canine"
    PHYSICAL_SEARCH = "physical_search"
    INTELLIGENCE = "intelligence"
    PRE_ARRIVAL_ALERT = "pre_arrival_alert"
    RANDOM = "random"
    OTHER = "other"


def case_ref(value: object, path: str) -> str:
    """A case reference: upper-case letters, digits and ``/ . _ -``."""
    text = check_str(value, path, max_len=MAX_CASE_REF)  # type: ignore[arg-type]
    if CASE_REF.fullmatch(text) is None:
        raise InputError(
            ReasonCode.BAD_FORMAT, "must be upper-case letters, digits and / . _ -", path=path
        )
    return text


@dataclass(frozen=True, slots=True, kw_only=True)
class Commodity:
    """One kind of goods seized, with its quantity."""

    category: Category
    quantity: Quantity
    description: str | None = None
    packaging: str | None = None

    def __post_init__(self) -> None:
        check_enum(self.category, "category", Category)
        if not isinstance(self.quantity, Quantity):
            raise InputError(ReasonCode.WRONG_TYPE, "must be a Quantity", path="quantity")
        if self.description is not None:
            prose(self.description, "description", max_len=MAX_DESCRIPTION)
        if self.packaging is not None:
            line(self.packaging, "packaging", max_len=MAX_NAME)

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        out: dict[str, Value] = {
            "category": self.category.value,
            "quantity": self.quantity.to_wire(),
        }
        put(out, "description", self.description)
        put(out, "packaging", self.packaging)
        return out

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> Commodity:
        """Build from a canonical map."""
        with within(path):
            r = FieldReader(value)
            item = cls(
                category=r.choice("category", Category),
                quantity=r.nested("quantity", Quantity.from_wire),
                description=r.opt_text("description", max_len=MAX_DESCRIPTION),
                packaging=r.opt_text("packaging", max_len=MAX_NAME),
            )
            r.finish()
        return item


@dataclass(frozen=True, slots=True, kw_only=True)
class SeizureNotice:
    """A seizure: when, where, what, how it was hidden and found, and by whom carried."""

    kind: ClassVar[MessageKind] = MessageKind.SEIZURE

    programme: Programme
    unit: ReportingUnit
    seized_ms: int
    location: Location
    transport: TransportMode
    commodities: tuple[Commodity, ...]
    concealment: Concealment | None = None
    detection: Detection | None = None
    conveyance: Conveyance | None = None
    route: Route | None = None
    nominal: Nominal | None = None
    case_ref: str | None = None
    text: FreeText | None = None
    evaluation: Evaluation | None = None
    requests: tuple[Request, ...] = ()
    attachments: tuple[Attachment, ...] = ()

    def __post_init__(self) -> None:
        check_reported(self)
        time_ms(self.seized_ms, "seized_ms")
        check_enum(self.transport, "transport", TransportMode)
        count(self.commodities, "commodities", min_len=1, max_len=MAX_COMMODITIES)
        if self.concealment is not None:
            check_enum(self.concealment, "concealment", Concealment)
        if self.detection is not None:
            check_enum(self.detection, "detection", Detection)
        if self.case_ref is not None:
            case_ref(self.case_ref, "case_ref")

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form, with ``v`` and ``kind``."""
        out = head(self.kind)
        write_reported(self, out)
        out["seized_ms"] = self.seized_ms
        out["location"] = self.location.to_wire()
        out["transport"] = self.transport.value
        put(out, "commodities", self.commodities)
        put(out, "concealment", self.concealment)
        put(out, "detection", self.detection)
        put(out, "conveyance", self.conveyance)
        put(out, "route", self.route)
        put(out, "nominal", self.nominal)
        put(out, "case_ref", self.case_ref)
        return out

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> SeizureNotice:
        """Build from a canonical map; raise ``InputError`` naming the field."""
        with within(path):
            r = FieldReader(value)
            read_head(r, cls.kind)
            item = cls(
                **read_reported(r),
                seized_ms=r.integer("seized_ms", lo=0, hi=MAX_TIME_MS),
                location=r.nested("location", Location.from_wire),
                transport=r.choice("transport", TransportMode),
                commodities=r.array(
                    "commodities", Commodity.from_wire, min_len=1, max_len=MAX_COMMODITIES
                ),
                concealment=r.opt_choice("concealment", Concealment),
                detection=r.opt_choice("detection", Detection),
                conveyance=r.opt_nested("conveyance", Conveyance.from_wire),
                route=r.opt_nested("route", Route.from_wire),
                nominal=r.opt_nested("nominal", Nominal.from_wire),
                case_ref=r.opt_text("case_ref", max_len=MAX_CASE_REF),
            )
            r.finish()
        return item
