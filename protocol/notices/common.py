"""Parts shared by several notices, and the small helpers that read them.

Rules of this file:

* Every part is a frozen dataclass that validates itself in ``__post_init__``
  with paths relative to itself (``quantity.amount``); ``from_wire`` reads the
  map with a ``FieldReader`` relative to itself too, inside ``within(path)``,
  which prefixes the caller's path once. Nesting therefore composes into the
  full path (``commodities[2].quantity.amount``) without any part knowing
  where it sits.
* Optional fields absent on the wire are ``None`` (or ``()`` for lists) in
  Python, and ``to_wire`` omits them again: one value, one encoding.
* Limits are module constants so the spec, ``__post_init__`` and
  ``from_wire`` cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType

from baliza.protocol import codes
from baliza.protocol.canonical import Value
from baliza.protocol.errors import BalizaError, InputError, ReasonCode
from baliza.protocol.fields import (
    FieldReader,
    check_enum,
    check_int,
    check_line,
    check_prose,
    check_str,
)
from baliza.protocol.ids import AgencyId, EnvelopeId, agency_id, envelope_id
from baliza.protocol.notices.filenames import check_filename

NOTICE_VERSION = 1

MAX_TIME_MS = 2**53 - 1  # exact in JSON numbers and JavaScript
MAX_AMOUNT = 2**53 - 1
MAX_NAME = 200  # names of people, companies, vessels, units; short descriptions
MAX_DESCRIPTION = 1000  # descriptions of goods, concealment, reasons
MAX_PROSE = 8000  # free text of a notice
MAX_REQUESTS = 10
MAX_ATTACHMENTS = 20
MAX_ATTACHMENT_SIZE = 10 * 1024 * 1024
# Attachments travel encrypted with the notice, inside an envelope body of at
# most 16 MiB: their total must leave room for the notice itself.
MAX_ATTACHMENTS_TOTAL = 15 * 1024 * 1024
SHA256_LEN = 32

_FILENAME_BAD = re.compile(r"[\x00-\x1f\x7f/\\]")


class within:  # noqa: N801 - used like a function: ``with within(path):``
    """Prefix ``path`` to the path of any Baliza error raised inside the block."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        err: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(err, BalizaError) and self.path:
            raise err.at(self.path) from None


def line(value: object, path: str, *, max_len: int = MAX_NAME) -> str:
    """A one-line string: no control or format characters, 1 to ``max_len`` characters."""
    return check_line(check_str(value, path, max_len=max_len), path)  # type: ignore[arg-type]


def prose(value: object, path: str, *, max_len: int = MAX_PROSE) -> str:
    """Multi-line text: tabs and newlines allowed, other control and format characters not."""
    return check_prose(check_str(value, path, max_len=max_len), path)  # type: ignore[arg-type]


def time_ms(value: object, path: str) -> int:
    """A time as Unix milliseconds UTC."""
    return check_int(value, path, lo=0, hi=MAX_TIME_MS)  # type: ignore[arg-type]


def count(items: Sequence[object], path: str, *, max_len: int, min_len: int = 0) -> None:
    """Check the number of items of a list field."""
    if not isinstance(items, tuple):
        raise InputError(ReasonCode.WRONG_TYPE, "must be a tuple", path=path)
    if not min_len <= len(items) <= max_len:
        raise InputError(
            ReasonCode.BAD_LENGTH, f"must have between {min_len} and {max_len} items", path=path
        )


def sorted_unique(items: Sequence[str], path: str) -> None:
    """Sets travel sorted and without duplicates, so they have one encoding."""
    if list(items) != sorted(set(items)):
        raise InputError(ReasonCode.NON_CANONICAL, "must be sorted and unique", path=path)


def put(out: dict[str, Value], name: str, value: object) -> None:
    """Set an optional field in a wire map, omitting ``None`` and empty tuples."""
    if value is None or value == ():
        return
    if isinstance(value, tuple):
        out[name] = [_wire(v) for v in value]
    else:
        out[name] = _wire(value)


def _wire(value: object) -> Value:
    to_wire = getattr(value, "to_wire", None)
    if to_wire is not None:
        return to_wire()  # type: ignore[no-any-return]
    if isinstance(value, StrEnum):
        return value.value
    return value  # type: ignore[return-value]


def read_envelope_id(reader: FieldReader, name: str) -> EnvelopeId:
    """Required envelope id field."""
    return envelope_id(reader.text(name, max_len=36), reader.at(name))


