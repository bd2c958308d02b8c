"""Signing the requests this node sends, and checking those it receives.

Checks run cheapest first, so junk costs a receiver almost nothing: headers
present and well formed, no compression, destination is us, time within the
skew, origin a member with a key valid now, body within size, and only then
the signature (the one expensive step) over the exact body bytes; a local
block is checked after it. Only a request that passes all of these has its
body parsed.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence

from baliza.crypto import AgencyKeys, PublicKeys, sign_detached, verify_detached
from baliza.protocol.canonical import Limits, decode, encode
from baliza.protocol.errors import BalizaError, InputError, ReasonCode, TrustError
from baliza.protocol.federation import (
    HEADER_DESTINATION,
    HEADER_ORIGIN,
    HEADER_SIGNATURE,
    HEADER_TIME,
    REQUEST_CONTEXT,
    SignedRequest,
    check_request_time,
    sender_of,
)
from baliza.protocol.fields import check_bytes
from baliza.protocol.ids import AgencyId

_SIG_LIMITS = Limits(max_size=16 * 1024, max_depth=2, max_items=4, max_bin=8192)


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
    signatures = sign_detached(keys, REQUEST_CONTEXT, request.signing_bytes())
    return {
        HEADER_ORIGIN: keys.agency,
        HEADER_DESTINATION: destination,
        HEADER_TIME: str(time_ms),
        HEADER_SIGNATURE: base64.urlsafe_b64encode(encode(dict(signatures))).decode(),
    }


def claimed_origin(
    headers: Mapping[str, str], *, me: AgencyId, now_ms: int, skew_ms: int
) -> AgencyId:
    """Cheap checks before any cryptography; return the origin the request claims."""
    for name in (HEADER_ORIGIN, HEADER_DESTINATION, HEADER_TIME, HEADER_SIGNATURE):
        if not headers.get(name):
            raise TrustError(ReasonCode.UNAUTHENTICATED, "unsigned request", path=name)
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
    now (two during a rotation); the one that verifies is returned.
    """
    try:
        raw = base64.urlsafe_b64decode(headers[HEADER_SIGNATURE].encode())
        value = decode(raw, _SIG_LIMITS)
    except (ValueError, BalizaError):
        raise TrustError(
            ReasonCode.BAD_SIGNATURE, "unreadable request signature", path=HEADER_SIGNATURE
        ) from None
    if not isinstance(value, dict):
        raise TrustError(ReasonCode.BAD_SIGNATURE, "unreadable request signature")
    signatures = {k: check_bytes(v, k, max_len=8192) for k, v in value.items()}
    request = SignedRequest.for_body(
        method=method,
        path=path,
        origin=origin,
        destination=me,
        time_ms=int(headers[HEADER_TIME]),
        body=body,
    )
    message = request.signing_bytes()
    failure: BalizaError = TrustError(ReasonCode.BAD_SIGNATURE, "no key of the origin")
    for keys in origin_keys:
        try:
            verify_detached(keys, REQUEST_CONTEXT, message, signatures)
        except BalizaError as err:
            failure = err
            continue
        return keys
    raise failure
