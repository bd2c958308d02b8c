"""Attachment content travels sealed from the sender to each recipient, and only to them.

Real nodes on loopback: the recipient fetches what a notice lists as soon as
it arrives, or when a person asks; the sender answers only addressees of the
envelope, only content its notice lists, and never in the clear; content
that is not what the signed notice lists is refused and nothing is kept.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from loopback_support import wait_for
from node_harness import Cluster, TestNode, make_node
from test_node_search import ALG, CTG, publish, received

from baliza.crypto.attachments import sealed_size
from baliza.node.cli.templates import example
from baliza.node.core.clock import now_ms
from baliza.node.http.appkeys import ATTACHMENTS
from baliza.node.services.fedauth import signed_headers

GYE = "ec.sena.gye"
# A JPEG of four 64 KiB records and a bit: several records on the wire.
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + os.urandom(3 * 65_536 + 1_000)
SHA = hashlib.sha256(PHOTO).hexdigest()


@dataclass
class Trio:
    alg: TestNode
    ctg: TestNode
    gye: TestNode  # a member of the federation, never addressed (and not running)


@pytest.fixture
async def trio(cluster: Cluster, database_engine: str) -> Trio:
    alg, ctg, gye = await cluster(
        [ALG, CTG, GYE], [database_engine, "sqlite", "sqlite"], start=[ALG, CTG]
    )
    return Trio(alg, ctg, gye)


async def upload(node: TestNode, body: bytes) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            node.url + "/api/v1/attachments",
            data=io.BytesIO(body),
            headers={
                "Authorization": f"Bearer {node.tokens['publisher']}",
                "Content-Type": "image/jpeg",
            },
        ) as resp,
    ):
        assert resp.status == 201
        stored: dict[str, Any] = await resp.json()
        return stored


async def publish_with_photo(trio: Trio, *names: str) -> str:
    notice = example("seizure-seaport")
    notice["attachments"] = [
        {**await upload(trio.alg, PHOTO), "filename": name} for name in names or ("doors.jpg",)
    ]
    seizure = await publish(trio.alg, notice, CTG)
    await wait_for(lambda: received(trio.ctg, seizure))
    return seizure


async def download(node: TestNode, eid: str, sha: str = SHA) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{node.url}/api/v1/notices/{eid}/attachments/{sha}",
            headers={"Authorization": f"Bearer {node.tokens['analyst']}"},
        ) as resp,
    ):
        body = await resp.read()
        return resp.status, body if resp.status == 200 else (await resp.json())["error"]


async def ask_sender(
    trio: Trio, as_node: TestNode | None, eid: str, sha: str = SHA
) -> tuple[int, bytes]:
    """GET the sender's federation route, signed as ``as_node`` (or not signed)."""
    path = f"/fed/v1/attachments/{eid}/{sha}"
    headers = {}
    if as_node is not None:
        headers = signed_headers(
            as_node.keys, method="GET", path=path, destination=trio.alg.agency,
            time_ms=now_ms(), body=b"",
        )  # fmt: skip
    async with (
        aiohttp.ClientSession() as session,
        session.get(trio.alg.url + path, headers=headers) as resp,
    ):
        return resp.status, await resp.read()


def held(node: TestNode) -> list[str]:
    folder = node.config.data_dir / "attachments"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


async def test_the_recipient_fetches_the_photo_as_soon_as_the_notice_arrives(trio: Trio) -> None:
    seizure = await publish_with_photo(trio)

    async def fetched() -> bool:
        return SHA in held(trio.ctg)

    await wait_for(fetched)  # nobody asked: the prefetch brought it
    assert (await download(trio.ctg, seizure)) == (200, PHOTO)
    # Lost on the recipient's disk: fetched again the moment a person asks.
    (trio.ctg.config.data_dir / "attachments" / SHA).unlink()
    assert (await download(trio.ctg, seizure)) == (200, PHOTO)
    assert held(trio.ctg) == [SHA]  # no temporary file left behind


async def test_on_the_wire_the_content_is_sealed_and_only_for_addressees(trio: Trio) -> None:
    seizure = await publish_with_photo(trio)
    status, sealed = await ask_sender(trio, trio.ctg, seizure)
    assert status == 200 and len(sealed) == sealed_size(len(PHOTO))
    assert PHOTO[1000:1064] not in sealed and PHOTO[-64:] not in sealed
    # A member the envelope was not addressed to hears what an unknown id gets.
    status, refused = await ask_sender(trio, trio.gye, seizure)
    assert status == 404 and b"not_found" in refused and PHOTO[-64:] not in refused
    _, unknown = await ask_sender(trio, trio.gye, "01890a5d-ac96-7b5e-9f3a-0c1d2e3f4a5b")
    assert refused.replace(seizure.encode(), b"ID") == unknown.replace(
        b"01890a5d-ac96-7b5e-9f3a-0c1d2e3f4a5b", b"ID"
    )
    # Unsigned, or signed by a stranger's keys: not even looked up.
    status, _ = await ask_sender(trio, None, seizure)
    assert status == 401
    stranger = make_node(trio.alg.config.data_dir.parent, "pa.ana.ptyx", "sqlite+aiosqlite://")
    status, answer = await ask_sender(trio, stranger, seizure)
    assert status in (401, 403) and b"unknown_sender" in answer
    # Content the sender holds but this notice does not list is not served.
    other = await upload(trio.alg, PHOTO[:5000])
    status, answer = await ask_sender(trio, trio.ctg, seizure, other["sha256"])
    assert status == 404 and b"lists no such attachment" in answer


