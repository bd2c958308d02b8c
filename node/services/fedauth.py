"""Signing the requests this node sends, and checking those it receives.

Checks run cheapest first, so junk costs a receiver almost nothing: headers
present, the signature header of the accepted scheme, no compression,
destination is us, time within the skew, origin a member with a key valid
now, body within size, and only then the signature (the one expensive step)
over the exact body bytes; a local block is checked after it.
Only a request that passes all of these has its body parsed.

The signature is one Ed25519 signature by the origin's current key set
(scheme ``baliza-fed-request-v2``, docs/spec/05-federation.md §1): about an
eighth of the CPU of the hybrid signature it replaced, with what it protects
unchanged (docs/threat-model.md, "Request authentication").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from baliza.crypto import AgencyKeys, PublicKeys
from baliza.crypto.signing import sign_request, verify_request_signature
from baliza.protocol.errors import BalizaError, InputError, ReasonCode, TrustError
from baliza.protocol.federation import (
    HEADER_DESTINATION,
    HEADER_ORIGIN,
    HEADER_SIGNATURE,
    HEADER_TIME,
    SignedRequest,
    check_request_time,
    parse_signature_header,
    sender_of,
    signature_header,
)
from baliza.protocol.ids import AgencyId


def signed_headers(
    keys: AgencyKeys, *, method: str, path: str, destination: AgencyId, time_ms: int, body: bytes
) -> dict[str, str]:
    """Headers that authenticate a request from this node to ``destination``."""
    request = SignedRequest.for_body(
        method=method,
        path=path,
        origin=keys.agency,
        destination=destination,
        time_ms=time_ms,
        body=body,
    )
    return {
        HEADER_ORIGIN: keys.agency,
        HEADER_DESTINATION: destination,
        HEADER_TIME: str(time_ms),
        HEADER_SIGNATURE: signature_header(sign_request(keys, request.signing_bytes())),
    }


def claimed_origin(
    headers: Mapping[str, str], *, me: AgencyId, now_ms: int, skew_ms: int
) -> AgencyId:
    """Cheap checks before any cryptography; return the origin the request claims."""
    for name in (HEADER_ORIGIN, HEADER_DESTINATION, HEADER_TIME, HEADER_SIGNATURE):
        if not headers.get(name):
            raise TrustError(ReasonCode.UNAUTHENTICATED, "unsigned request", path=name)
    # A peer still on the v1 scheme learns it here, before its body is read.
    parse_signature_header(headers[HEADER_SIGNATURE])
    if headers.get("Content-Encoding", "identity").lower() != "identity":
        raise InputError(
            ReasonCode.UNSUPPORTED_MEDIA, "compressed requests are refused", path="Content-Encoding"
        )
    if headers[HEADER_DESTINATION] != me:
        raise TrustError(
            ReasonCode.WRONG_DESTINATION,
            "request is addressed to another node",
            path=HEADER_DESTINATION,
        )
    try:
        time_ms = int(headers[HEADER_TIME])
    except ValueError:
        raise InputError(ReasonCode.BAD_FORMAT, "must be an integer", path=HEADER_TIME) from None
    check_request_time(time_ms, now_ms, skew_ms)
    return sender_of(headers[HEADER_ORIGIN])


def verify_request(
    headers: Mapping[str, str],
    *,
    method: str,
    path: str,
    me: AgencyId,
    origin: AgencyId,
    origin_keys: Sequence[PublicKeys],
    body: bytes,
) -> PublicKeys:
    """Verify the request signature over method, path, parties, time and body hash.

    ``origin_keys`` are the key sets the directory lets the origin sign with
    now (two during a rotation); the one that verifies is returned. Raises
    ``TrustError`` with ``request_scheme_unsupported`` (a v1 hybrid signature
    map, or another scheme) or ``bad_signature``.
    """
    signature = parse_signature_header(headers[HEADER_SIGNATURE])
    request = SignedRequest.for_body(
        method=method,
        path=path,
        origin=origin,
        destination=me,
        time_ms=int(headers[HEADER_TIME]),
        body=body,
    )
    message = request.signing_bytes()
    for keys in origin_keys:
        try:
            verify_request_signature(keys, message, signature)
        except BalizaError:
            continue
        return keys
    raise TrustError(ReasonCode.BAD_SIGNATURE, f"no key of {origin} made this request signature")


def check_not_blocked(origin: AgencyId, *, blocked: bool) -> None:
    """Refuse a member this node blocks (``sender_blocked``), once its signature verified.

    Checked after the signature, so that only the member itself learns it is
    blocked (chapter 05 §2); ``blocked`` is the local decision read by the caller.
    """
    if blocked:
        raise TrustError(ReasonCode.SENDER_BLOCKED, f"{origin} is blocked by this node")