def read_agency(reader: FieldReader, name: str) -> AgencyId:
    """Required agency id field."""
    return agency_id(reader.text(name, max_len=100), reader.at(name))


class Programme(StrEnum):
    """The cooperation programme a notice belongs to."""

    CCP = "ccp"  # container control programme (ports)
    AIRCOP = "aircop"  # airport communication programme
    GMCP = "gmcp"  # global maritime crime programme
    JIT = "jit"  # joint investigation team
    OTHER = "other"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportingUnit:
    """The unit that wrote the notice: its agency id and how people call it."""

    agency: AgencyId
    name: str | None = None
    contact: str | None = None

    def __post_init__(self) -> None:
        agency_id(self.agency, "agency")
        if self.name is not None:
            line(self.name, "name")
        if self.contact is not None:
            line(self.contact, "contact")

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        out: dict[str, Value] = {"agency": self.agency}
        put(out, "name", self.name)
        put(out, "contact", self.contact)
        return out

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> ReportingUnit:
        """Build from a canonical map."""
        with within(path):
            r = FieldReader(value)
            unit = cls(
                agency=read_agency(r, "agency"),
                name=r.opt_text("name", max_len=MAX_NAME),
                contact=r.opt_text("contact", max_len=MAX_NAME),
            )
            r.finish()
        return unit


@dataclass(frozen=True, slots=True, kw_only=True)
class FreeText:
    """Free text and the BCP 47 tag of its language, so it can be translated."""

    lang: str
    text: str

    def __post_init__(self) -> None:
        codes.language(self.lang, "lang")
        prose(self.text, "text")

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        return {"lang": self.lang, "text": self.text}

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> FreeText:
        """Build from a canonical map."""
        with within(path):
            r = FieldReader(value)
            item = cls(lang=r.text("lang", max_len=32), text=r.text("text", max_len=MAX_PROSE))
            r.finish()
        return item


class RequestAction(StrEnum):
    """What the sender asks the recipients to do."""

    INSPECT = "inspect"
    CONFIRM_RECEIPT = "confirm_receipt"
    SHARE_OUTCOME = "share_outcome"
    HOLD = "hold"
    CONTROLLED_DELIVERY = "controlled_delivery"
    CONTACT_SENDER = "contact_sender"
    OTHER = "other"


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """A request to the recipients; ``other`` must say what in ``note``."""

    action: RequestAction
    note: str | None = None

    def __post_init__(self) -> None:
        check_enum(self.action, "action", RequestAction)
        if self.note is not None:
            prose(self.note, "note", max_len=MAX_DESCRIPTION)
        elif self.action is RequestAction.OTHER:
            raise InputError(ReasonCode.MISSING_FIELD, "action other needs a note", path="note")

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        out: dict[str, Value] = {"action": self.action.value}
        put(out, "note", self.note)
        return out

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> Request:
        """Build from a canonical map."""
        with within(path):
            r = FieldReader(value)
            item = cls(
                action=r.choice("action", RequestAction),
                note=r.opt_text("note", max_len=MAX_DESCRIPTION),
            )
            r.finish()
        return item


class MediaType(StrEnum):
    """Attachment types a recipient can open safely; everything else is refused."""

    JPEG = "image/jpeg"
    PNG = "image/png"
    WEBP = "image/webp"
    HEIC = "image/heic"
    PDF = "application/pdf"
    TEXT = "text/plain"
    CSV = "text/csv"
    MP4 = "video/mp4"


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    """A file sent with the notice, named by the SHA-256 of its content."""

    sha256: bytes
    media_type: MediaType
    size: int
    filename: str

    def __post_init__(self) -> None:
        if not isinstance(self.sha256, bytes) or len(self.sha256) != SHA256_LEN:
            raise InputError(ReasonCode.BAD_LENGTH, "must be 32 bytes", path="sha256")
        _media_type(self.media_type, "media_type")
        check_int(self.size, "size", lo=1, hi=MAX_ATTACHMENT_SIZE)
        line(self.filename, "filename", max_len=255)
        if _FILENAME_BAD.search(self.filename) or self.filename in {".", ".."}:
            raise InputError(
                ReasonCode.BAD_FORMAT, "must be a bare file name without / or \\", path="filename"
            )
        check_filename(self.filename)

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        return {
            "sha256": self.sha256,
            "media_type": self.media_type.value,
            "size": self.size,
            "filename": self.filename,
        }

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> Attachment:
        """Build from a canonical map."""
        with within(path):
            r = FieldReader(value)
            sha = r.blob("sha256", min_len=SHA256_LEN, max_len=SHA256_LEN)
            item = cls(
                sha256=sha,
                media_type=_media_type(r.text("media_type", max_len=100), "media_type"),
                size=r.integer("size", lo=1, hi=MAX_ATTACHMENT_SIZE),
                filename=r.text("filename", max_len=255),
            )
            r.finish()
        return item


