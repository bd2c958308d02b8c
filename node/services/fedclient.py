"""The federation client: signed calls to peer nodes, and nothing trusted back.

aiohttp's exceptions are translated to ``TransportError`` here, at the one
boundary. Responses are read raw (``auto_decompress=False`` on the session and
``Accept-Encoding: identity``) and bounded, so a hostile peer cannot make this
node inflate a decompression bomb or read an endless body. Redirects are never
followed: a peer's URL answering 3xx could otherwise make this node send its
signed requests and envelopes to any address, internal services included. A
peer's answer body is never shown as it came: an error keeps the peer's reason
code and at most a short excerpt with control characters removed.
"""

from __future__ import annotations

import json
import re
import ssl
from collections.abc import AsyncGenerator, Iterable

import aiohttp

from baliza.crypto import AgencyKeys
from baliza.node.core.clock import now_ms
from baliza.node.core.logs import current_request_id
from baliza.node.core.trust import NodeAddress, Peer
from baliza.node.services.fedauth import signed_headers
from baliza.protocol.canonical import encode
from baliza.protocol.errors import BalizaError, InputError, ReasonCode, TransportError
from baliza.protocol.federation import (
    MAX_BATCH_BYTES,
    MEDIA_TYPE,
    EnvelopeResult,
    check_answer_media_type,
    decode_directory_chain,
    decode_outbox_page,
    decode_results,
    encode_batch,
    encode_directory_chain,
)

REQUEST_TIMEOUT_S = 30
# The peer's request log records it (node/http/request_log.py), so the
# sender's line about a failed call and the receiver's line about the same
# request share one id. Not signed: it names a log line, it grants nothing.
REQUEST_ID_HEADER = "X-Request-Id"


def new_session(ca_file: str = "") -> aiohttp.ClientSession:
    """A client session that never decompresses what peers send.

    ``ca_file`` (PEM) replaces the system's certificate authorities for
    https peers, for federations whose nodes use an agency or test CA.
    """
    connector = None
    if ca_file:
        context = ssl.create_default_context(cafile=ca_file)
        connector = aiohttp.TCPConnector(ssl=context)
    return aiohttp.ClientSession(
        connector=connector,
        auto_decompress=False,
        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S, connect=5),
        headers={"Accept-Encoding": "identity", "User-Agent": "baliza-node/0.1"},
    )


async def _call(
    session: aiohttp.ClientSession,
    keys: AgencyKeys,
    peer: Peer | NodeAddress,
    method: str,
    path: str,
    body: bytes = b"",
) -> bytes:
    headers = signed_headers(
        keys, method=method, path=path, destination=peer.agency, time_ms=now_ms(), body=body
    )
    headers[REQUEST_ID_HEADER] = current_request_id()
    if body:
        headers["Content-Type"] = MEDIA_TYPE
    try:
        async with session.request(
            method, peer.url + path, data=body or None, headers=headers, allow_redirects=False
        ) as resp:
            if 300 <= resp.status < 400:
                raise TransportError(
                    ReasonCode.PEER_REFUSED, f"HTTP {resp.status}: redirect not followed"
                )
            if resp.headers.get("Content-Encoding", "identity") != "identity":
                raise TransportError(ReasonCode.PEER_REFUSED, "peer sent a compressed answer")
            data = await resp.content.read(MAX_BATCH_BYTES + 1)
            if len(data) > MAX_BATCH_BYTES:
                raise TransportError(ReasonCode.TOO_LARGE, "peer answer too large")
            if resp.status != 200:
                raise TransportError(
                    ReasonCode.PEER_REFUSED, f"HTTP {resp.status}: {peer_error(data)}"
                )
            return data
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise TransportError(
            ReasonCode.PEER_UNREACHABLE, f"{peer.url}: {type(exc).__name__} {exc}".strip()
        ) from None


# A large attachment may take longer than a batch; each read still has a deadline.
STREAM_TIMEOUT = aiohttp.ClientTimeout(total=600, connect=5, sock_read=REQUEST_TIMEOUT_S)
STREAM_CHUNK = 64 * 1024


