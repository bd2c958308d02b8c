"""How goods and people travel: transport mode, conveyance and route.

These are the identifiers analysts match across notices (the same container,
vessel, flight or waybill seen by two agencies), so every one of them is
checked against its standard and travels in its single canonical spelling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from baliza.protocol import codes
from baliza.protocol.canonical import Value
from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.fields import FieldReader, check_str
from baliza.protocol.notices.common import MAX_NAME, Location, count, line, put, within

MAX_SEALS = 10
MAX_TRANSIT = 10
MAX_SEAL = 32
MAX_PLATE = 16

_SEAL = re.compile(r"[A-Z0-9][A-Z0-9\-]*")
_PLATE = re.compile(r"[A-Z0-9]+")


class TransportMode(StrEnum):
    """The mode of transport of the goods or person."""

    SEA = "sea"
    AIR = "air"
    ROAD = "road"
    RAIL = "rail"
    POST = "post"
    OTHER = "other"


@dataclass(frozen=True, slots=True, kw_only=True)
class Vessel:
    """A ship: IMO number (seven digits), name as painted, flag state."""

    imo: str | None = None
    name: str | None = None
    flag: str | None = None

    def __post_init__(self) -> None:
        if self.imo is None and self.name is None:
            raise InputError(ReasonCode.MISSING_FIELD, "needs an imo number or a name", path="imo")
        if self.imo is not None:
            codes.imo(self.imo, "imo")
        if self.name is not None:
            line(self.name, "name", max_len=MAX_NAME)
        if self.flag is not None:
            codes.country(self.flag, "flag")

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        out: dict[str, Value] = {}
        put(out, "imo", self.imo)
        put(out, "name", self.name)
        put(out, "flag", self.flag)
        return out

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> Vessel:
        """Build from a canonical map."""
        with within(path):
            r = FieldReader(value)
            item = cls(
                imo=r.opt_text("imo", max_len=7),
                name=r.opt_text("name", max_len=MAX_NAME),
                flag=r.opt_text("flag", max_len=2),
            )
            r.finish()
        return item


@dataclass(frozen=True, slots=True, kw_only=True)
class Vehicle:
    """A road vehicle by plate (upper case, no spaces) and registering country."""

    plate: str
    country: str | None = None

    def __post_init__(self) -> None:
        check_str(self.plate, "plate", max_len=MAX_PLATE)
        if _PLATE.fullmatch(self.plate) is None:
            raise InputError(
                ReasonCode.BAD_FORMAT, "must be upper-case letters and digits only", path="plate"
            )
        if self.country is not None:
            codes.country(self.country, "country")

    @property
    def ref(self) -> str:
        """Cross-notice reference ``CO:ABC123`` (plates repeat across countries)."""
        return f"{self.country}:{self.plate}" if self.country else self.plate

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        out: dict[str, Value] = {"plate": self.plate}
        put(out, "country", self.country)
        return out

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> Vehicle:
        """Build from a canonical map."""
        with within(path):
            r = FieldReader(value)
            item = cls(
                plate=r.text("plate", max_len=MAX_PLATE), country=r.opt_text("country", max_len=2)
            )
            r.finish()
        return item


@dataclass(frozen=True, slots=True, kw_only=True)
class Conveyance:
    """What carried the goods: container and seals, vessel, flight, waybill, vehicle."""

    container: str | None = None
    seals: tuple[str, ...] = ()
    vessel: Vessel | None = None
    flight: str | None = None
    awb: str | None = None
    vehicle: Vehicle | None = None

    def __post_init__(self) -> None:
        if self.container is not None:
            codes.container(self.container, "container")
        count(self.seals, "seals", max_len=MAX_SEALS)
        for i, seal in enumerate(self.seals):
            check_str(seal, f"seals[{i}]", max_len=MAX_SEAL)
            if _SEAL.fullmatch(seal) is None:
                raise InputError(
                    ReasonCode.BAD_FORMAT,
                    "must be upper-case letters, digits and -",
                    path=f"seals[{i}]",
                )
        if self.seals and self.container is None:
            raise InputError(ReasonCode.INCONSISTENT, "seals need a container", path="seals")
        if self.flight is not None:
            codes.flight(self.flight, "flight")
        if self.awb is not None:
            codes.awb(self.awb, "awb")
        if not (self.container or self.vessel or self.flight or self.awb or self.vehicle):
            raise InputError(
                ReasonCode.MISSING_FIELD,
                "needs at least one of container, vessel, flight, awb, vehicle",
                path="container",
            )

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        out: dict[str, Value] = {}
        put(out, "container", self.container)
        put(out, "seals", self.seals)
        put(out, "vessel", self.vessel)
        put(out, "flight", self.flight)
        put(out, "awb", self.awb)
        put(out, "vehicle", self.vehicle)
        return out

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> Conveyance:
        """Build from a canonical map."""
        with within(path):
            r = FieldReader(value)
            item = cls(
                container=r.opt_text("container", max_len=11),
                seals=r.array(
                    "seals", lambda v, p: check_str(v, p, max_len=MAX_SEAL), max_len=MAX_SEALS
                ),
                vessel=r.opt_nested("vessel", Vessel.from_wire),
                flight=r.opt_text("flight", max_len=9),
                awb=r.opt_text("awb", max_len=12),
                vehicle=r.opt_nested("vehicle", Vehicle.from_wire),
            )
            r.finish()
        return item


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """Where the goods were loaded, passed through, discharged and were going."""

    loading: Location | None = None
    transit: tuple[Location, ...] = ()
    discharge: Location | None = None
    destination: Location | None = None

    def __post_init__(self) -> None:
        count(self.transit, "transit", max_len=MAX_TRANSIT)
        if not (self.loading or self.transit or self.discharge or self.destination):
            raise InputError(
                ReasonCode.MISSING_FIELD, "an empty route is omitted, not sent", path="loading"
            )

    def places(self) -> tuple[Location, ...]:
        """All places of the route, in travel order."""
        ordered = (self.loading, *self.transit, self.discharge, self.destination)
        return tuple(p for p in ordered if p is not None)

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        out: dict[str, Value] = {}
        put(out, "loading", self.loading)
        put(out, "transit", self.transit)
        put(out, "discharge", self.discharge)
        put(out, "destination", self.destination)
        return out

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> Route:
        """Build from a canonical map."""
        with within(path):
            r = FieldReader(value)
            item = cls(
                loading=r.opt_nested("loading", Location.from_wire),
                transit=r.array("transit", Location.from_wire, max_len=MAX_TRANSIT),
                discharge=r.opt_nested("discharge", Location.from_wire),
                destination=r.opt_nested("destination", Location.from_wire),
            )
            r.finish()
        return item