async def test_content_that_is_not_what_the_notice_signed_is_refused_and_not_kept(
    trio: Trio,
) -> None:
    # The sender's copy goes bad (same size, other bytes) before the notice is sent.
    await upload(trio.alg, PHOTO)
    stored = trio.alg.config.data_dir / "attachments" / SHA
    stored.write_bytes(PHOTO[:-1] + b"\x00")
    notice = example("seizure-seaport")
    notice["attachments"] = [
        {"sha256": SHA, "media_type": "image/jpeg", "size": len(PHOTO), "filename": "x.jpg"}
    ]
    seizure = await publish(trio.alg, notice, CTG)
    await wait_for(lambda: received(trio.ctg, seizure))
    # Only this test's downloads from here on: a prefetch retry waiting for
    # the same content would start right after each download ends, and its
    # temporary file is a download in flight, not something kept.
    assert trio.ctg.runner is not None
    await trio.ctg.runner.app[ATTACHMENTS].stop()
    status, error = await download(trio.ctg, seizure)
    assert (status, error["reason"]) == (502, "inconsistent")
    assert "not what the signed notice lists" in error["detail"]
    assert held(trio.ctg) == []  # nothing half-written or wrong kept
    # A file cut short at the sender: the answer ends early (records that
    # end early do not open either: tests/crypto/test_crypto_attachments.py).
    stored.write_bytes(PHOTO[:70_000])
    status, error = await download(trio.ctg, seizure)
    assert (status, error["reason"]) == (502, "peer_refused")
    assert "ended early" in error["detail"]
    assert held(trio.ctg) == []
    # Once the sender holds the right content again, the photo arrives.
    stored.write_bytes(PHOTO)
    assert (await download(trio.ctg, seizure)) == (200, PHOTO)


async def test_a_sender_that_is_down_is_named_and_nothing_is_kept(trio: Trio) -> None:
    seizure = await publish_with_photo(trio)
    await wait_for(lambda: _true_when(SHA in held(trio.ctg)))
    (trio.ctg.config.data_dir / "attachments" / SHA).unlink()
    await trio.alg.stop()
    status, error = await download(trio.ctg, seizure)
    assert (status, error["reason"]) == (502, "peer_unreachable")
    assert held(trio.ctg) == []
    await trio.alg.start()
    assert (await download(trio.ctg, seizure)) == (200, PHOTO)


async def _true_when(value: bool) -> bool:
    return value


async def test_a_share_carries_the_photo_on_from_the_agency_that_shares(trio: Trio) -> None:
    """CTG passes ALG's notice on to GYE: GYE fetches the photo from CTG, which it holds."""
    await trio.gye.start()
    try:
        notice = example("seizure-seaport")
        notice["attachments"] = [{**await upload(trio.alg, PHOTO), "filename": "doors.jpg"}]
        answer = await trio.alg.api().post(
            "/api/v1/notices",
            {"notice": notice, "recipients": [CTG], "handling": {"tlp": "green"}},
        )
        seizure = str(answer["id"])
        await wait_for(lambda: received(trio.ctg, seizure))
        (trio.ctg.config.data_dir / "attachments" / SHA).unlink(missing_ok=True)
        shared = await trio.ctg.api().post(
            f"/api/v1/notices/{seizure}/share", {"recipients": [GYE]}
        )
        assert shared["state"] == "sent"
        assert SHA in held(trio.ctg)  # fetched before the share went out
        await wait_for(lambda: received(trio.gye, str(shared["id"])))
        assert (await download(trio.gye, str(shared["id"]))) == (200, PHOTO)
        # GYE got it from CTG: ALG never answered GYE, which it did not address.
        status, _ = await ask_sender(trio, trio.gye, seizure)
        assert status == 404
    finally:
        await trio.gye.stop()


async def test_an_answer_not_labelled_as_baliza_is_refused_and_nothing_is_kept(
    trio: Trio,
) -> None:
    """Chapter 10 §3: the sealed answer is ``application/vnd.baliza+msgpack``, checked.

    The sender's address answers 200 with the right bytes under another
    label (what a proxy in front of it might do): the recipient refuses it
    ``unsupported_media`` and keeps nothing; under the right label it is taken.
    """
    seizure = await publish_with_photo(trio)
    await wait_for(lambda: _true_when(SHA in held(trio.ctg)))
    (trio.ctg.config.data_dir / "attachments" / SHA).unlink()
    status, sealed = await ask_sender(trio, trio.ctg, seizure)
    assert status == 200
    await trio.alg.stop()
    label = {"Content-Type": "text/html"}

    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=sealed, headers=label)

    app = web.Application()
    app.router.add_get("/fed/v1/attachments/{id}/{sha}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, trio.alg.config.host, trio.alg.config.port).start()
    try:
        status, error = await download(trio.ctg, seizure)
        assert (status, error["reason"]) == (502, "unsupported_media")
        assert "text/html" in error["detail"]
        assert held(trio.ctg) == []
        label["Content-Type"] = "application/vnd.baliza+msgpack"
        assert (await download(trio.ctg, seizure)) == (200, PHOTO)
    finally:
        await runner.cleanup()
