"""The federation directory on the wire: who is a member, with which keys, and who decides.

Byte layout (canonical MessagePack; docs/spec/04-directory.md)::

    signed_directory = {"signatures": [{"key_id": bin16, "sigs": {alg: bin}}, ...],
                        "signed": bin, "v": 1}
    directory        = {"administrators": [PublicKeys, ...], "expires_ms": int,
                        "federation": str, "issued_ms": int, "members": [member, ...],
                        "threshold": int, "v": 1, "version": int}
    member           = {"agency", "country", "keys": [key_record, ...], "name",
                        "node_url", ["programmes"]}
    key_record       = {"keys": PublicKeys, "valid_from_ms", "valid_until_ms",
                        ["revoked_ms", "revocation_reason"]}

Rules of this file:

* Shape only. Public keys stay opaque canonical maps (``PublicKeysWire``):
  protocol/ never imports crypto/, so parsing keys, counting signatures and
  every trust rule live in ``baliza.crypto.directory``.
* The directory travels as the exact bytes that were signed (``signed``), and
  ``SignedDirectory`` parses its ``Directory`` from those bytes: there is no
  way to hold signatures of one document next to the fields of another.
* One canonical form per directory: members sorted by agency, administrators
  and key records sorted, signature entries sorted by key id, all unique.
  Two administrators who sign the same content therefore sign the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, TypeVar

from baliza.protocol import codes
from baliza.protocol.canonical import Limits, Value, decode, encode
from baliza.protocol.errors import InputError, ReasonCode, VersionError
from baliza.protocol.fields import (
    FieldReader,
    as_map,
    check_bytes,
    check_enum,
    check_signature_map,
    check_str,
)
from baliza.protocol.ids import AgencyId, KeyId, agency_id, key_id
from baliza.protocol.notices.common import Programme

T = TypeVar("T")
K = TypeVar("K", str, bytes, tuple[int, bytes])

DIRECTORY_VERSION: Final = 1
# Detached-signature context of directory signatures (docs/spec/02 §8): a
# directory signature can never be replayed as a request or envelope signature.
DIRECTORY_CONTEXT: Final = "baliza-directory-v1"
MAX_TIME_MS: Final = 2**53 - 1
MAX_MEMBERS: Final = 500
MAX_ADMINISTRATORS: Final = 32
MAX_KEYS_PER_MEMBER: Final = 8
MAX_SIGNATURES: Final = 64
MAX_SIGNATURE: Final = 8192
MAX_PUBLIC_KEYS: Final = 16 * 1024
MAX_DIRECTORY: Final = 8 << 20

# The directory nests seven levels deep (members → keys → PublicKeys → sign → bin).
DIRECTORY_LIMITS: Final = Limits(
    max_size=MAX_DIRECTORY, max_depth=8, max_items=MAX_MEMBERS, max_str=1024, max_bin=4096
)
SIGNED_LIMITS: Final = Limits(
    max_size=MAX_DIRECTORY + (1 << 20),
    max_depth=4,
    max_items=MAX_SIGNATURES,
    max_str=64,
    max_bin=MAX_DIRECTORY,
)
_KEYS_LIMITS: Final = Limits(max_size=MAX_PUBLIC_KEYS, max_depth=3, max_items=16, max_bin=4096)

_FEDERATION = r"[a-z0-9][a-z0-9.-]{0,62}"
_PRINTABLE = r"[^\x00-\x1f\x7f]+"
_NODE_URL = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~/\-]*)?")


class RevocationReason(StrEnum):
    """Why a key was revoked; ``key_compromise`` is the one that should alarm people."""

    KEY_COMPROMISE = "key_compromise"
    SUPERSEDED = "superseded"
    CESSATION_OF_OPERATION = "cessation_of_operation"


@dataclass(frozen=True, slots=True, order=True)
class PublicKeysWire:
    """A public key set (crypto's ``PublicKeys`` map) kept as its canonical bytes.

    Opaque here on purpose: only crypto/ may interpret key material. Holding
    the bytes rather than the map makes the value immutable, hashable and
    ordered, which the sorting and uniqueness rules of the directory need.
    """

    data: bytes

    def __post_init__(self) -> None:
        check_bytes(self.data, "", max_len=MAX_PUBLIC_KEYS, min_len=1)

    def to_wire(self) -> Value:
        """The map, as it appears inside the directory."""
        return decode(self.data, _KEYS_LIMITS)

    @classmethod
    def from_wire(cls, value: Value, path: str) -> PublicKeysWire:
        """Keep any map; its fields are crypto's to check."""
        return cls(data=encode(as_map(value, path)))


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyRecord:
    """One key set of a member and the period the federation vouches for it.

    ``valid_until_ms`` is exclusive. ``revoked_ms`` is when trust in the key
    ends, whatever its validity: envelopes created from then on are refused,
    earlier ones stay verifiable and are marked as signed by a since-revoked key.
    """

    keys: PublicKeysWire
    valid_from_ms: int
    valid_until_ms: int
    revoked_ms: int | None = None
    revocation_reason: RevocationReason | None = None

    def __post_init__(self) -> None:
        _check_time(self.valid_from_ms, "valid_from_ms")
        _check_time(self.valid_until_ms, "valid_until_ms")
        if self.valid_from_ms >= self.valid_until_ms:
            raise InputError(
                ReasonCode.INCONSISTENT, "must end after it starts", path="valid_until_ms"
            )
        if self.revoked_ms is not None:
            _check_time(self.revoked_ms, "revoked_ms")
        if self.revocation_reason is not None and self.revoked_ms is None:
            raise InputError(
                ReasonCode.INCONSISTENT,
                "a reason needs a revocation time",
                path="revocation_reason",
            )

    def sort_key(self) -> tuple[int, bytes]:
        """Canonical order within a member: oldest first, then by key bytes."""
        return (self.valid_from_ms, self.keys.data)

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        out: dict[str, Value] = {
            "keys": self.keys.to_wire(),
            "valid_from_ms": self.valid_from_ms,
            "valid_until_ms": self.valid_until_ms,
        }
        if self.revoked_ms is not None:
            out["revoked_ms"] = self.revoked_ms
        if self.revocation_reason is not None:
            out["revocation_reason"] = self.revocation_reason.value
        return out

    @classmethod
    def from_wire(cls, value: Value, path: str) -> KeyRecord:
        """Build from a canonical map."""
        reader = FieldReader(value, path)
        keys = reader.nested("keys", PublicKeysWire.from_wire)
        valid_from = reader.integer("valid_from_ms", lo=0, hi=MAX_TIME_MS)
        valid_until = reader.integer("valid_until_ms", lo=0, hi=MAX_TIME_MS)
        revoked = reader.opt_integer("revoked_ms", lo=0, hi=MAX_TIME_MS)
        reason = reader.opt_choice("revocation_reason", RevocationReason)
        reader.finish()
        return _built(
            path,
            lambda: cls(
                keys=keys,
                valid_from_ms=valid_from,
                valid_until_ms=valid_until,
                revoked_ms=revoked,
                revocation_reason=reason,
            ),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Member:
    """An agency of the federation: where its node is and which keys speak for it."""

    agency: AgencyId
    name: str
    country: str
    node_url: str
    programmes: tuple[Programme, ...] = ()
    keys: tuple[KeyRecord, ...]

    def __post_init__(self) -> None:
        agency_id(self.agency, "agency")
        check_str(self.name, "name", max_len=200, pattern=_PRINTABLE)
        codes.country(self.country, "country")
        # The agency id starts with its country; a member cannot claim another.
        if self.country != self.agency[:2].upper():
            raise InputError(
                ReasonCode.INCONSISTENT,
                f"agency {self.agency} is not of country {self.country}",
                path="country",
            )
        if len(self.node_url) > 300 or _NODE_URL.fullmatch(self.node_url) is None:
            raise InputError(
                ReasonCode.BAD_FORMAT, "must be an http(s) URL without query", path="node_url"
            )
        for i, programme in enumerate(self.programmes):
            check_enum(programme, f"programmes[{i}]", Programme)
        if len(self.programmes) > len(Programme):
            raise InputError(ReasonCode.BAD_LENGTH, "too many programmes", path="programmes")
        _check_canonical([str(p) for p in self.programmes], "programmes")
        if not 1 <= len(self.keys) <= MAX_KEYS_PER_MEMBER:
            raise InputError(
                ReasonCode.BAD_LENGTH, f"must have 1 to {MAX_KEYS_PER_MEMBER} keys", path="keys"
            )
        _check_unique([k.keys.data for k in self.keys], "keys")
        _check_canonical([k.sort_key() for k in self.keys], "keys")

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        out: dict[str, Value] = {
            "agency": self.agency,
            "name": self.name,
            "country": self.country,
            "node_url": self.node_url,
            "keys": [k.to_wire() for k in self.keys],
        }
        if self.programmes:
            out["programmes"] = [p.value for p in self.programmes]
        return out

    @classmethod
    def from_wire(cls, value: Value, path: str) -> Member:
        """Build from a canonical map."""
        reader = FieldReader(value, path)
        agency = agency_id(reader.text("agency", max_len=100), reader.at("agency"))
        name = reader.text("name", max_len=200)
        country = codes.country(reader.text("country", max_len=2), reader.at("country"))
        node_url = reader.text("node_url", max_len=300)
        programmes = reader.array(
            "programmes", lambda v, p: check_enum(v, p, Programme), max_len=16
        )
        keys = reader.array(
            "keys", KeyRecord.from_wire, max_len=MAX_KEYS_PER_MEMBER, min_len=1, required=True
        )
        reader.finish()
        return _built(
            path,
            lambda: cls(
                agency=agency,
                name=name,
                country=country,
                node_url=node_url,
                programmes=programmes,
                keys=keys,
            ),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Directory:
    """One version of the federation directory: the content that administrators sign.

    ``federation`` names the federation and never changes between versions,
    so a directory signed for a test federation by the same administrators
    cannot be fed to a production one. ``threshold`` is how many distinct
    administrator keys must sign the next version.
    """

    v: int = DIRECTORY_VERSION
    federation: str
    version: int
    issued_ms: int
    expires_ms: int
    threshold: int
    administrators: tuple[PublicKeysWire, ...]
    members: tuple[Member, ...]

    def __post_init__(self) -> None:
        if self.v != DIRECTORY_VERSION:
            raise VersionError(ReasonCode.UNKNOWN_VERSION, f"directory version {self.v}", path="v")
        check_str(self.federation, "federation", max_len=63, pattern=_FEDERATION)
        if isinstance(self.version, bool) or not 1 <= self.version <= MAX_TIME_MS:
            raise InputError(ReasonCode.OUT_OF_RANGE, "must be at least 1", path="version")
        _check_time(self.issued_ms, "issued_ms")
        _check_time(self.expires_ms, "expires_ms")
        if self.issued_ms >= self.expires_ms:
            raise InputError(
                ReasonCode.INCONSISTENT, "must expire after it is issued", path="expires_ms"
            )
        if not 1 <= len(self.administrators) <= MAX_ADMINISTRATORS:
            raise InputError(
                ReasonCode.BAD_LENGTH,
                f"must have 1 to {MAX_ADMINISTRATORS} administrators",
                path="administrators",
            )
        _check_canonical([a.data for a in self.administrators], "administrators")
        if isinstance(self.threshold, bool) or not 1 <= self.threshold <= len(self.administrators):
            raise InputError(
                ReasonCode.INCONSISTENT,
                f"must be between 1 and the {len(self.administrators)} administrators",
                path="threshold",
            )
        if not 1 <= len(self.members) <= MAX_MEMBERS:
            raise InputError(
                ReasonCode.BAD_LENGTH, f"must have 1 to {MAX_MEMBERS} members", path="members"
            )
        _check_canonical([str(m.agency) for m in self.members], "members")

    def member(self, agency: str) -> Member | None:
        """The member ``agency``, or ``None``."""
        return next((m for m in self.members if m.agency == agency), None)

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        return {
            "v": self.v,
            "federation": self.federation,
            "version": self.version,
            "issued_ms": self.issued_ms,
            "expires_ms": self.expires_ms,
            "threshold": self.threshold,
            "administrators": [a.to_wire() for a in self.administrators],
            "members": [m.to_wire() for m in self.members],
        }

    def to_bytes(self) -> bytes:
        """The canonical bytes that administrators sign."""
        return encode(self.to_wire())

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> Directory:
        """Build from a canonical map; raise ``InputError`` naming the field at fault."""
        reader = FieldReader(value, path)
        v = reader.integer("v", lo=0, hi=2**16)
        if v != DIRECTORY_VERSION:
            raise VersionError(
                ReasonCode.UNKNOWN_VERSION, f"directory version {v}", path=reader.at("v")
            )
        federation = reader.text("federation", max_len=63, pattern=_FEDERATION)
        version = reader.integer("version", lo=1, hi=MAX_TIME_MS)
        issued = reader.integer("issued_ms", lo=0, hi=MAX_TIME_MS)
        expires = reader.integer("expires_ms", lo=0, hi=MAX_TIME_MS)
        threshold = reader.integer("threshold", lo=1, hi=MAX_ADMINISTRATORS)
        administrators = reader.array(
            "administrators",
            PublicKeysWire.from_wire,
            max_len=MAX_ADMINISTRATORS,
            min_len=1,
            required=True,
        )
        members = reader.array(
            "members", Member.from_wire, max_len=MAX_MEMBERS, min_len=1, required=True
        )
        reader.finish()
        return _built(
            path,
            lambda: cls(
                v=v,
                federation=federation,
                version=version,
                issued_ms=issued,
                expires_ms=expires,
                threshold=threshold,
                administrators=administrators,
                members=members,
            ),
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Directory:
        """Parse the canonical bytes of a directory (the ``signed`` part)."""
        return cls.from_wire(decode(data, DIRECTORY_LIMITS))


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectorySignature:
    """One administrator's signature map, found by the id of its signing key.

    The key id only says which administrator to try: counting is by public
    key material in crypto/, so an entry under a wrong or borrowed id simply
    does not count.
    """

    key_id: KeyId
    sigs: Mapping[str, bytes] = field(hash=False)

    def __post_init__(self) -> None:
        key_id(self.key_id, "key_id")
        frozen = check_signature_map(self.sigs, max_sig=MAX_SIGNATURE)
        object.__setattr__(self, "sigs", frozen)

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        return {"key_id": bytes(self.key_id), "sigs": dict(self.sigs)}

    @classmethod
    def from_wire(cls, value: Value, path: str) -> DirectorySignature:
        """Build from a canonical map."""
        reader = FieldReader(value, path)
        kid = key_id(reader.blob("key_id", max_len=64), reader.at("key_id"))
        raw = reader.nested("sigs", as_map)
        sigs = {
            n: check_bytes(s, f"{path}.sigs.{n}", max_len=MAX_SIGNATURE) for n, s in raw.items()
        }
        reader.finish()
        return _built(path, lambda: cls(key_id=kid, sigs=sigs))


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedDirectory:
    """A directory as it travels and is stored: the signed bytes and their signatures.

    ``directory`` is parsed from ``signed`` on construction, so both always
    describe the same document. A proposal is a ``SignedDirectory`` that does
    not yet carry enough signatures.
    """

    v: int = DIRECTORY_VERSION
    signed: bytes
    signatures: tuple[DirectorySignature, ...] = ()
    directory: Directory = field(init=False)

    def __post_init__(self) -> None:
        if self.v != DIRECTORY_VERSION:
            raise VersionError(ReasonCode.UNKNOWN_VERSION, f"directory version {self.v}", path="v")
        check_bytes(self.signed, "signed", min_len=1, max_len=MAX_DIRECTORY)
        if len(self.signatures) > MAX_SIGNATURES:
            raise InputError(ReasonCode.BAD_LENGTH, "too many signatures", path="signatures")
        _check_canonical([bytes(s.key_id) for s in self.signatures], "signatures")
        try:
            directory = Directory.from_bytes(self.signed)
        except InputError as err:
            raise err.at("signed") from None
        object.__setattr__(self, "directory", directory)

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form; no signatures means no ``signatures`` field."""
        out: dict[str, Value] = {"v": self.v, "signed": self.signed}
        if self.signatures:
            out["signatures"] = [s.to_wire() for s in self.signatures]
        return out

    def to_bytes(self) -> bytes:
        """Canonical bytes: what a node serves, stores and passes on."""
        return encode(self.to_wire())

    @classmethod
    def from_bytes(cls, data: bytes) -> SignedDirectory:
        """Parse; raise ``InputError`` (or ``VersionError``) naming the field at fault."""
        reader = FieldReader(decode(data, SIGNED_LIMITS))
        v = reader.integer("v", lo=0, hi=2**16)
        if v != DIRECTORY_VERSION:
            raise VersionError(ReasonCode.UNKNOWN_VERSION, f"directory version {v}", path="v")
        signed = reader.blob("signed", min_len=1, max_len=MAX_DIRECTORY)
        signatures = reader.array(
            "signatures", DirectorySignature.from_wire, max_len=MAX_SIGNATURES
        )
        reader.finish()
        return cls(v=v, signed=signed, signatures=signatures)

    def with_signature(self, entry: DirectorySignature) -> SignedDirectory:
        """The same document with ``entry`` added, replacing an entry of the same key id."""
        kept = [s for s in self.signatures if s.key_id != entry.key_id]
        ordered = sorted([*kept, entry], key=lambda s: bytes(s.key_id))
        return SignedDirectory(v=self.v, signed=self.signed, signatures=tuple(ordered))


def _check_time(value: int, path: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TIME_MS:
        raise InputError(ReasonCode.OUT_OF_RANGE, "not a plausible time", path=path)


def _check_unique(items: Sequence[K], path: str) -> None:
    """Refuse a repeated item (``DUPLICATE_KEY``)."""
    if len(set(items)) != len(items):
        raise InputError(ReasonCode.DUPLICATE_KEY, "must not repeat an item", path=path)


def _check_canonical(keys: Sequence[K], path: str) -> None:
    """Refuse a repeated item (``DUPLICATE_KEY``) or one out of order (``NON_CANONICAL``)."""
    _check_unique(keys, path)
    if list(keys) != sorted(keys):
        raise InputError(ReasonCode.NON_CANONICAL, "must be sorted", path=path)


def _built(path: str, build: Callable[[], T]) -> T:
    """Run a constructor, giving its errors the path of the map being read."""
    try:
        return build()
    except InputError as err:
        raise (err.at(path) if path else err) from None
