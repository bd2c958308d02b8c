"""Signed requests (chapter 05 §1): what authenticates a member node, and each refusal.

Every check here calls ``GET /fed/v1/directory`` (or pushes to the inbox,
for the checks about bodies): a request that any member may make, so the
only reason for a refusal is the one the check provokes.
"""

from __future__ import annotations

import base64

from baliza.node.conformance.checks import Run, check
from baliza.node.conformance.inbox import INBOX
from baliza.node.conformance.target import signed_headers
from baliza.node.conformance.verdict import Failed
from baliza.node.core.clock import now_ms
from baliza.protocol.federation import (
    HEADER_ORIGIN,
    HEADER_SIGNATURE,
    HEADER_TIME,
    MAX_BATCH_BYTES,
    MEDIA_TYPE,
    encode_batch,
)

DIRECTORY = "/fed/v1/directory"
SECTION = "05 §1"
# Further from now than any node's request_skew_ms may be (the default is 5 minutes).
SKEW_MS = 3_600_000


def _headers(run: Run, role: str = "a", **kwargs: object) -> dict[str, str]:
    defaults: dict[str, object] = {
        "method": "GET",
        "path": DIRECTORY,
        "destination": run.target.agency,
    }
    defaults.update(kwargs)
    return signed_headers(run.kit[role], **defaults)  # type: ignore[arg-type]


async def _expect(run: Run, headers: dict[str, str], reason: str, status: int) -> None:
    answer = await run.target.send("GET", DIRECTORY, headers=headers)
    answer.expect_refusal(reason, status)


@check("requests", "signed-request-accepted", SECTION, "a member's signed GET is answered 200")
async def signed_accepted(run: Run) -> None:
    answer = await run.target.send("GET", DIRECTORY, headers=_headers(run))
    if answer.reason in ("unknown_sender", "not_found"):
        raise Failed(
            f"{answer.short()}: the target does not trust the suite's directory yet "
            "(did its operator apply directory.bin? see STEPS.txt)"
        )
    answer.expect_msgpack(f"GET {DIRECTORY}")


@check("requests", "unsigned", SECTION, "a request without signature headers: 401 unauthenticated")
async def unsigned(run: Run) -> None:
    await _expect(run, {}, "unauthenticated", 401)


@check("requests", "header-missing", SECTION, "one of the four headers missing: 401")
async def header_missing(run: Run) -> None:
    headers = _headers(run)
    del headers[HEADER_TIME]
    await _expect(run, headers, "unauthenticated", 401)


@check("requests", "scheme-v1", SECTION, "a retired v1 signature: 403 request_scheme_unsupported")
async def scheme_v1(run: Run) -> None:
    headers = _headers(run)
    # The v1 form: a single base64url token of a canonical signature map, no scheme id.
    v1_map = b"\x81\xa7ed25519\xc4\x40" + bytes(64)
    headers[HEADER_SIGNATURE] = base64.urlsafe_b64encode(v1_map).decode("ascii")
    await _expect(run, headers, "request_scheme_unsupported", 403)


@check(
    "requests", "scheme-unknown", SECTION, "an unknown scheme id: 403 request_scheme_unsupported"
)
async def scheme_unknown(run: Run) -> None:
    headers = _headers(run)
    headers[HEADER_SIGNATURE] = headers[HEADER_SIGNATURE].replace("-v2 ", "-v9 ", 1)
    await _expect(run, headers, "request_scheme_unsupported", 403)


@check("requests", "signature-not-64-bytes", SECTION, "a v2 value not 64 bytes: 403 bad_signature")
async def signature_short(run: Run) -> None:
    headers = _headers(run)
    headers[HEADER_SIGNATURE] = "baliza-fed-request-v2 " + base64.urlsafe_b64encode(
        bytes(63)
    ).decode("ascii")
    await _expect(run, headers, "bad_signature", 403)


@check("requests", "signature-unpadded", SECTION, "base64url without its padding: bad_signature")
async def signature_unpadded(run: Run) -> None:
    headers = _headers(run)
    headers[HEADER_SIGNATURE] = headers[HEADER_SIGNATURE].rstrip("=")
    await _expect(run, headers, "bad_signature", 403)