async def stream_get(
    session: aiohttp.ClientSession,
    keys: AgencyKeys,
    peer: Peer | NodeAddress,
    path: str,
    max_bytes: int,
) -> AsyncGenerator[bytes, None]:
    """A signed GET whose answer is yielded in chunks, cut off past ``max_bytes``.

    The same rules as every other call (no redirects, no compression, the
    peer's error reduced to its reason code), for answers too large to hold
    in memory. Close the generator (``contextlib.aclosing``) to release the
    connection when not reading to the end.
    """
    headers = signed_headers(
        keys, method="GET", path=path, destination=peer.agency, time_ms=now_ms(), body=b""
    )
    headers[REQUEST_ID_HEADER] = current_request_id()
    try:
        async with session.get(
            peer.url + path, headers=headers, allow_redirects=False, timeout=STREAM_TIMEOUT
        ) as resp:
            if 300 <= resp.status < 400:
                raise TransportError(
                    ReasonCode.PEER_REFUSED, f"HTTP {resp.status}: redirect not followed"
                )
            if resp.headers.get("Content-Encoding", "identity") != "identity":
                raise TransportError(ReasonCode.PEER_REFUSED, "peer sent a compressed answer")
            if resp.status != 200:
                data = await resp.content.read(4096)
                raise TransportError(
                    ReasonCode.PEER_REFUSED, f"HTTP {resp.status}: {peer_error(data)}"
                )
            try:
                check_answer_media_type(resp.headers.get("Content-Type"))
            except InputError as err:
                raise TransportError(err.reason, f"the peer's {err.detail}") from None
            if (resp.content_length or 0) > max_bytes:
                raise TransportError(ReasonCode.TOO_LARGE, "peer answer too large")
            received = 0
            async for chunk in resp.content.iter_chunked(STREAM_CHUNK):
                received += len(chunk)
                if received > max_bytes:
                    raise TransportError(ReasonCode.TOO_LARGE, "peer answer too large")
                yield chunk
    except aiohttp.ClientPayloadError:
        raise TransportError(ReasonCode.PEER_REFUSED, "the peer's answer ended early") from None
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise TransportError(
            ReasonCode.PEER_UNREACHABLE, f"{peer.url}: {type(exc).__name__} {exc}".strip()
        ) from None


_EXCERPT_CHARS = 80
_UNSAFE = re.compile(r"[^\w .,:;()/'=+-]")


def peer_error(data: bytes) -> str:
    """What a person may see of a peer's error answer: its reason code, a short clean detail.

    Baliza nodes answer errors as ``{"error": {"reason", "detail"}}``; the
    reason code is shown when it is one this node knows, the detail cut to a
    few words with anything but plain characters replaced. Anything else
    (another server's page, a redirect target's answer) is reduced to its size.
    """
    try:
        error = json.loads(data.decode("utf-8"))["error"]
        reason = ReasonCode(error["reason"])
        detail = str(error.get("detail", ""))
    except (ValueError, KeyError, TypeError):
        return f"not a Baliza answer ({len(data)} bytes)"
    return f"{reason.value}: {_UNSAFE.sub('?', detail[:_EXCERPT_CHARS])}"


async def push_batch(
    session: aiohttp.ClientSession, keys: AgencyKeys, peer: Peer, envelopes: list[bytes]
) -> list[EnvelopeResult]:
    """POST a batch to the peer's inbox; return its answer for each envelope."""
    data = await _call(session, keys, peer, "POST", "/fed/v1/inbox", encode_batch(envelopes))
    try:
        return decode_results(data, len(envelopes))
    except BalizaError as err:
        raise TransportError(ReasonCode.PEER_REFUSED, f"unreadable inbox answer: {err}") from None


async def pull_page(
    session: aiohttp.ClientSession, keys: AgencyKeys, peer: Peer, after: int, limit: int
) -> tuple[list[tuple[int, bytes]], int]:
    """GET what the peer holds for us after ``after``: ``([(seq, envelope)], next)``."""
    data = await _call(session, keys, peer, "GET", f"/fed/v1/outbox?after={after}&limit={limit}")
    try:
        return decode_outbox_page(data)
    except BalizaError as err:
        raise TransportError(ReasonCode.PEER_REFUSED, f"unreadable outbox page: {err}") from None


