"""Partner subscriptions and share permissions: the messages nodes exchange about them.

A partner asks a publisher's node for a subscription with a filter; the
publisher (by policy or by an administrator) admits, holds or refuses it; either
side may later pause, resume or cancel. A node that wants to pass on a notice
whose handling needs the provider's permission asks the originator, whose
officer grants or refuses. Each message is the body of a signed federation
request (``protocol.federation.SignedRequest`` covers its SHA-256), so the
party that sent it is authenticated and cannot deny it.

Rules of this file: pure, canonical MessagePack, strict readers that name the
field at fault; matching a notice against a filter reads only the notice's
canonical map, so it needs nothing from the node.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from baliza.protocol import codes
from baliza.protocol.canonical import Limits, Value, decode, encode
from baliza.protocol.envelope import MessageKind
from baliza.protocol.errors import InputError, ReasonCode, VersionError
from baliza.protocol.fields import (
    UTF8_MAX_BYTES_PER_CHARACTER,
    FieldReader,
    check_enum,
    check_prose,
    check_str,
)
from baliza.protocol.ids import AgencyId, EnvelopeId, agency_id, envelope_id
from baliza.protocol.notices.common import Programme
from baliza.protocol.notices.seizure import Category

MESSAGE_VERSION = 1
MAX_TERMS = 32
MAX_REASON = 500
MAX_LIST = 64
# Decoding profile of every message here (chapter 07 §1): a list or map over
# 64 items is ``too_many_items`` before any field is read; one string may take
# 4 bytes per character, so a 500-character note is never refused for its bytes.
_LIMITS = Limits(
    max_size=64 * 1024,
    max_depth=4,
    max_items=MAX_LIST,
    max_str=UTF8_MAX_BYTES_PER_CHARACTER * MAX_REASON,
)


class SubscriptionState(StrEnum):
    """Where a subscription stands; ``refused`` and ``cancelled`` are final."""

    REQUESTED = "requested"  # sent by the subscriber, no answer yet
    PENDING = "pending"  # held for the publisher's administrator
    ADMITTED = "admitted"
    REFUSED = "refused"
    PAUSED = "paused"
    CANCELLED = "cancelled"


class PermissionState(StrEnum):
    """Where a request to pass a notice on stands."""

    PENDING = "pending"
    GRANTED = "granted"
    REFUSED = "refused"


def _place(raw: Value, path: str) -> str:
    """A port (UN/LOCODE, five characters) or an airport (IATA, three), canonical."""
    text = check_str(raw, path, max_len=5, min_len=3)
    if len(text) == 3:
        return codes.airport(text, path)
    if len(text) == 5:
        return codes.locode(text, path)
    raise InputError(
        ReasonCode.BAD_FORMAT, "must be a UN/LOCODE (5) or an IATA airport (3)", path=path
    )


def _check_version(reader: FieldReader) -> None:
    """``v`` other than 1 is a message this node does not speak, as in every chapter."""
    version = reader.integer("v", lo=0, hi=2**53 - 1)
    if version != MESSAGE_VERSION:
        raise VersionError(ReasonCode.UNKNOWN_VERSION, f"message version {version}", path="v")


def _note(reader: FieldReader, name: str) -> str | None:
    """Optional free text: 1 to 500 characters of prose (tab and line feed allowed)."""
    text = reader.opt_text(name, max_len=MAX_REASON)
    return None if text is None else check_prose(text, reader.at(name))


def _terms(reader: FieldReader, name: str, check: Callable[[Value, str], str]) -> tuple[str, ...]:
    items = reader.array(name, check, max_len=MAX_TERMS)
    if tuple(sorted(set(items))) != items:
        raise InputError(
            ReasonCode.NON_CANONICAL, "must be sorted and unique", path=reader.at(name)
        )
    return items


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionFilter:
    """Which notices a subscriber wants; each list narrows, an empty list means any."""

    kinds: tuple[str, ...] = ()
    programmes: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()  # on the route or at the place of the events
    places: tuple[str, ...] = ()  # ports (UN/LOCODE) or airports (IATA)

    def __post_init__(self) -> None:
        for name in ("kinds", "programmes", "categories", "countries", "places"):
            items = getattr(self, name)
            if tuple(sorted(set(items))) != items:
                raise InputError(ReasonCode.NON_CANONICAL, "must be sorted and unique", path=name)
        for i, kind in enumerate(self.kinds):
            if kind not in _NOTICE_KINDS:
                raise InputError(ReasonCode.BAD_ENUM, "not a notice kind", path=f"kinds[{i}]")
        for i, programme in enumerate(self.programmes):
            check_enum(programme, f"programmes[{i}]", Programme)
        for i, category in enumerate(self.categories):
            check_enum(category, f"categories[{i}]", Category)

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form; empty lists are omitted."""
        out: dict[str, Value] = {}
        for name in ("categories", "countries", "kinds", "places", "programmes"):
            items = getattr(self, name)
            if items:
                out[name] = list(items)
        return out

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> SubscriptionFilter:
        """Build from a canonical map (also the API's JSON form)."""
        reader = FieldReader(value, path)
        word = r"[a-z][a-z.+_]*"
        kinds = _terms_long(reader, "kinds")
        programmes = _terms(
            reader, "programmes", lambda v, p: check_str(v, p, max_len=8, pattern=word)
        )
        categories = _terms_long(reader, "categories")
        countries = _terms(reader, "countries", lambda v, p: codes.country(v, p))
        places = _terms(reader, "places", _place)
        reader.finish()
        try:
            built = cls(
                kinds=kinds,
                programmes=programmes,
                categories=categories,
                countries=countries,
                places=places,
            )
        except InputError as err:
            raise (err.at(path) if path else err) from None
        return built

    def matches(self, kind: str, notice: Value) -> bool:
        """Whether a notice of ``kind`` (its canonical map ``notice``) passes this filter."""
        facts = notice_facts(notice)
        return (
            (not self.kinds or kind in self.kinds)
            and (not self.programmes or facts.programme in self.programmes)
            and (not self.categories or bool(facts.categories & set(self.categories)))
            and (not self.countries or bool(facts.countries & set(self.countries)))
            and (not self.places or bool(facts.places & set(self.places)))
        )