@check("requests", "compressed", SECTION, "Content-Encoding gzip: 415 unsupported_media")
async def compressed(run: Run) -> None:
    headers = _headers(run)
    headers["Content-Encoding"] = "gzip"
    await _expect(run, headers, "unsupported_media", 415)


@check("requests", "wrong-destination", SECTION, "signed for another node: 403 wrong_destination")
async def wrong_destination(run: Run) -> None:
    headers = _headers(run, destination=run.kit["b"].agency)
    await _expect(run, headers, "wrong_destination", 403)


@check("requests", "time-not-integer", SECTION, "Baliza-Time not an integer: 422 bad_format")
async def time_not_integer(run: Run) -> None:
    headers = _headers(run)
    headers[HEADER_TIME] = headers[HEADER_TIME] + ".5"
    await _expect(run, headers, "bad_format", 422)


@check("requests", "stale-past", SECTION, "signed an hour ago (replayed late): 422 stale")
async def stale_past(run: Run) -> None:
    await _expect(run, _headers(run, time_ms=now_ms() - SKEW_MS), "stale", 422)


@check("requests", "stale-future", SECTION, "signed an hour ahead: 422 stale")
async def stale_future(run: Run) -> None:
    await _expect(run, _headers(run, time_ms=now_ms() + SKEW_MS), "stale", 422)


@check("requests", "bad-origin", SECTION, "an origin that is no agency id: 422 bad_agency_id")
async def bad_origin(run: Run) -> None:
    headers = _headers(run)
    headers[HEADER_ORIGIN] = "AQ.Conformance"
    await _expect(run, headers, "bad_agency_id", 422)


@check("requests", "not-a-member", SECTION, "an agency the directory lacks: 403 unknown_sender")
async def not_a_member(run: Run) -> None:
    await _expect(run, _headers(run, "x"), "unknown_sender", 403)


@check("requests", "forged-origin", SECTION, "B signs claiming to be A: 403 bad_signature")
async def forged_origin(run: Run) -> None:
    headers = _headers(run, "b")
    headers[HEADER_ORIGIN] = run.kit["a"].agency  # the signed map names B: it cannot verify
    await _expect(run, headers, "bad_signature", 403)


@check("requests", "path-swapped", SECTION, "a signature for another path: 403 bad_signature")
async def path_swapped(run: Run) -> None:
    await _expect(run, _headers(run, path="/fed/v1/outbox"), "bad_signature", 403)


@check("requests", "body-swapped", SECTION, "a signature over another body: 403 bad_signature")
async def body_swapped(run: Run) -> None:
    body = encode_batch([run.kit.to_target("a").raw])
    other = encode_batch([run.kit.to_target("a").raw])
    headers = _headers(run, method="POST", path=INBOX, body=other)
    headers["Content-Type"] = MEDIA_TYPE
    answer = await run.target.send("POST", INBOX, body=body, headers=headers)
    answer.expect_refusal("bad_signature", 403)


@check("requests", "wrong-media-type", SECTION, "a JSON body to the inbox: 415 unsupported_media")
async def wrong_media_type(run: Run) -> None:
    body = b'{"envelopes": []}'
    headers = _headers(run, method="POST", path=INBOX, body=body)
    headers["Content-Type"] = "application/json"
    answer = await run.target.send("POST", INBOX, body=body, headers=headers)
    answer.expect_refusal("unsupported_media", 415)


@check("requests", "no-media-type", SECTION, "a body without Content-Type: 415 unsupported_media")
async def no_media_type(run: Run) -> None:
    body = encode_batch([run.kit.to_target("a").raw])
    headers = _headers(run, method="POST", path=INBOX, body=body)
    answer = await run.target.send("POST", INBOX, body=body, headers=headers)
    answer.expect_refusal("unsupported_media", 415)


@check("requests", "oversize-body", SECTION, "a body over 32 MiB: 413 too_large")
async def oversize_body(run: Run) -> None:
    body = bytes(MAX_BATCH_BYTES + 1)
    headers = _headers(run, method="POST", path=INBOX, body=body)
    headers["Content-Type"] = MEDIA_TYPE
    answer = await run.target.send("POST", INBOX, body=body, headers=headers)
    answer.expect_refusal("too_large", 413)
