"""Node-to-node messages: signed requests, inbox batches, outbox pages.

Rules of this file: pure functions and frozen types only; the node supplies
bytes and the clock. Every request between nodes is signed over a canonical
map naming method, path (with query), origin, destination, time and the
SHA-256 of the body, so a captured request cannot be replayed to another node
or path, nor with another body, and a stale one is refused by time.

The ``Baliza-Signature`` header names its scheme first
(``baliza-fed-request-v2 <base64url signature>``), so a node can tell a
request signed under a scheme it does not accept from a damaged one and say
so with ``request_scheme_unsupported``. Scheme v1 (a hybrid signature map,
no scheme token) is no longer accepted: see docs/spec/05-federation.md §1.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from enum import StrEnum

from baliza.protocol.canonical import Limits, Value, decode, encode
from baliza.protocol.envelope import MAX_ENVELOPE
from baliza.protocol.errors import InputError, ReasonCode, TrustError
from baliza.protocol.fields import FieldReader, check_bytes, check_int
from baliza.protocol.ids import AgencyId, EnvelopeId, agency_id, envelope_id

# The request-signature scheme: its id is also the PAE type signed over
# (crypto/_domain.py SIG_REQUEST), so the id in the header names exactly what
# the signature was made over.
REQUEST_SCHEME = "baliza-fed-request-v2"
# The scheme before it (a hybrid Ed25519 + ML-DSA-65 signature map, header
# without a scheme token): recognised only to be refused by name.
OLD_REQUEST_SCHEME = "baliza-fed-request-v1"
ED25519_SIGNATURE_LEN = 64
_SIGNATURE_HEADER_MAX = 200
MAX_BATCH = 100
MAX_BATCH_BYTES = 32 << 20
HEADER_ORIGIN = "Baliza-Origin"
HEADER_DESTINATION = "Baliza-Destination"
HEADER_TIME = "Baliza-Time"
HEADER_SIGNATURE = "Baliza-Signature"
MEDIA_TYPE = "application/vnd.baliza+msgpack"


def check_answer_media_type(content_type: str | None) -> None:
    """Refuse a node-to-node answer not labelled ``MEDIA_TYPE`` (chapter 10 §3).

    The label is compared without its parameters and case-insensitively
    (RFC 9110 §8.3.1); a missing one is refused too. What is not labelled
    as Baliza's is not read as Baliza's: a proxy's HTML error page with
    status 200 must not be taken for sealed records.
    """
    seen = (content_type or "").split(";", 1)[0].strip().lower()
    if seen != MEDIA_TYPE:
        raise InputError(
            ReasonCode.UNSUPPORTED_MEDIA,
            f"answer is {seen or 'unlabelled'!r}, not {MEDIA_TYPE}",
            path="Content-Type",
        )


_BATCH_LIMITS = Limits(
    max_size=MAX_BATCH_BYTES, max_depth=3, max_items=MAX_BATCH, max_bin=MAX_ENVELOPE
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedRequest:
    """What a node signs when it calls another node."""

    method: str
    path: str
    origin: AgencyId
    destination: AgencyId
    time_ms: int
    body_sha256: bytes

    def signing_bytes(self) -> bytes:
        """The canonical bytes that the origin's keys sign."""
        return encode(
            {
                "method": self.method.upper(),
                "path": self.path,
                "origin": self.origin,
                "destination": self.destination,
                "time_ms": self.time_ms,
                "body_sha256": self.body_sha256,
            }
        )

    @classmethod
    def for_body(
        cls,
        *,
        method: str,
        path: str,
        origin: AgencyId,
        destination: AgencyId,
        time_ms: int,
        body: bytes,
    ) -> SignedRequest:
        """Describe a request carrying ``body``."""
        return cls(
            method=method,
            path=path,
            origin=origin,
            destination=destination,
            time_ms=time_ms,
            body_sha256=hashlib.sha256(body).digest(),
        )


def signature_header(signature: bytes) -> str:
    """The ``Baliza-Signature`` value for an Ed25519 request signature."""
    if len(signature) != ED25519_SIGNATURE_LEN:
        raise InputError(ReasonCode.BAD_LENGTH, "an Ed25519 signature is 64 bytes")
    return f"{REQUEST_SCHEME} {base64.urlsafe_b64encode(signature).decode('ascii')}"


def parse_signature_header(value: str) -> bytes:
    """The signature a ``Baliza-Signature`` value carries; refuse any other scheme.

    Raises ``TrustError(REQUEST_SCHEME_UNSUPPORTED)`` when the value is not of
    scheme ``baliza-fed-request-v2`` (a v1 hybrid signature map is a single
    base64url token with no scheme), and ``TrustError(BAD_SIGNATURE)`` when
    it is, but what follows is not exactly ``base64url`` (padded) of 64 bytes.
    """
    scheme, _, encoded = value.partition(" ")
    if scheme != REQUEST_SCHEME:
        if not encoded and not scheme.startswith("baliza-"):
            named = f"{OLD_REQUEST_SCHEME} (a hybrid signature map)"
        else:
            named = repr(scheme[:40])
        raise TrustError(
            ReasonCode.REQUEST_SCHEME_UNSUPPORTED,
            f"request signed with scheme {named}; this node accepts only {REQUEST_SCHEME}",
            path=HEADER_SIGNATURE,
        )
    try:
        signature = base64.urlsafe_b64decode(encoded[:_SIGNATURE_HEADER_MAX].encode("ascii"))
    except (ValueError, binascii.Error):
        signature = b""
    if len(signature) != ED25519_SIGNATURE_LEN or (
        base64.urlsafe_b64encode(signature).decode("ascii") != encoded
    ):
        raise TrustError(
            ReasonCode.BAD_SIGNATURE,
            "not base64url of a 64-byte Ed25519 signature",
            path=HEADER_SIGNATURE,
        )
    return signature