def _terms_long(reader: FieldReader, name: str) -> tuple[str, ...]:
    items = reader.array(
        name, lambda v, p: check_str(v, p, max_len=32, pattern=r"[a-z][a-z._]*"), max_len=MAX_TERMS
    )
    if tuple(sorted(set(items))) != items:
        raise InputError(
            ReasonCode.NON_CANONICAL, "must be sorted and unique", path=reader.at(name)
        )
    return items


_NOTICE_KINDS = frozenset(k.value for k in MessageKind if k is not MessageKind.RECEIPT)


@dataclass(frozen=True, slots=True)
class NoticeFacts:
    """What a filter looks at in a notice."""

    programme: str | None
    categories: frozenset[str]
    countries: frozenset[str]
    places: frozenset[str]


def notice_facts(notice: Value) -> NoticeFacts:
    """Programme, commodity categories, countries and places named by a notice's map.

    Places are read from its ``location`` and ``route`` (loading, transit,
    discharge, destination); a UN/LOCODE also names its country.
    """
    categories: set[str] = set()
    places: set[str] = set()
    countries: set[str] = set()
    programme: str | None = None
    if isinstance(notice, dict):
        raw = notice.get("programme")
        programme = raw if isinstance(raw, str) else None
        for item in _list(notice.get("commodities")):
            if isinstance(item, dict) and isinstance(item.get("category"), str):
                categories.add(str(item["category"]))
        for place in _places(notice.get("location")) + _places(notice.get("route")):
            places.add(place)
            if len(place) == 5:
                countries.add(place[:2])
    return NoticeFacts(programme, frozenset(categories), frozenset(countries), frozenset(places))


def _list(value: object) -> list[Value]:
    return value if isinstance(value, list) else []


def _places(value: object) -> list[str]:
    if isinstance(value, list):
        return [p for item in value for p in _places(item)]
    if not isinstance(value, dict):
        return []
    found = [str(value[k]) for k in ("locode", "airport") if isinstance(value.get(k), str)]
    for key in ("loading", "transit", "discharge", "destination"):
        found += _places(value.get(key))
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionRequest:
    """A partner asks a publisher for the notices that pass ``filter``."""

    id: EnvelopeId
    subscriber: AgencyId
    publisher: AgencyId
    filter: SubscriptionFilter
    created_ms: int
    note: str | None = None

    def to_bytes(self) -> bytes:
        """Canonical bytes: the body of ``POST /fed/v1/subscriptions``."""
        out: dict[str, Value] = {
            "v": MESSAGE_VERSION,
            "id": self.id,
            "subscriber": self.subscriber,
            "publisher": self.publisher,
            "filter": self.filter.to_wire(),
            "created_ms": self.created_ms,
        }
        if self.note is not None:
            out["note"] = self.note
        return encode(out)

    @classmethod
    def from_bytes(cls, data: bytes) -> SubscriptionRequest:
        """Parse and validate; raise ``InputError`` naming the field."""
        reader = FieldReader(decode(data, _LIMITS))
        _check_version(reader)
        request = cls(
            id=envelope_id(reader.text("id", max_len=36), "id"),
            subscriber=agency_id(reader.text("subscriber", max_len=100), "subscriber"),
            publisher=agency_id(reader.text("publisher", max_len=100), "publisher"),
            filter=reader.nested("filter", SubscriptionFilter.from_wire),
            created_ms=reader.integer("created_ms", lo=0, hi=2**53 - 1),
            note=_note(reader, "note"),
        )
        reader.finish()
        return request


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionUpdate:
    """One party tells the other a subscription's new state (a decision, pause, cancel)."""

    id: EnvelopeId
    publisher: AgencyId
    subscriber: AgencyId
    state: SubscriptionState
    at_ms: int
    reason: str | None = None

    def __post_init__(self) -> None:
        # ``requested`` is where the subscriber's side starts, never a change.
        if self.state is SubscriptionState.REQUESTED:
            raise InputError(ReasonCode.BAD_ENUM, "an update never goes to requested", path="state")

    def to_bytes(self) -> bytes:
        """Canonical bytes: the body of ``POST /fed/v1/subscriptions/state``."""
        out: dict[str, Value] = {
            "v": MESSAGE_VERSION,
            "id": self.id,
            "publisher": self.publisher,
            "subscriber": self.subscriber,
            "state": self.state.value,
            "at_ms": self.at_ms,
        }
        if self.reason is not None:
            out["reason"] = self.reason
        return encode(out)

    @classmethod
    def from_bytes(cls, data: bytes) -> SubscriptionUpdate:
        """Parse and validate; raise ``InputError`` naming the field."""
        reader = FieldReader(decode(data, _LIMITS))
        _check_version(reader)
        update = cls(
            id=envelope_id(reader.text("id", max_len=36), "id"),
            publisher=agency_id(reader.text("publisher", max_len=100), "publisher"),
            subscriber=agency_id(reader.text("subscriber", max_len=100), "subscriber"),
            state=reader.choice("state", SubscriptionState),
            at_ms=reader.integer("at_ms", lo=0, hi=2**53 - 1),
            reason=_note(reader, "reason"),
        )
        reader.finish()
        return update


