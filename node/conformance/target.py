"""The node under test, as the suite reaches it: signed HTTP requests and their answers.

Requests are signed as chapter 05 §1 says, by whichever suite member a check
plays; a check that attacks the signature builds the headers itself
(``signed_headers``) and bends them. Answers are kept whole (status, media
type, bytes) so that a check can say exactly what came back.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from baliza.crypto import AgencyKeys
from baliza.crypto.signing import sign_request
from baliza.node.conformance.verdict import Failed
from baliza.node.core.clock import now_ms
from baliza.protocol.federation import (
    HEADER_DESTINATION,
    HEADER_ORIGIN,
    HEADER_SIGNATURE,
    HEADER_TIME,
    MEDIA_TYPE,
    SignedRequest,
    signature_header,
)
from baliza.protocol.ids import AgencyId

# How often a request answered 429 busy is sent again before the answer stands.
BUSY_RETRIES = 30
# Enough for the largest answer the suite asks for (an outbox page is at most 16 MiB).
MAX_ANSWER = 40 << 20


def signed_headers(
    keys: AgencyKeys,
    *,
    method: str,
    path: str,
    destination: str,
    body: bytes = b"",
    time_ms: int | None = None,
) -> dict[str, str]:
    """The four headers of chapter 05 §1 for a request from ``keys``' agency."""
    when = now_ms() if time_ms is None else time_ms
    request = SignedRequest.for_body(
        method=method,
        path=path,
        origin=keys.agency,
        destination=AgencyId(destination),
        time_ms=when,
        body=body,
    )
    return {
        HEADER_ORIGIN: keys.agency,
        HEADER_DESTINATION: destination,
        HEADER_TIME: str(when),
        HEADER_SIGNATURE: signature_header(sign_request(keys, request.signing_bytes())),
    }


@dataclass(frozen=True, slots=True)
class Answer:
    """What the target answered."""

    status: int
    media_type: str
    body: bytes

    def json(self) -> Any:
        """The body as JSON; ``Failed`` if it is not."""
        try:
            return json.loads(self.body)
        except ValueError:
            raise Failed(f"HTTP {self.status}: the answer is not JSON ({self.short()})") from None

    @property
    def reason(self) -> str | None:
        """The reason code of an error answer (chapter 05 §6), if the body is one."""
        try:
            value = json.loads(self.body)
        except ValueError:
            return None
        if isinstance(value, dict) and isinstance(value.get("error"), dict):
            reason = value["error"].get("reason")
            return reason if isinstance(reason, str) else None
        return None

    def short(self) -> str:
        """The status and the start of the body, for a failure message."""
        if self.media_type == "application/json" or self.body[:1] in (b"{", b"["):
            text = self.body[:200].decode("utf-8", "replace")
        else:
            text = f"{len(self.body)} bytes of {self.media_type or 'no media type'}"
        return f"HTTP {self.status}: {text}"

    def expect_ok(self, what: str) -> Answer:
        """This answer if it is a 200; ``Failed`` naming ``what`` otherwise."""
        if self.status != 200:
            raise Failed(f"{what}: expected HTTP 200, got {self.short()}")
        return self

    def expect_msgpack(self, what: str) -> bytes:
        """The body of a 200 answer in the federation media type."""
        self.expect_ok(what)
        if self.media_type != MEDIA_TYPE:
            raise Failed(f"{what}: expected {MEDIA_TYPE}, got {self.media_type or 'none'}")
        return self.body

    def expect_refusal(self, reason: str, status: int | None = None) -> None:
        """``Failed`` unless the answer is the error ``reason`` (with ``status``, if given)."""
        got = self.reason
        if got != reason or (status is not None and self.status != status):
            want = f"HTTP {status} {reason}" if status is not None else reason
            raise Failed(f"expected {want}, got {self.short()}")


def _retry_after(value: str | None) -> float:
    """Seconds to wait before a retry: the target's ``Retry-After``, else one second."""
    try:
        return min(max(float(value or 1), 0.1), 10.0)
    except ValueError:
        return 1.0


class Target:
    """The node under test: its base URL and agency id, and one HTTP session."""

    def __init__(self, url: str, agency: str, session: aiohttp.ClientSession) -> None:
        self.url = url.rstrip("/")
        self.agency = agency
        self.session = session

    async def send(
        self, method: str, path: str, *, body: bytes = b"", headers: dict[str, str]
    ) -> Answer:
        """Send exactly these headers and body; the answer, whatever its status.

        A ``429 busy`` (the target's admission control, chapter 05) is waited
        out and the same request sent again, as a member's courier would.
        """
        for _ in range(BUSY_RETRIES):
            async with self.session.request(
                method,
                self.url + path,
                data=body if body or method != "GET" else None,
                headers=headers,
            ) as resp:
                data = await resp.content.read(MAX_ANSWER + 1)
                if len(data) > MAX_ANSWER:
                    raise Failed(f"{method} {path}: the answer is over {MAX_ANSWER} bytes")
                answer = Answer(resp.status, resp.content_type, data)
                wait = _retry_after(resp.headers.get("Retry-After"))
            if answer.status != 429:
                return answer
            await asyncio.sleep(wait)
        return answer

    async def call(
        self,
        keys: AgencyKeys,
        method: str,
        path: str,
        body: bytes = b"",
        *,
        media_type: str = MEDIA_TYPE,
    ) -> Answer:
        """A request signed by ``keys``' agency, as a member node sends it."""
        headers = signed_headers(keys, method=method, path=path, destination=self.agency, body=body)
        if body or method == "POST":
            headers["Content-Type"] = media_type
        return await self.send(method, path, body=body, headers=headers)
