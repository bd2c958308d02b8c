"""Channel membership on the wire: who is in a programme feed or a JIT, signed by its owners.

Byte layout (canonical MessagePack; docs/spec/06-channels.md)::

    signed_membership = {"signatures": [{"agency": str, "key_id": bin16,
                                         "sigs": {alg: bin}}, ...],
                         "signed": bin, "v": 1}
    membership        = {"channel": str, "expires_ms": int, "issued_ms": int,
                         "kind": "programme" | "jit", "members": [agency, ...],
                         "name": str, "owners": [agency, ...], ["programme": str],
                         "threshold": int, "v": 1, "version": int,
                         ["founding": bin32]}          # from version 2 on

Rules of this file:

* Shape only, as for the federation directory: who may sign, which keys
  count and the update rules live in ``baliza.crypto.channels``.
* Owners are members: every owner is listed in ``members`` too, so "the
  members at version N" is one list. Lists are sorted and unique, so two
  owners who sign the same membership sign the same bytes.
* The membership travels as the exact bytes that were signed; the parsed
  ``Membership`` is always derived from them.
* A channel is its founding, not its id string: every version after the
  first carries ``founding``, the tagged SHA-256 of version 1's signed bytes
  (``founding_digest``), so two chains under one id founded by different
  owners can never be taken for one channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from hashlib import sha256
from typing import Final

from baliza.protocol.canonical import Limits, Value, decode, encode
from baliza.protocol.errors import InputError, ReasonCode, VersionError
from baliza.protocol.fields import (
    UTF8_MAX_BYTES_PER_CHARACTER,
    FieldReader,
    as_map,
    check_bytes,
    check_line,
    check_signature_map,
    check_str,
)
from baliza.protocol.ids import AgencyId, ChannelId, KeyId, agency_id, channel_id, key_id
from baliza.protocol.notices.common import Programme

MEMBERSHIP_VERSION: Final = 1
# Detached-signature context of membership signatures: an owner's signature
# on a membership can never be replayed as a directory, request or envelope.
MEMBERSHIP_CONTEXT: Final = "baliza-channel-membership-v1"
MAX_MEMBERS: Final = 200
MAX_OWNERS: Final = 16
MAX_SIGNATURE: Final = 8192
MAX_NAME: Final = 200
MAX_TIME_MS: Final = 2**53 - 1
MAX_MEMBERSHIP: Final = 64 * 1024
FOUNDING_SIZE: Final = 32
# Tag of the founding digest, so it can never equal another Baliza hash.
FOUNDING_CONTEXT: Final = b"baliza-channel-founding-v1\x00"
MAX_SIGNED: Final = MAX_MEMBERSHIP + MAX_OWNERS * (2 * MAX_SIGNATURE + 256)

# ``name`` counts characters; its bytes are at most 4 per character, so the
# profile's string limit is 4 × MAX_NAME and no valid name is refused for its bytes.
MEMBERSHIP_LIMITS: Final = Limits(
    max_size=MAX_MEMBERSHIP,
    max_depth=3,
    max_items=MAX_MEMBERS,
    max_str=UTF8_MAX_BYTES_PER_CHARACTER * MAX_NAME,
)
SIGNED_LIMITS: Final = Limits(
    max_size=MAX_SIGNED, max_depth=4, max_items=MAX_OWNERS, max_bin=MAX_MEMBERSHIP
)


class ChannelKind(StrEnum):
    """What a channel is for; the kind decides who may join and what may travel in it."""

    PROGRAMME = "programme"  # a programme feed: members may ask to join, owners approve
    JIT = "jit"  # a joint investigation team: closed, owners admit; case notices stay inside


@dataclass(frozen=True, slots=True, kw_only=True)
class Membership:
    """One version of a channel's member list, as its owners sign it."""

    v: int = MEMBERSHIP_VERSION
    channel: ChannelId
    kind: ChannelKind
    name: str
    programme: Programme | None = None
    owners: tuple[AgencyId, ...]
    threshold: int
    members: tuple[AgencyId, ...]
    version: int
    issued_ms: int
    expires_ms: int
    # The founding digest of the channel (``founding_digest`` of version 1):
    # absent in version 1 itself, required in every later one.
    founding: bytes | None = None

    def __post_init__(self) -> None:
        if self.v != MEMBERSHIP_VERSION:
            raise VersionError(ReasonCode.UNKNOWN_VERSION, f"membership version {self.v}", path="v")
        channel_id(self.channel, "channel")
        check_line(check_str(self.name, "name", min_len=1, max_len=MAX_NAME), "name")
        for name, items, limit in (
            ("owners", self.owners, MAX_OWNERS),
            ("members", self.members, MAX_MEMBERS),
        ):
            if not 1 <= len(items) <= limit:
                raise InputError(ReasonCode.BAD_LENGTH, f"must list 1 to {limit}", path=name)
            for i, agency in enumerate(items):
                agency_id(agency, f"{name}[{i}]")
            if tuple(sorted(set(items))) != items:
                raise InputError(ReasonCode.NON_CANONICAL, "must be sorted and unique", path=name)
        missing = sorted(set(self.owners) - set(self.members))
        if missing:
            raise InputError(
                ReasonCode.INCONSISTENT, f"owner {missing[0]} must be a member", path="members"
            )
        if not 1 <= self.threshold <= len(self.owners):
            raise InputError(
                ReasonCode.OUT_OF_RANGE,
                f"must be 1 to the number of owners ({len(self.owners)})",
                path="threshold",
            )
        if not 1 <= self.version <= MAX_TIME_MS:
            raise InputError(ReasonCode.OUT_OF_RANGE, "must be at least 1", path="version")
        for name, value in (("issued_ms", self.issued_ms), ("expires_ms", self.expires_ms)):
            if not 0 <= value <= MAX_TIME_MS:
                raise InputError(ReasonCode.OUT_OF_RANGE, "not a plausible time", path=name)
        if self.expires_ms <= self.issued_ms:
            raise InputError(ReasonCode.INCONSISTENT, "must be after issued_ms", path="expires_ms")
        if self.version == 1 and self.founding is not None:
            raise InputError(
                ReasonCode.INCONSISTENT, "version 1 is the founding itself", path="founding"
            )
        if self.version > 1:
            if self.founding is None:
                raise InputError(
                    ReasonCode.MISSING_FIELD, "required from version 2 on", path="founding"
                )
            check_bytes(self.founding, "founding", min_len=FOUNDING_SIZE, max_len=FOUNDING_SIZE)

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        out: dict[str, Value] = {
            "v": self.v,
            "channel": self.channel,
            "kind": self.kind.value,
            "name": self.name,
            "owners": list(self.owners),
            "threshold": self.threshold,
            "members": list(self.members),
            "version": self.version,
            "issued_ms": self.issued_ms,
            "expires_ms": self.expires_ms,
        }
        if self.programme is not None:
            out["programme"] = self.programme.value
        if self.founding is not None:
            out["founding"] = self.founding
        return out

    def to_bytes(self) -> bytes:
        """Canonical bytes: what owners sign."""
        return encode(self.to_wire())

    @classmethod
    def from_bytes(cls, data: bytes) -> Membership:
        """Parse canonical bytes; ``InputError``/``VersionError`` name the field at fault."""
        reader = FieldReader(decode(data, MEMBERSHIP_LIMITS))
        v = reader.integer("v", lo=0, hi=2**16)
        if v != MEMBERSHIP_VERSION:
            raise VersionError(ReasonCode.UNKNOWN_VERSION, f"membership version {v}", path="v")
        channel = channel_id(reader.text("channel", max_len=63), "channel")
        kind = reader.choice("kind", ChannelKind)
        name = reader.text("name", max_len=MAX_NAME)
        programme = reader.opt_choice("programme", Programme)
        owners = reader.array("owners", agency_id, max_len=MAX_OWNERS)
        threshold = reader.integer("threshold", lo=0, hi=MAX_OWNERS)
        members = reader.array("members", agency_id, max_len=MAX_MEMBERS)
        version = reader.integer("version", lo=0, hi=MAX_TIME_MS)
        issued_ms = reader.integer("issued_ms", lo=0, hi=MAX_TIME_MS)
        expires_ms = reader.integer("expires_ms", lo=0, hi=MAX_TIME_MS)
        founding = reader.opt_blob("founding", max_len=FOUNDING_SIZE)
        reader.finish()
        return cls(
            v=v,
            channel=channel,
            kind=kind,
            name=name,
            programme=programme,
            owners=owners,
            threshold=threshold,
            members=members,
            version=version,
            issued_ms=issued_ms,
            expires_ms=expires_ms,
            founding=founding,
        )