@dataclass(frozen=True, slots=True, kw_only=True)
class PermissionRequest:
    """A recipient asks the originator of ``envelope`` to let it pass the notice on."""

    id: EnvelopeId
    envelope: EnvelopeId
    requester: AgencyId
    originator: AgencyId
    recipients: tuple[AgencyId, ...]
    created_ms: int
    note: str | None = None

    def to_bytes(self) -> bytes:
        """Canonical bytes: the body of ``POST /fed/v1/permissions``."""
        out: dict[str, Value] = {
            "v": MESSAGE_VERSION,
            "id": self.id,
            "envelope": self.envelope,
            "requester": self.requester,
            "originator": self.originator,
            "recipients": list(self.recipients),
            "created_ms": self.created_ms,
        }
        if self.note is not None:
            out["note"] = self.note
        return encode(out)

    @classmethod
    def from_bytes(cls, data: bytes) -> PermissionRequest:
        """Parse and validate; raise ``InputError`` naming the field."""
        reader = FieldReader(decode(data, _LIMITS))
        _check_version(reader)
        request = cls(
            id=envelope_id(reader.text("id", max_len=36), "id"),
            envelope=envelope_id(reader.text("envelope", max_len=36), "envelope"),
            requester=agency_id(reader.text("requester", max_len=100), "requester"),
            originator=agency_id(reader.text("originator", max_len=100), "originator"),
            recipients=reader.array("recipients", agency_id, min_len=1, max_len=MAX_LIST),
            created_ms=reader.integer("created_ms", lo=0, hi=2**53 - 1),
            note=_note(reader, "note"),
        )
        reader.finish()
        if tuple(sorted(set(request.recipients))) != request.recipients:
            raise InputError(
                ReasonCode.NON_CANONICAL, "must be sorted and unique", path="recipients"
            )
        return request


@dataclass(frozen=True, slots=True, kw_only=True)
class PermissionDecision:
    """The originator's officer grants or refuses a permission request."""

    id: EnvelopeId
    envelope: EnvelopeId
    state: PermissionState
    at_ms: int
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.state is PermissionState.PENDING:
            raise InputError(ReasonCode.BAD_ENUM, "a decision grants or refuses", path="state")

    def to_bytes(self) -> bytes:
        """Canonical bytes: the body of ``POST /fed/v1/permissions/decision``."""
        out: dict[str, Value] = {
            "v": MESSAGE_VERSION,
            "id": self.id,
            "envelope": self.envelope,
            "state": self.state.value,
            "at_ms": self.at_ms,
        }
        if self.reason is not None:
            out["reason"] = self.reason
        return encode(out)

    @classmethod
    def from_bytes(cls, data: bytes) -> PermissionDecision:
        """Parse and validate; raise ``InputError`` naming the field."""
        reader = FieldReader(decode(data, _LIMITS))
        _check_version(reader)
        decision = cls(
            id=envelope_id(reader.text("id", max_len=36), "id"),
            envelope=envelope_id(reader.text("envelope", max_len=36), "envelope"),
            state=reader.choice("state", PermissionState),
            at_ms=reader.integer("at_ms", lo=0, hi=2**53 - 1),
            reason=_note(reader, "reason"),
        )
        reader.finish()
        return decision
