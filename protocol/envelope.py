"""The envelope: the signed, encrypted unit that nodes exchange.

Byte layout (all canonical MessagePack, see docs/SPEC.md)::

    envelope = {"sig": {<algorithm>: bin, ...}, "signed": bin, "v": 1}
    signed   = {"body": bin, "header": bin, "keys": [key_entry, ...]}
    header   = {"created_ms", "handling", "id", "key_commitment", "kind",
                "recipients" | "channel" + "membership_version",
                "sender", "sender_key", "suite", ["supersedes"], ["shares"], "v"}

The header and the signed part travel as nested byte strings so that the
signature is checked over the exact bytes received and the header hash (the
AEAD associated data and HPKE ``info``) never depends on re-encoding.
Parsing here checks shape only; the crypto layer verifies and decrypts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from baliza.protocol.canonical import Limits, Value, decode, encode
from baliza.protocol.errors import InputError, ReasonCode, VersionError
from baliza.protocol.fields import UTF8_MAX_BYTES_PER_CHARACTER, FieldReader, check_bytes, check_str
from baliza.protocol.handling import MAX_RESTRICTIONS, Handling
from baliza.protocol.ids import (
    KEY_ID_LEN,
    AgencyId,
    ChannelId,
    EnvelopeId,
    KeyId,
    agency_id,
    channel_id,
    envelope_id,
    key_id,
)

ENVELOPE_VERSION = 1
MAX_RECIPIENT_AGENCIES = 64
MAX_KEY_ENTRIES = 256
MAX_WRAPPED_KEY = 4096
MAX_BODY = 16 << 20
MAX_SIGNATURE = 8192
MAX_ENVELOPE = MAX_BODY + (2 << 20)
COMMITMENT_LEN = 32

ENVELOPE_LIMITS = Limits(
    max_size=MAX_ENVELOPE, max_depth=4, max_items=MAX_KEY_ENTRIES, max_bin=MAX_BODY
)
# One string may take 4 bytes per character: the longest one, ``restrictions``
# at 500 characters, must never be refused for its bytes (chapter 02 §0).
HEADER_LIMITS = Limits(
    max_size=64 * 1024,
    max_depth=4,
    max_items=MAX_RECIPIENT_AGENCIES,
    max_str=UTF8_MAX_BYTES_PER_CHARACTER * MAX_RESTRICTIONS,
)


class MessageKind(StrEnum):
    """What the encrypted body holds; the plaintext must name the same kind."""

    SEIZURE = "notice.seizure"
    ALERT = "notice.alert"
    OUTCOME = "notice.outcome"
    CASE = "notice.case"
    CORRECTION = "notice.correction"
    RETRACTION = "notice.retraction"
    RECEIPT = "receipt"


@dataclass(frozen=True, slots=True, kw_only=True)
class Header:
    """Signed, clear-text facts about an envelope; every recipient sees the same."""

    v: int = ENVELOPE_VERSION
    id: EnvelopeId
    kind: MessageKind
    sender: AgencyId
    sender_key: KeyId
    created_ms: int
    recipients: tuple[AgencyId, ...] = ()
    channel: ChannelId | None = None
    membership_version: int | None = None
    handling: Handling
    supersedes: EnvelopeId | None = None
    # A share: the received envelope whose notice this one passes on.
    shares: EnvelopeId | None = None
    suite: str
    key_commitment: bytes

    def __post_init__(self) -> None:
        if self.v != ENVELOPE_VERSION:
            raise VersionError(ReasonCode.UNKNOWN_VERSION, f"envelope version {self.v}", path="v")
        if (self.channel is None) == (not self.recipients):
            raise InputError(
                ReasonCode.INCONSISTENT, "exactly one of recipients or channel", path="recipients"
            )
        if (self.channel is None) != (self.membership_version is None):
            raise InputError(
                ReasonCode.INCONSISTENT,
                "a channel needs its membership version",
                path="membership_version",
            )
        if tuple(sorted(set(self.recipients))) != self.recipients:
            raise InputError(
                ReasonCode.NON_CANONICAL, "must be sorted and unique", path="recipients"
            )
        if len(self.recipients) > MAX_RECIPIENT_AGENCIES:
            raise InputError(ReasonCode.BAD_LENGTH, "too many recipients", path="recipients")
        if len(self.key_commitment) != COMMITMENT_LEN:
            raise InputError(ReasonCode.BAD_LENGTH, "must be 32 bytes", path="key_commitment")
        if not 0 <= self.created_ms < 2**53:
            raise InputError(ReasonCode.OUT_OF_RANGE, "not a plausible time", path="created_ms")

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        out: dict[str, Value] = {
            "v": self.v,
            "id": self.id,
            "kind": self.kind.value,
            "sender": self.sender,
            "sender_key": bytes(self.sender_key),
            "created_ms": self.created_ms,
            "handling": self.handling.to_wire(),
            "suite": self.suite,
            "key_commitment": self.key_commitment,
        }
        if self.recipients:
            out["recipients"] = list(self.recipients)
        if self.channel is not None:
            out["channel"] = self.channel
            out["membership_version"] = self.membership_version  # type: ignore[assignment]
        if self.supersedes is not None:
            out["supersedes"] = self.supersedes
        if self.shares is not None:
            out["shares"] = self.shares
        return out

    def to_bytes(self) -> bytes:
        """Canonical bytes: these are what is hashed and signed."""
        return encode(self.to_wire())

    @classmethod
    def from_bytes(cls, data: bytes, path: str = "header") -> Header:
        """Parse and validate header bytes."""
        try:
            value = decode(data, HEADER_LIMITS)
        except InputError as err:
            raise err.at(path) from None
        reader = FieldReader(value, path)
        version = reader.integer("v", lo=0, hi=2**16)
        if version != ENVELOPE_VERSION:
            raise VersionError(
                ReasonCode.UNKNOWN_VERSION, f"envelope version {version}", path=reader.at("v")
            )
        eid = envelope_id(reader.text("id", max_len=36), reader.at("id"))
        kind = _kind(reader.text("kind", max_len=32), reader.at("kind"))
        sender = agency_id(reader.text("sender", max_len=100), reader.at("sender"))
        sender_key = key_id(reader.blob("sender_key", max_len=KEY_ID_LEN), reader.at("sender_key"))
        created_ms = reader.integer("created_ms", lo=0, hi=2**53 - 1)
        recipients = reader.array("recipients", agency_id, max_len=MAX_RECIPIENT_AGENCIES)
        channel = reader.opt_nested("channel", channel_id)
        membership_version = reader.opt_integer("membership_version", lo=1, hi=2**53 - 1)
        handling = reader.nested("handling", Handling.from_wire)
        supersedes = reader.opt_nested("supersedes", envelope_id)
        shares = reader.opt_nested("shares", envelope_id)
        suite = reader.text("suite", max_len=64, pattern=r"[a-z0-9][a-z0-9-]*")
        commitment = reader.blob("key_commitment", min_len=COMMITMENT_LEN, max_len=COMMITMENT_LEN)
        reader.finish()
        try:
            # Rules across fields (exactly one of recipients or channel, sorted
            # recipients) are checked last; their paths start at ``path`` too.
            return cls(
                v=version,
                id=eid,
                kind=kind,
                sender=sender,
                sender_key=sender_key,
                created_ms=created_ms,
                recipients=recipients,
                channel=channel,
                membership_version=membership_version,
                handling=handling,
                supersedes=supersedes,
                shares=shares,
                suite=suite,
                key_commitment=commitment,
            )
        except InputError as err:
            raise err.at(path) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyEntry:
    """The content key wrapped for one recipient key (HPKE ``enc || ciphertext``)."""

    kid: KeyId
    wrapped: bytes

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        return {"kid": bytes(self.kid), "wrapped": self.wrapped}

    @classmethod
    def from_wire(cls, value: Value, path: str) -> KeyEntry:
        """Build from a canonical map."""
        reader = FieldReader(value, path)
        entry = cls(
            kid=key_id(reader.blob("kid", max_len=KEY_ID_LEN), reader.at("kid")),
            wrapped=reader.blob("wrapped", min_len=1, max_len=MAX_WRAPPED_KEY),
        )
        reader.finish()
        return entry


@dataclass(frozen=True, slots=True, kw_only=True)
class Envelope:
    """A parsed envelope, keeping the exact bytes it was parsed from.

    ``header_bytes`` and ``signed_bytes`` are the bytes the signature and the
    AEAD cover; ``raw`` is the whole envelope as received, kept as evidence.
    """

    header: Header
    header_bytes: bytes
    keys: tuple[KeyEntry, ...]
    body: bytes
    signed_bytes: bytes
    signatures: Mapping[str, bytes] = field(default_factory=dict)
    raw: bytes

    @property
    def id(self) -> EnvelopeId:
        """The envelope id (from the header)."""
        return self.header.id

    @staticmethod
    def signed_part(header_bytes: bytes, keys: tuple[KeyEntry, ...], body: bytes) -> bytes:
        """Canonical bytes of the signed part, as the sender builds them."""
        return encode({"header": header_bytes, "keys": [k.to_wire() for k in keys], "body": body})

    @classmethod
    def assemble(
        cls,
        header_bytes: bytes,
        keys: tuple[KeyEntry, ...],
        body: bytes,
        signatures: Mapping[str, bytes],
    ) -> Envelope:
        """Build the envelope bytes from its parts and parse them back (sender side)."""
        signed = cls.signed_part(header_bytes, keys, body)
        raw = encode({"v": ENVELOPE_VERSION, "signed": signed, "sig": dict(signatures)})
        return parse_envelope(raw)


def parse_envelope(data: bytes) -> Envelope:
    """Parse envelope bytes and check their shape; raise ``InputError`` otherwise.

    Nothing here verifies or decrypts: see ``baliza.crypto``.
    """
    outer = FieldReader(decode(data, ENVELOPE_LIMITS), "")
    version = outer.integer("v", lo=0, hi=2**16)
    if version != ENVELOPE_VERSION:
        raise VersionError(ReasonCode.UNKNOWN_VERSION, f"envelope version {version}", path="v")
    signed_bytes = outer.blob("signed", min_len=1, max_len=MAX_ENVELOPE)
    sig_map = outer.nested("sig", _signatures)
    outer.finish()
    try:
        inner_value = decode(signed_bytes, ENVELOPE_LIMITS)
    except InputError as err:
        raise err.at("signed") from None
    inner = FieldReader(inner_value, "signed")
    header_bytes = inner.blob("header", min_len=1, max_len=HEADER_LIMITS.max_size)
    keys = inner.array("keys", KeyEntry.from_wire, max_len=MAX_KEY_ENTRIES)
    body = inner.blob("body", min_len=16, max_len=MAX_BODY)
    inner.finish()
    kids = [k.kid for k in keys]
    if len(set(kids)) != len(kids):
        raise InputError(ReasonCode.DUPLICATE_KEY, "a key id appears twice", path="signed.keys")
    header = Header.from_bytes(header_bytes, "header")
    return Envelope(
        header=header,
        header_bytes=header_bytes,
        keys=keys,
        body=body,
        signed_bytes=signed_bytes,
        signatures=sig_map,
        raw=bytes(data),
    )


def _kind(raw: str, path: str) -> MessageKind:
    """The header's kind; an unknown one is ``unknown_kind``, as in a notice (chapter 03)."""
    try:
        return MessageKind(raw)
    except ValueError:
        raise InputError(ReasonCode.UNKNOWN_KIND, f"unknown kind {raw!r}", path=path) from None


def _signatures(value: Value, path: str) -> dict[str, bytes]:
    reader = FieldReader(value, path)
    names = sorted(reader._fields)
    if not 1 <= len(names) <= 4:
        raise InputError(ReasonCode.BAD_LENGTH, "must carry 1 to 4 signatures", path=path)
    out: dict[str, bytes] = {}
    for name in names:
        check_str(name, f"{path}.{name}", max_len=32, pattern=r"[a-z0-9-]+")
        out[name] = check_bytes(
            reader._fields[name], f"{path}.{name}", min_len=1, max_len=MAX_SIGNATURE
        )
    return out
