"""Attachment file names cannot deceive: no bidi or format characters, the type's extension.

A partner's ``informe.html`` holding a PDF is saved as ``informe.pdf``, its
``foto.svg`` holding a PNG as ``foto.png``; a name with a right-to-left
override (``acta_\u202efdp.html``, displayed "acta_lmth.pdf") or a zero-width
character is refused, whether a member node pushes it or a person here
publishes it. Real nodes on loopback; the attacker pushes with a member's
real keys, as its node would.
"""

from __future__ import annotations

import html
import io
import os
from typing import Any

import aiohttp
import pytest
from console_client import signed_in
from hardening_kit import call, push, reason
from loopback_support import wait_for
from node_harness import Cluster, TestNode
from notice_json import publish_body, seizure

from baliza.crypto import seal_bytes
from baliza.node.core.clock import new_envelope_id, now_ms
from baliza.protocol.canonical import decode, encode
from baliza.protocol.envelope import MessageKind
from baliza.protocol.handling import Handling, Tlp
from baliza.protocol.notices import encode_notice, notice_from_json

GYE, ALG = "ec.polnac.gye", "es.aduanas.alg"
PDF = b"%PDF-1.7\n" + os.urandom(3000)
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(3000)
RLO_NAME = "acta_\u202efdp.html"  # displayed as "acta_lmth.pdf"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + os.urandom(2000)


@pytest.fixture
async def pair(cluster: Cluster, database_engine: str) -> tuple[TestNode, TestNode]:
    gye, alg = await cluster((GYE, ALG), [database_engine, database_engine])
    return gye, alg


async def upload(node: TestNode, body: bytes, claimed: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            node.url + "/api/v1/attachments",
            data=io.BytesIO(body),
            headers={
                "Authorization": f"Bearer {node.tokens['publisher']}",
                "Content-Type": claimed,
            },
        ) as resp,
    ):
        assert resp.status == 201
        stored: dict[str, Any] = await resp.json()
        return stored


BOUNDARY = "baliza-test-boundary"


def browser_form(fields: dict[str, str], filename: str, content: bytes) -> bytes:
    """A multipart form as a browser sends it: the file's name in raw UTF-8.

    (aiohttp's own ``FormData`` percent-encodes file names, which browsers do not.)
    """
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="photos"; filename="{filename}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def _pushed_with_filename(sender: TestNode, to: TestNode, filename: str) -> bytes:
    """A seizure listing one attachment named ``filename``, sealed as ``sender`` signs it.

    The name is set in the encoded notice, past the sender's own checks, as a
    member's modified node would send it.
    """
    notice = seizure(sender.agency)
    notice["attachments"] = [
        {"sha256": "ab" * 32, "media_type": "application/pdf", "size": 3000, "filename": "x.pdf"}
    ]
    wire = decode(encode_notice(notice_from_json(notice)))
    assert isinstance(wire, dict)
    attachments = wire["attachments"]
    assert isinstance(attachments, list) and isinstance(attachments[0], dict)
    attachments[0]["filename"] = filename
    return seal_bytes(
        encode(wire),
        kind=MessageKind.SEIZURE,
        sender=sender.keys,
        recipients=[to.keys.public()],
        handling=Handling(tlp=Tlp.AMBER),
        envelope_id=new_envelope_id(),
        created_ms=now_ms(),
    ).raw


async def test_a_member_pushing_a_bidi_or_zero_width_file_name_is_refused(
    pair: tuple[TestNode, TestNode],
) -> None:
    gye, alg = pair
    honest = _pushed_with_filename(gye, alg, "acta.pdf")
    override = _pushed_with_filename(gye, alg, RLO_NAME)
    joiner = _pushed_with_filename(gye, alg, "foto\u200d.jpg")
    isolate = _pushed_with_filename(gye, alg, "acta_\u2067fdp.html\u2069")
    assert await push(gye, alg, [override, joiner, isolate, honest]) == [
        ("refused", "format_character"),
        ("refused", "format_character"),
        ("refused", "format_character"),
        ("accepted", None),
    ]
    status, page = await call(alg, "GET", "/api/v1/notices", role="analyst")
    assert status == 200 and len(page["items"]) == 1  # only the honest one is stored


async def test_a_person_here_cannot_list_a_bidi_file_name(pair: tuple[TestNode, TestNode]) -> None:
    gye, alg = pair
    body = publish_body(gye.agency, [alg.agency])
    body["notice"]["attachments"] = [
        {**await upload(gye, PDF, "application/pdf"), "filename": RLO_NAME}
    ]
    status, answer = await call(gye, "POST", "/api/v1/notices", role="publisher", json=body)
    assert (status, reason(answer)) == (422, "format_character")
    assert answer["error"]["path"] == "notice.attachments[0].filename"
    # The console refuses the photo by its name before storing it, naming the
    # field, and never shows the deceiving name back.
    client, csrf = await signed_in(gye, "publisher")
    form = {"csrf": csrf, "programme": "ccp", "recipients": alg.agency}
    async with (
        client,
        client.post(
            gye.url + "/console/publish/seizure",
            data=browser_form(form, RLO_NAME, JPEG),
            headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        ) as resp,
    ):
        page = html.unescape(await resp.text())
    assert resp.status == 422
    assert 'id="photos-error"' in page and "invisible formatting character" in page
    assert "\u202e" not in page  # the deceiving name is not shown back either
    held = gye.config.data_dir / "attachments"
    assert not held.exists() or not [p for p in held.iterdir() if p.read_bytes() == JPEG]


async def test_a_download_takes_the_extension_of_its_checked_type(
    pair: tuple[TestNode, TestNode],
) -> None:
    gye, alg = pair
    report = await upload(gye, PDF, "application/pdf")
    photo = await upload(gye, PNG, "image/png")
    body = publish_body(gye.agency, [alg.agency])
    body["notice"]["attachments"] = [
        {**report, "filename": "informe.html"},
        {**photo, "filename": "foto.svg"},
    ]
    eid = str((await gye.api().post("/api/v1/notices", body))["id"])

    async def arrived() -> bool:
        status, _ = await call(alg, "GET", f"/api/v1/notices/{eid}", role="analyst")
        return status == 200

    await wait_for(arrived)
    _, detail = await call(alg, "GET", f"/api/v1/notices/{eid}", role="analyst")
    names = [(a["filename"], a["saved_as"]) for a in detail["attachments"]]
    assert names == [("informe.html", "informe.pdf"), ("foto.svg", "foto.png")]
    expected = {report["sha256"]: ("informe.pdf", PDF), photo["sha256"]: ("foto.png", PNG)}
    api = aiohttp.ClientSession(headers={"Authorization": f"Bearer {alg.tokens['analyst']}"})
    console, _ = await signed_in(alg, "analyst")
    async with api, console:
        async with console.get(f"{alg.url}/console/notices/{eid}") as resp:
            page = await resp.text()
        for sha, (saved, content) in expected.items():
            assert f'download="{saved}">{saved}</a>' in page
            for client, face in ((api, "api/v1"), (console, "console")):
                url = f"{alg.url}/{face}/notices/{eid}/attachments/{sha}"
                async with client.get(url) as resp:
                    assert resp.status == 200 and await resp.read() == content
                    disposition = resp.headers["Content-Disposition"]
                assert disposition == f"attachment; filename=\"{saved}\"; filename*=UTF-8''{saved}"
    assert 'download="informe.html"' not in page and 'download="foto.svg"' not in page