def founding_digest(version_1: bytes) -> bytes:
    """The founding of a channel: a tagged SHA-256 of its version 1's signed bytes.

    Its founders sign those bytes, so whoever holds the digest can tell the
    channel they founded from any other chain under the same id; signatures
    are not hashed (the same version 1 with more signatures is the same founding).
    """
    return sha256(FOUNDING_CONTEXT + version_1).digest()


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnerSignature:
    """One owner's signature map over the membership bytes, with the key it claims."""

    agency: AgencyId
    key_id: KeyId
    sigs: Mapping[str, bytes] = field(hash=False)

    def __post_init__(self) -> None:
        agency_id(self.agency, "agency")
        key_id(self.key_id, "key_id")
        frozen = check_signature_map(self.sigs, max_sig=MAX_SIGNATURE)
        object.__setattr__(self, "sigs", frozen)

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        return {"agency": self.agency, "key_id": bytes(self.key_id), "sigs": dict(self.sigs)}

    @classmethod
    def from_wire(cls, value: Value, path: str) -> OwnerSignature:
        """Build from a canonical map."""
        reader = FieldReader(value, path)
        agency = agency_id(reader.text("agency", max_len=100), reader.at("agency"))
        kid = key_id(reader.blob("key_id", max_len=64), reader.at("key_id"))
        raw = reader.nested("sigs", as_map)
        sigs = {
            n: check_bytes(s, f"{path}.sigs.{n}", max_len=MAX_SIGNATURE) for n, s in raw.items()
        }
        reader.finish()
        try:
            return cls(agency=agency, key_id=kid, sigs=sigs)
        except InputError as err:
            raise err.at(path) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedMembership:
    """A membership as it travels and is stored: the signed bytes and the owners' signatures.

    A proposal is a ``SignedMembership`` without enough signatures yet.
    Signature entries are sorted by (agency, key id) and unique.
    """

    v: int = MEMBERSHIP_VERSION
    signed: bytes
    signatures: tuple[OwnerSignature, ...] = ()
    membership: Membership = field(init=False)

    def __post_init__(self) -> None:
        if self.v != MEMBERSHIP_VERSION:
            raise VersionError(ReasonCode.UNKNOWN_VERSION, f"membership version {self.v}", path="v")
        check_bytes(self.signed, "signed", min_len=1, max_len=MAX_MEMBERSHIP)
        if len(self.signatures) > MAX_OWNERS:
            raise InputError(ReasonCode.BAD_LENGTH, "too many signatures", path="signatures")
        order = [(s.agency, bytes(s.key_id)) for s in self.signatures]
        if order != sorted(set(order)):
            raise InputError(
                ReasonCode.NON_CANONICAL, "must be sorted and unique", path="signatures"
            )
        try:
            membership = Membership.from_bytes(self.signed)
        except InputError as err:
            raise err.at("signed") from None
        object.__setattr__(self, "membership", membership)

    @property
    def founding(self) -> bytes:
        """The founding digest of the channel this version belongs to."""
        if self.membership.version == 1:
            return founding_digest(self.signed)
        assert self.membership.founding is not None  # checked when parsed
        return self.membership.founding

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form; no signatures means no ``signatures`` field."""
        out: dict[str, Value] = {"v": self.v, "signed": self.signed}
        if self.signatures:
            out["signatures"] = [s.to_wire() for s in self.signatures]
        return out

    def to_bytes(self) -> bytes:
        """Canonical bytes: what nodes push, store and serve."""
        return encode(self.to_wire())

    @classmethod
    def from_bytes(cls, data: bytes) -> SignedMembership:
        """Parse; raise ``InputError`` (or ``VersionError``) naming the field at fault."""
        reader = FieldReader(decode(data, SIGNED_LIMITS))
        v = reader.integer("v", lo=0, hi=2**16)
        if v != MEMBERSHIP_VERSION:
            raise VersionError(ReasonCode.UNKNOWN_VERSION, f"membership version {v}", path="v")
        signed = reader.blob("signed", min_len=1, max_len=MAX_MEMBERSHIP)
        signatures = reader.array("signatures", OwnerSignature.from_wire, max_len=MAX_OWNERS)
        reader.finish()
        return cls(v=v, signed=signed, signatures=signatures)

    def with_signature(self, entry: OwnerSignature) -> SignedMembership:
        """The same membership with ``entry`` added, replacing one by the same owner and key."""
        kept = [s for s in self.signatures if (s.agency, s.key_id) != (entry.agency, entry.key_id)]
        ordered = sorted([*kept, entry], key=lambda s: (s.agency, bytes(s.key_id)))
        return SignedMembership(v=self.v, signed=self.signed, signatures=tuple(ordered))
