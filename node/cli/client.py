"""A small client of a node's local API, used by the CLI and the demo.

A refusal from the node comes back as a ``BalizaError`` carrying the node's
own reason code and field path, so the operator reads the same words the
API said.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from baliza.protocol.errors import BalizaError, InputError, ReasonCode, TransportError, TrustError

_TIMEOUT = aiohttp.ClientTimeout(total=60)


def _error_from(status: int, text: str) -> BalizaError:
    try:
        body = json.loads(text)["error"]
        reason = ReasonCode(body["reason"])
        detail, path = str(body.get("detail", "")), str(body.get("path", ""))
    except (ValueError, KeyError, TypeError):
        return TransportError(ReasonCode.PEER_REFUSED, f"HTTP {status}: {text[:200]}")
    if status in (401, 403):
        return TrustError(reason, detail, path=path)
    if 400 <= status < 500:
        return InputError(reason, detail, path=path)
    return TransportError(reason, detail, path=path)


class ApiClient:
    """Calls one node's ``/api/v1`` with a bearer token."""

    def __init__(self, url: str, token: str, *, ca_file: str = "") -> None:
        self.url = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._ca_file = ca_file

    def _session(self, timeout: aiohttp.ClientTimeout = _TIMEOUT) -> aiohttp.ClientSession:
        """A session trusting ``tls_ca_file`` for https (the system's authorities without one)."""
        context = ssl.create_default_context(cafile=self._ca_file or None)
        return aiohttp.ClientSession(
            timeout=timeout,
            headers=self._headers,
            connector=aiohttp.TCPConnector(ssl=context),
        )

    def _unreachable(self, exc: Exception) -> TransportError:
        return TransportError(
            ReasonCode.NODE_UNREACHABLE,
            f"cannot reach the node at {self.url}: is `baliza serve` running? ({exc})",
        )

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            async with (
                self._session() as session,
                session.request(method, self.url + path, **kwargs) as resp,
            ):
                text = await resp.text()
                if resp.status >= 400:
                    raise _error_from(resp.status, text)
                return json.loads(text)
        except aiohttp.ClientError as exc:
            raise self._unreachable(exc) from None

    async def get(self, path: str, params: dict[str, str]) -> Any:
        """GET a JSON resource."""
        return await self._request("GET", path, params=params)

    async def get_bytes(self, path: str) -> bytes:
        """GET a binary resource (an envelope as evidence)."""
        try:
            async with (
                self._session() as session,
                session.get(self.url + path) as resp,
            ):
                data = await resp.read()
                if resp.status >= 400:
                    raise _error_from(resp.status, data.decode("utf-8", "replace"))
                return data
        except aiohttp.ClientError as exc:
            raise self._unreachable(exc) from None

    async def post_bytes(self, path: str, body: bytes, media_type: str) -> Any:
        """POST a binary body (a signed directory); return the JSON answer."""
        return await self._request("POST", path, data=body, headers={"Content-Type": media_type})

    async def post_file(self, path: str, file: Path, media_type: str) -> Any:
        """POST a file's bytes, streamed from disk; return the JSON answer."""
        with file.open("rb") as body:
            return await self._request(
                "POST", path, data=body, headers={"Content-Type": media_type}
            )

    async def download(self, path: str, out: Path) -> int:
        """GET a resource into ``out`` chunk by chunk; return the number of bytes."""
        size = 0
        try:
            async with (
                self._session() as session,
                session.get(self.url + path) as resp,
            ):
                if resp.status >= 400:
                    raise _error_from(resp.status, await resp.text())
                with out.open("wb") as sink:
                    async for chunk in resp.content.iter_chunked(64 * 1024):
                        sink.write(chunk)
                        size += len(chunk)
        except aiohttp.ClientError as exc:
            raise self._unreachable(exc) from None
        return size

    async def delete(self, path: str) -> Any:
        """DELETE a resource; return the JSON answer."""
        return await self._request("DELETE", path)

    async def post(self, path: str, body: Any) -> Any:
        """POST a JSON body; return the JSON answer."""
        return await self._request("POST", path, json=body)

    async def put(self, path: str, body: Any) -> Any:
        """PUT a JSON body; return the JSON answer."""
        return await self._request("PUT", path, json=body)

    async def follow(
        self,
        params: dict[str, str],
        on_item: Callable[[dict[str, Any]], None],
        *,
        stop_after: int | None = None,
        on_hit: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        """Read the Server-Sent Event stream, calling ``on_item`` for each notice.

        ``hit`` events (a new notice names what an older one named) go to
        ``on_hit``; they do not count towards ``stop_after``.
        """
        seen = 0
        event = "message"
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        try:
            async with (
                self._session(timeout) as session,
                session.get(self.url + "/api/v1/stream", params=params) as resp,
            ):
                if resp.status >= 400:
                    raise _error_from(resp.status, await resp.text())
                async for line in resp.content:
                    if line.startswith(b"event: "):
                        event = line[7:].decode().strip()
                    elif line.startswith(b"data: ") and event == "hit":
                        if on_hit is not None:
                            on_hit(json.loads(line[6:]))
                    elif line.startswith(b"data: "):
                        on_item(json.loads(line[6:]))
                        seen += 1
                        if stop_after is not None and seen >= stop_after:
                            return
        except aiohttp.ClientError as exc:
            raise self._unreachable(exc) from None
