"""The one exception tree of Baliza, and the stable reason codes it carries.

Every refusal anywhere in Baliza is a ``BalizaError`` with a ``ReasonCode``
that the spec lists and that never changes meaning, plus the path of the field
at fault when there is one. Errors are split by whose fault they are, so a
caller knows whether to blame the peer, the local operator or the machine::

    BalizaError
    ├── InputError        bad bytes or fields from a peer or a user (malformed,
    │   │                 non-canonical, out of limits, invalid domain code)
    │   └── VersionError  a message version this node does not speak
    ├── TrustError        well-formed, but refused by a trust rule: signature,
    │                     key, recipient, directory, revocation, replay
    ├── UsageError        bad local use: wrong passphrase, bad configuration,
    │                     missing file, unknown agency
    ├── StorageError      the database failed or holds something unexpected
    └── TransportError    a peer could not be reached or answered badly

Library exceptions (msgpack, cryptography, aiohttp, SQLAlchemy) are translated
into this tree at exactly one boundary each; nothing else escapes the layers.
"""

from __future__ import annotations

from enum import StrEnum


class ReasonCode(StrEnum):
    """Stable, machine-readable reasons for a refusal. Listed in docs/SPEC.md."""

    # Encoding (canonical MessagePack).
    MALFORMED = "malformed"
    TOO_LARGE = "too_large"
    TOO_DEEP = "too_deep"
    TOO_MANY_ITEMS = "too_many_items"
    NON_CANONICAL = "non_canonical"
    DUPLICATE_KEY = "duplicate_key"
    TRAILING_BYTES = "trailing_bytes"
    FLOAT_FORBIDDEN = "float_forbidden"
    UNSUPPORTED_TYPE = "unsupported_type"
    # Schema.
    UNKNOWN_VERSION = "unknown_version"
    UNKNOWN_KIND = "unknown_kind"
    UNKNOWN_FIELD = "unknown_field"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    OUT_OF_RANGE = "out_of_range"
    BAD_LENGTH = "bad_length"
    BAD_ENUM = "bad_enum"
    BAD_FORMAT = "bad_format"
    NOT_NFC = "not_nfc"
    FORMAT_CHARACTER = "format_character"
    # Domain codes.
    BAD_COUNTRY = "bad_country"
    BAD_LOCODE = "bad_locode"
    BAD_AIRPORT = "bad_airport"
    BAD_CONTAINER = "bad_container"
    BAD_IMO = "bad_imo"
    BAD_AWB = "bad_awb"
    BAD_FLIGHT = "bad_flight"
    BAD_AGENCY_ID = "bad_agency_id"
    BAD_LANGUAGE = "bad_language"
    BAD_CURRENCY = "bad_currency"
    BAD_ENVELOPE_ID = "bad_envelope_id"
    INCONSISTENT = "inconsistent"
    # Cryptography and trust.
    UNKNOWN_SUITE = "unknown_suite"
    BAD_SIGNATURE = "bad_signature"
    MISSING_SIGNATURE = "missing_signature"
    REQUEST_SCHEME_UNSUPPORTED = "request_scheme_unsupported"
    UNEXPECTED_SIGNATURE = "unexpected_signature"
    SUITE_MISMATCH = "suite_mismatch"
    BAD_KEY = "bad_key"
    KEY_ID_MISMATCH = "key_id_mismatch"
    UNKNOWN_KEY = "unknown_key"
    UNKNOWN_SENDER = "unknown_sender"
    NOT_A_RECIPIENT = "not_a_recipient"
    DECRYPT_FAILED = "decrypt_failed"
    KEY_COMMITMENT_MISMATCH = "key_commitment_mismatch"
    KIND_MISMATCH = "kind_mismatch"
    KEY_REVOKED = "key_revoked"
    KEY_EXPIRED = "key_expired"
    KEY_NOT_YET_VALID = "key_not_yet_valid"
    SENDER_BLOCKED = "sender_blocked"
    REPLAY = "replay"
    STALE = "stale"
    WRONG_DESTINATION = "wrong_destination"
    BAD_PASSPHRASE = "bad_passphrase"
    # Federation directory.
    DIRECTORY_ROLLBACK = "directory_rollback"
    DIRECTORY_EXPIRED = "directory_expired"
    DIRECTORY_THRESHOLD = "directory_threshold"
    DIRECTORY_MISMATCH = "directory_mismatch"
    NOT_AN_ADMINISTRATOR = "not_an_administrator"
    NOT_A_MEMBER = "not_a_member"
    REVOCATION_WITHDRAWN = "revocation_withdrawn"
    # Channels (programme feeds and JITs).
    MEMBERSHIP_MISMATCH = "membership_mismatch"
    MEMBERSHIP_THRESHOLD = "membership_threshold"
    MEMBERSHIP_FORK = "membership_fork"
    MEMBERSHIP_ROLLBACK = "membership_rollback"
    MEMBERSHIP_EXPIRED = "membership_expired"
    MEMBERSHIP_UNKNOWN = "membership_unknown"
    MEMBERSHIP_STALE = "membership_stale"
    CHANNEL_CONFLICT = "channel_conflict"
    CHANNEL_UNFOUNDED = "channel_unfounded"
    CHANNEL_UNDER_ALARM = "channel_under_alarm"
    NOT_AN_OWNER = "not_an_owner"
    WRONG_CHANNEL = "wrong_channel"
    PROPOSAL_UNCONFIRMED = "proposal_unconfirmed"
    PROPOSAL_CHANGE_NOT_NAMED = "proposal_change_not_named"
    # Audit log.
    AUDIT_PROOF_FAILED = "audit_proof_failed"
    AUDIT_EQUIVOCATION = "audit_equivocation"
    AUDIT_ROLLBACK = "audit_rollback"
    # Handling and sharing rules.
    HANDLING_FORBIDS = "handling_forbids"
    PERMISSION_REFUSED = "permission_refused"
    NOMINAL_NOT_ALLOWED = "nominal_not_allowed"
    REPUBLISH_FORBIDDEN = "republish_forbidden"
    FOREIGN_SUPERSEDES = "foreign_supersedes"
    # Local use, storage, transport.
    BAD_CONFIG = "bad_config"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    UNSUPPORTED_MEDIA = "unsupported_media"
    STORAGE_FAILED = "storage_failed"
    PEER_UNREACHABLE = "peer_unreachable"
    NODE_UNREACHABLE = "node_unreachable"
    PEER_REFUSED = "peer_refused"
    BUSY = "busy"
    TIMEOUT = "timeout"
    SIGN_IN_THROTTLED = "sign_in_throttled"
    WEAK_PASSWORD = "weak_password"
    SIGN_COUNT_BACKWARDS = "sign_count_backwards"


class BalizaError(Exception):
    """Root of every error Baliza raises on purpose.

    ``reason`` is stable and listed in the spec; ``path`` names the field at
    fault (``commodities[2].quantity``) or is empty when the whole input is.
    """

    def __init__(self, reason: ReasonCode, detail: str, *, path: str = "") -> None:
        self.reason = reason
        self.detail = detail
        self.path = path
        super().__init__(f"{path}: {detail}" if path else detail)

    def at(self, prefix: str) -> BalizaError:
        """Return the same error with ``prefix`` put in front of its field path."""
        joined = (
            prefix
            if not self.path
            else (f"{prefix}{self.path}" if self.path.startswith("[") else f"{prefix}.{self.path}")
        )
        clone = type(self)(self.reason, self.detail, path=joined)
        return clone


class InputError(BalizaError):
    """Bad bytes or fields from a peer or a user."""


class VersionError(InputError):
    """A message version this implementation does not speak."""


class TrustError(BalizaError):
    """Well-formed input refused by a trust rule."""


class UsageError(BalizaError):
    """Bad local use: configuration, passphrase, missing file."""


class StorageError(BalizaError):
    """The database failed or holds something unexpected."""


class TransportError(BalizaError):
    """A peer could not be reached or answered badly."""
