"""The nominal section: persons, companies and documents named in a notice.

Nominal data is personal data under data-protection law and is shared under
stricter rules than the facts of a seizure (what, where, how much). Keeping it
in its own section lets a node store, index, redact or withhold it as a whole,
and lets a publisher send the non-nominal facts to a wider feed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from baliza.protocol import codes
from baliza.protocol.canonical import Value
from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.fields import FieldReader, check_enum
from baliza.protocol.notices.common import MAX_NAME, count, line, put, within

MAX_PERSONS = 100
MAX_COMPANIES = 100
MAX_DOCUMENTS = 100
MAX_PERSON_DOCUMENTS = 10
MAX_DOCUMENT_NUMBER = 40
MAX_REGISTRATION = 64

# Upper case so that the same passport typed twice gives the same reference.
_DOCUMENT_NUMBER = re.compile(r"[A-Z0-9][A-Z0-9/.\-]*")
_BIRTH_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class DocumentType(StrEnum):
    """Identity, travel and trade documents."""

    PASSPORT = "passport"
    ID_CARD = "id_card"
    RESIDENCE_PERMIT = "residence_permit"
    DRIVING_LICENCE = "driving_licence"
    VISA = "visa"
    BILL_OF_LADING = "bill_of_lading"
    AIR_WAYBILL = "air_waybill"
    INVOICE = "invoice"
    PACKING_LIST = "packing_list"
    CUSTOMS_DECLARATION = "customs_declaration"
    BOOKING = "booking"
    OTHER = "other"


class PersonRole(StrEnum):
    """What a person did in the events reported."""

    SUSPECT = "suspect"
    COURIER = "courier"
    PASSENGER = "passenger"
    DRIVER = "driver"
    CREW = "crew"
    SENDER = "sender"
    RECIPIENT = "recipient"
    OWNER = "owner"
    OTHER = "other"


class CompanyRole(StrEnum):
    """The part a company plays in a shipment, as in trade documents."""

    SHIPPER = "shipper"
    CONSIGNEE = "consignee"
    NOTIFY = "notify"
    FORWARDER = "forwarder"
    CARRIER = "carrier"
    IMPORTER = "importer"
    EXPORTER = "exporter"
    AGENT = "agent"
    OTHER = "other"


@dataclass(frozen=True, slots=True, kw_only=True)
class Document:
    """A document by type, number (upper case) and issuing country."""

    type: DocumentType
    number: str
    country: str | None = None

    def __post_init__(self) -> None:
        check_enum(self.type, "type", DocumentType)
        line(self.number, "number", max_len=MAX_DOCUMENT_NUMBER)
        if _DOCUMENT_NUMBER.fullmatch(self.number) is None:
            raise InputError(
                ReasonCode.BAD_FORMAT,
                "must be upper-case letters and digits (with / . - inside)",
                path="number",
            )
        if self.country is not None:
            codes.country(self.country, "country")

    @property
    def ref(self) -> str:
        """The cross-notice reference: ``PA:123456``, or the number alone."""
        return f"{self.country}:{self.number}" if self.country else self.number

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        out: dict[str, Value] = {"type": self.type.value, "number": self.number}
        put(out, "country", self.country)
        return out

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> Document:
        """Build from a canonical map."""
        with within(path):
            r = FieldReader(value)
            item = cls(
                type=r.choice("type", DocumentType),
                number=r.text("number", max_len=MAX_DOCUMENT_NUMBER),
                country=r.opt_text("country", max_len=2),
            )
            r.finish()
        return item


def birth_date(value: object, path: str) -> str:
    """A calendar date ``YYYY-MM-DD`` (a date of birth is a date, not an instant)."""
    if not isinstance(value, str) or _BIRTH_DATE.fullmatch(value) is None:
        raise InputError(ReasonCode.BAD_FORMAT, "must be a date YYYY-MM-DD", path=path)
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise InputError(ReasonCode.BAD_FORMAT, "is not a calendar date", path=path) from None
    if parsed.year < 1900:
        raise InputError(ReasonCode.OUT_OF_RANGE, "must be 1900 or later", path=path)
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Person:
    """A person named in a notice, with their role and identity documents."""

    role: PersonRole
    family_name: str
    given_names: str | None = None
    nationality: str | None = None
    birth_date: str | None = None
    documents: tuple[Document, ...] = ()

    def __post_init__(self) -> None:
        check_enum(self.role, "role", PersonRole)
        line(self.family_name, "family_name", max_len=MAX_NAME)
        if self.given_names is not None:
            line(self.given_names, "given_names", max_len=MAX_NAME)
        if self.nationality is not None:
            codes.country(self.nationality, "nationality")
        if self.birth_date is not None:
            birth_date(self.birth_date, "birth_date")
        count(self.documents, "documents", max_len=MAX_PERSON_DOCUMENTS)

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        out: dict[str, Value] = {"role": self.role.value, "family_name": self.family_name}
        put(out, "given_names", self.given_names)
        put(out, "nationality", self.nationality)
        put(out, "birth_date", self.birth_date)
        put(out, "documents", self.documents)
        return out

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> Person:
        """Build from a canonical map."""
        with within(path):
            r = FieldReader(value)
            item = cls(
                role=r.choice("role", PersonRole),
                family_name=r.text("family_name", max_len=MAX_NAME),
                given_names=r.opt_text("given_names", max_len=MAX_NAME),
                nationality=r.opt_text("nationality", max_len=2),
                birth_date=r.opt_text("birth_date", max_len=10),
                documents=r.array("documents", Document.from_wire, max_len=MAX_PERSON_DOCUMENTS),
            )
            r.finish()
        return item


@dataclass(frozen=True, slots=True, kw_only=True)
class Company:
    """A company named in a notice, with its role in the shipment."""

    role: CompanyRole
    name: str
    country: str | None = None
    registration: str | None = None

    def __post_init__(self) -> None:
        check_enum(self.role, "role", CompanyRole)
        line(self.name, "name", max_len=MAX_NAME)
        if self.country is not None:
            codes.country(self.country, "country")
        if self.registration is not None:
            line(self.registration, "registration", max_len=MAX_REGISTRATION)

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        out: dict[str, Value] = {"role": self.role.value, "name": self.name}
        put(out, "country", self.country)
        put(out, "registration", self.registration)
        return out

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> Company:
        """Build from a canonical map."""
        with within(path):
            r = FieldReader(value)
            item = cls(
                role=r.choice("role", CompanyRole),
                name=r.text("name", max_len=MAX_NAME),
                country=r.opt_text("country", max_len=2),
                registration=r.opt_text("registration", max_len=MAX_REGISTRATION),
            )
            r.finish()
        return item


@dataclass(frozen=True, slots=True, kw_only=True)
class Nominal:
    """The nominal section; never empty when present (absent instead)."""

    persons: tuple[Person, ...] = ()
    companies: tuple[Company, ...] = ()
    documents: tuple[Document, ...] = ()

    def __post_init__(self) -> None:
        count(self.persons, "persons", max_len=MAX_PERSONS)
        count(self.companies, "companies", max_len=MAX_COMPANIES)
        count(self.documents, "documents", max_len=MAX_DOCUMENTS)
        if not (self.persons or self.companies or self.documents):
            raise InputError(
                ReasonCode.MISSING_FIELD,
                "an empty nominal section is omitted, not sent",
                path="persons",
            )

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        out: dict[str, Value] = {}
        put(out, "persons", self.persons)
        put(out, "companies", self.companies)
        put(out, "documents", self.documents)
        return out

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> Nominal:
        """Build from a canonical map."""
        with within(path):
            r = FieldReader(value)
            item = cls(
                persons=r.array("persons", Person.from_wire, max_len=MAX_PERSONS),
                companies=r.array("companies", Company.from_wire, max_len=MAX_COMPANIES),
                documents=r.array("documents", Document.from_wire, max_len=MAX_DOCUMENTS),
            )
            r.finish()
        return item