def _media_type(value: object, path: str) -> MediaType:
    if isinstance(value, MediaType):
        return value
    if isinstance(value, str) and value in _MEDIA_TYPES:
        return MediaType(value)
    raise InputError(
        ReasonCode.UNSUPPORTED_MEDIA,
        f"must be one of: {', '.join(sorted(_MEDIA_TYPES))}",
        path=path,
    )


_MEDIA_TYPES = frozenset(m.value for m in MediaType)


def check_attachments(items: tuple[Attachment, ...], path: str) -> None:
    """Count, total size and uniqueness of a notice's attachments."""
    count(items, path, max_len=MAX_ATTACHMENTS)
    if sum(a.size for a in items) > MAX_ATTACHMENTS_TOTAL:
        raise InputError(
            ReasonCode.OUT_OF_RANGE,
            f"attachments total more than {MAX_ATTACHMENTS_TOTAL} bytes",
            path=path,
        )
    hashes = [a.sha256 for a in items]
    if len(set(hashes)) != len(hashes):
        raise InputError(ReasonCode.DUPLICATE_KEY, "the same content is attached twice", path=path)


@dataclass(frozen=True, slots=True, kw_only=True)
class Location:
    """A port or place by UN/LOCODE, or an airport by IATA code: exactly one."""

    locode: str | None = None
    airport: str | None = None

    def __post_init__(self) -> None:
        if (self.locode is None) == (self.airport is None):
            raise InputError(
                ReasonCode.INCONSISTENT, "exactly one of locode or airport", path="locode"
            )
        if self.locode is not None:
            codes.locode(self.locode, "locode")
        if self.airport is not None:
            codes.airport(self.airport, "airport")

    @property
    def code(self) -> str:
        """The LOCODE or IATA code, whichever is set."""
        return self.locode or self.airport or ""

    @property
    def country(self) -> str | None:
        """Country of a LOCODE (airports carry none in the notice itself)."""
        return self.locode[:2] if self.locode else None

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        out: dict[str, Value] = {}
        put(out, "locode", self.locode)
        put(out, "airport", self.airport)
        return out

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> Location:
        """Build from a canonical map."""
        with within(path):
            r = FieldReader(value)
            item = cls(
                locode=r.opt_text("locode", max_len=5), airport=r.opt_text("airport", max_len=3)
            )
            r.finish()
        return item


class Unit(StrEnum):
    """Units of a quantity; all integral so no float ever reaches the wire."""

    G = "g"  # grams (drugs, precursors in solid form, wildlife products)
    ML = "ml"  # millilitres (liquid precursors)
    UNITS = "units"  # pieces: pills, weapons, animals, counterfeit items
    STICKS = "sticks"  # cigarettes
    MINOR = "minor"  # currency in minor units (cents); needs ``currency``


@dataclass(frozen=True, slots=True, kw_only=True)
class Quantity:
    """A positive integer amount in a unit; currency amounts name their ISO 4217 code."""

    amount: int
    unit: Unit
    currency: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise InputError(ReasonCode.WRONG_TYPE, "must be a positive integer", path="amount")
        if not 1 <= self.amount <= MAX_AMOUNT:
            raise InputError(ReasonCode.OUT_OF_RANGE, "must be a positive integer", path="amount")
        check_enum(self.unit, "unit", Unit)
        if (self.unit is Unit.MINOR) != (self.currency is not None):
            raise InputError(
                ReasonCode.INCONSISTENT,
                "a currency is required with unit minor and only then",
                path="currency",
            )
        if self.currency is not None:
            codes.currency(self.currency, "currency")

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        out: dict[str, Value] = {"amount": self.amount, "unit": self.unit.value}
        put(out, "currency", self.currency)
        return out

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> Quantity:
        """Build from a canonical map."""
        with within(path):
            r = FieldReader(value)
            raw_amount = r.integer("amount", lo=-(2**63), hi=2**64 - 1)
            item = cls(
                amount=raw_amount,
                unit=r.choice("unit", Unit),
                currency=r.opt_text("currency", max_len=3),
            )
            r.finish()
        return item