def check_request_time(time_ms: int, now_ms: int, skew_ms: int) -> None:
    """Refuse a request whose signed time is further than ``skew_ms`` from now."""
    if abs(now_ms - time_ms) > skew_ms:
        raise InputError(
            ReasonCode.STALE, "request time outside the allowed clock skew", path=HEADER_TIME
        )


def encode_batch(envelopes: list[bytes]) -> bytes:
    """The body of ``POST /fed/v1/inbox``: ``{"envelopes": [bin, ...]}``."""
    if not 1 <= len(envelopes) <= MAX_BATCH:
        raise InputError(ReasonCode.BAD_LENGTH, f"a batch holds 1 to {MAX_BATCH} envelopes")
    return encode({"envelopes": envelopes})


def decode_batch(body: bytes) -> list[bytes]:
    """Parse an inbox batch; each envelope stays opaque bytes for the pipeline."""
    reader = FieldReader(decode(body, _BATCH_LIMITS))
    items = reader.array(
        "envelopes",
        lambda v, p: check_bytes(v, p, min_len=1, max_len=MAX_ENVELOPE),
        max_len=MAX_BATCH,
        min_len=1,
        required=True,
    )
    reader.finish()
    return list(items)


class Outcome(StrEnum):
    """What the receiver did with one envelope of a batch."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvelopeResult:
    """The receiver's answer for one envelope; ``index`` is its place in the batch."""

    index: int
    id: EnvelopeId | None
    outcome: Outcome
    reason: str | None = None
    detail: str | None = None

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        out: dict[str, Value] = {"index": self.index, "outcome": self.outcome.value}
        if self.id is not None:
            out["id"] = self.id
        if self.reason is not None:
            out["reason"] = self.reason
        if self.detail is not None:
            out["detail"] = self.detail[:500]
        return out

    @classmethod
    def from_wire(cls, value: Value, path: str) -> EnvelopeResult:
        """Build from a canonical map."""
        reader = FieldReader(value, path)
        raw_id = reader.opt_text("id", max_len=36)
        result = cls(
            index=reader.integer("index", lo=0, hi=MAX_BATCH - 1),
            id=None if raw_id is None else envelope_id(raw_id, reader.at("id")),
            outcome=reader.choice("outcome", Outcome),
            reason=reader.opt_text("reason", max_len=64),
            detail=reader.opt_text("detail", max_len=500),
        )
        reader.finish()
        return result


def encode_results(results: list[EnvelopeResult]) -> bytes:
    """The body of the inbox answer."""
    return encode({"results": [r.to_wire() for r in results]})


def decode_results(body: bytes, expected: int) -> list[EnvelopeResult]:
    """Parse the inbox answer; it must answer each of ``expected`` envelopes once."""
    reader = FieldReader(decode(body, _BATCH_LIMITS))
    results = reader.array("results", EnvelopeResult.from_wire, max_len=MAX_BATCH, min_len=1)
    reader.finish()
    if sorted(r.index for r in results) != list(range(expected)):
        raise InputError(ReasonCode.INCONSISTENT, "must answer every envelope once", path="results")
    return sorted(results, key=lambda r: r.index)


def encode_outbox_page(items: list[tuple[int, bytes]], next_cursor: int) -> bytes:
    """The body of ``GET /fed/v1/outbox``: envelopes after a cursor, oldest first."""
    page: dict[str, Value] = {"next": next_cursor}
    if items:  # empty lists are omitted: one canonical form per value
        page["items"] = [{"seq": s, "envelope": e} for s, e in items]
    return encode(page)


def decode_outbox_page(body: bytes) -> tuple[list[tuple[int, bytes]], int]:
    """Parse an outbox page into ``([(seq, envelope bytes)], next cursor)``."""
    reader = FieldReader(decode(body, _BATCH_LIMITS))

    def item(value: Value, path: str) -> tuple[int, bytes]:
        r = FieldReader(value, path)
        seq = r.integer("seq", lo=0, hi=2**63 - 1)
        env = r.blob("envelope", min_len=1, max_len=MAX_ENVELOPE)
        r.finish()
        return seq, env

    items = reader.array("items", item, max_len=MAX_BATCH)
    next_cursor = check_int(reader.nested("next", lambda v, p: v), "next", lo=0, hi=2**63 - 1)
    reader.finish()
    return list(items), next_cursor


MAX_CHAIN = 50
_CHAIN_LIMITS = Limits(
    max_size=MAX_BATCH_BYTES, max_depth=3, max_items=MAX_CHAIN, max_bin=MAX_BATCH_BYTES
)


def encode_directory_chain(versions: list[bytes]) -> bytes:
    """The body of ``GET /fed/v1/directory?since=N``: signed versions after N, oldest first."""
    return encode({"versions": versions} if versions else {})


def decode_directory_chain(body: bytes) -> list[bytes]:
    """Parse a directory chain (each version stays opaque bytes for the trust rules)."""
    reader = FieldReader(decode(body, _CHAIN_LIMITS))
    versions = reader.array(
        "versions",
        lambda v, p: check_bytes(v, p, min_len=1, max_len=MAX_BATCH_BYTES),
        max_len=MAX_CHAIN,
    )
    reader.finish()
    return list(versions)


def sender_of(origin: str) -> AgencyId:
    """Validate the origin header of a signed request."""
    return agency_id(origin, HEADER_ORIGIN)