async def fetch_directory(session: aiohttp.ClientSession, keys: AgencyKeys, peer: Peer) -> bytes:
    """GET the peer's current signed directory (checked by the caller, as any input)."""
    return await _call(session, keys, peer, "GET", "/fed/v1/directory")


async def fetch_directory_chain(
    session: aiohttp.ClientSession, keys: AgencyKeys, peer: Peer, since: int
) -> list[bytes]:
    """GET the signed versions the peer applied after ``since``, oldest first."""
    data = await _call(session, keys, peer, "GET", f"/fed/v1/directory?since={since}")
    try:
        return decode_directory_chain(data)
    except BalizaError as err:
        raise TransportError(
            ReasonCode.PEER_REFUSED, f"unreadable directory chain: {err}"
        ) from None


async def push_directory(
    session: aiohttp.ClientSession,
    keyring: Iterable[AgencyKeys],
    peer: Peer | NodeAddress,
    signed: bytes,
) -> None:
    """POST a signed directory to the peer, which applies it if it is newer and valid.

    The request is signed with our newest key first, then older ones: a peer
    that has not yet learnt of a rotation knows only the old key, and this
    push is how it learns.
    """
    failure: TransportError | None = None
    for keys in reversed(list(keyring)):
        try:
            await _call(session, keys, peer, "POST", "/fed/v1/directory", signed)
            return
        except TransportError as err:
            if err.reason != ReasonCode.PEER_REFUSED:
                raise
            failure = err
    if failure is not None:
        raise failure


async def push_memberships(
    session: aiohttp.ClientSession, keys: AgencyKeys, peer: Peer | NodeAddress, chain: list[bytes]
) -> None:
    """POST a chain of signed membership versions of one channel, oldest first."""
    await _call(session, keys, peer, "POST", "/fed/v1/channels", encode_directory_chain(chain))


async def fetch_memberships(
    session: aiohttp.ClientSession, keys: AgencyKeys, peer: Peer, channel: str, since: int
) -> list[bytes]:
    """GET the membership versions of ``channel`` the peer holds after ``since``."""
    data = await _call(session, keys, peer, "GET", f"/fed/v1/channels/{channel}?since={since}")
    try:
        return decode_directory_chain(data)
    except BalizaError as err:
        raise TransportError(
            ReasonCode.PEER_REFUSED, f"unreadable membership chain: {err}"
        ) from None


async def request_join(
    session: aiohttp.ClientSession, keys: AgencyKeys, owner: Peer, channel: str, note: str
) -> None:
    """Ask a channel owner's node to admit this agency to a programme channel."""
    body = encode({"note": note} if note else {})
    await _call(session, keys, owner, "POST", f"/fed/v1/channels/{channel}/join", body)


async def post_message(
    session: aiohttp.ClientSession, keys: AgencyKeys, peer: Peer, path: str, body: bytes
) -> bytes:
    """POST a signed message (subscription, permission) to the peer; return its answer."""
    return await _call(session, keys, peer, "POST", path, body)


async def fetch_tree_head(session: aiohttp.ClientSession, keys: AgencyKeys, peer: Peer) -> bytes:
    """GET the peer's newest signed tree head (checked by the caller)."""
    return await _call(session, keys, peer, "GET", "/fed/v1/audit/head")


async def fetch_held_heads(session: aiohttp.ClientSession, keys: AgencyKeys, peer: Peer) -> bytes:
    """GET the newest heads the peer holds of other members' logs (each checked by the caller)."""
    return await _call(session, keys, peer, "GET", "/fed/v1/audit/heads")


async def fetch_consistency(
    session: aiohttp.ClientSession, keys: AgencyKeys, peer: Peer, first: int, second: int
) -> bytes:
    """GET the peer's consistency proof between two sizes of its log (checked by the caller)."""
    path = f"/fed/v1/audit/consistency?first={first}&second={second}"
    return await _call(session, keys, peer, "GET", path)


async def fetch_inclusion(
    session: aiohttp.ClientSession, keys: AgencyKeys, peer: Peer, envelope: str
) -> bytes:
    """GET the peer's inclusion bundle for an envelope we delivered (checked by the caller)."""
    return await _call(session, keys, peer, "GET", f"/fed/v1/audit/inclusion?envelope={envelope}")
