"""Attachments: content stored by hash, type checked from the bytes, served only as a download.

This file covers the publishing node's half (upload, list in the notice,
download, the command line); test_node_attachment_transport.py covers the
content travelling to recipients.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from loopback_support import wait_for
from test_node_search import CTG, Pair, pair, publish, received

from baliza.node.cli.main import main
from baliza.node.cli.templates import example
from baliza.protocol.errors import InputError
from baliza.protocol.notices.common import MAX_ATTACHMENT_SIZE

__all__ = ["pair"]

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256)) * 8
# A download's name, in ASCII and in UTF-8 (RFC 6266).
DOORS_DISPOSITION = "attachment; filename=\"doors.jpg\"; filename*=UTF-8''doors.jpg"


async def upload(node: Any, body: bytes, media_type: str) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            node.url + "/api/v1/attachments",
            data=io.BytesIO(body),
            headers={
                "Authorization": f"Bearer {node.tokens['publisher']}",
                "Content-Type": media_type,
            },
        ) as resp,
    ):
        return resp.status, await resp.json()


async def download(node: Any, path: str) -> tuple[int, dict[str, str], bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            node.url + path, headers={"Authorization": f"Bearer {node.tokens['analyst']}"}
        ) as resp,
    ):
        return resp.status, dict(resp.headers), await resp.read()


async def test_a_photo_is_stored_by_hash_listed_and_served_as_a_download(pair: Pair) -> None:
    status, stored = await upload(pair.alg, JPEG, "image/jpeg")
    assert status == 201
    assert stored == {
        "sha256": hashlib.sha256(JPEG).hexdigest(),
        "media_type": "image/jpeg",
        "size": len(JPEG),
    }
    notice = example("seizure-seaport")
    notice["attachments"] = [{**stored, "filename": "doors.jpg"}]
    seizure = await publish(pair.alg, notice, CTG)
    status, headers, body = await download(
        pair.alg, f"/api/v1/notices/{seizure}/attachments/{stored['sha256']}"
    )
    assert (status, body) == (200, JPEG)
    assert headers["Content-Type"] == "image/jpeg"
    assert headers["Content-Disposition"] == DOORS_DISPOSITION
    assert headers["X-Content-Type-Options"] == "nosniff"
    # A notice may list only content this node holds, at its real size.
    wrong = example("seizure-seaport")
    wrong["attachments"] = [{**stored, "size": 10, "filename": "doors.jpg"}]
    with pytest.raises(InputError, match="not the size"):
        await publish(pair.alg, wrong, CTG)
    wrong["attachments"] = [{**stored, "sha256": "ab" * 32, "filename": "doors.jpg"}]
    with pytest.raises(InputError, match="upload the content first"):
        await publish(pair.alg, wrong, CTG)
    # Content the notice does not list is not served, whatever the node holds.
    other = hashlib.sha256(b"x").hexdigest()
    status, _, _ = await download(pair.alg, f"/api/v1/notices/{seizure}/attachments/{other}")
    assert status == 404
    # The recipient fetches the content from the sender and serves it the same way.
    await wait_for(lambda: received(pair.ctg, seizure))
    status, headers, body = await download(
        pair.ctg, f"/api/v1/notices/{seizure}/attachments/{stored['sha256']}"
    )
    assert (status, body) == (200, JPEG)
    assert headers["Content-Disposition"] == DOORS_DISPOSITION


@pytest.mark.parametrize(
    ("body", "claimed", "status", "reason"),
    [
        (b"<html><script>alert(1)</script></html>" * 4, "image/jpeg", 415, "unsupported_media"),
        (b"MZ\x90\x00" + bytes(100), "application/pdf", 415, "unsupported_media"),
        (b"plain words\x00 with a NUL" * 4, "text/plain", 415, "unsupported_media"),
        (b"", "image/jpeg", 422, "missing_field"),
    ],
)
async def test_content_that_is_not_an_allowed_type_is_refused(
    pair: Pair, body: bytes, claimed: str, status: int, reason: str
) -> None:
    got, answer = await upload(pair.alg, body, claimed)
    assert (got, answer["error"]["reason"]) == (status, reason)
    folder = pair.alg.config.data_dir / "attachments"
    assert not folder.exists() or list(folder.iterdir()) == []  # nothing half-written kept


async def test_a_body_past_the_limit_is_cut_off(pair: Pair) -> None:
    too_big = JPEG + bytes(MAX_ATTACHMENT_SIZE)
    status, answer = await upload(pair.alg, too_big, "image/jpeg")
    assert (status, answer["error"]["reason"]) == (413, "too_large")
    assert list((pair.alg.config.data_dir / "attachments").iterdir()) == []


async def test_publish_attach_and_attachment_get_from_the_command_line(
    pair: Pair, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = tmp_path / "x-ray.jpg"
    photo.write_bytes(JPEG)
    notice = tmp_path / "seizure.json"
    notice.write_text((Path(__file__).parent / "../../examples/seizure-seaport.json").read_text())
    token = ["--url", pair.alg.url, "--token", pair.alg.tokens["publisher"]]
    argv = ["publish", str(notice), "--to", CTG, "--attach", str(photo), *token]
    assert await asyncio.to_thread(main, argv) == 0
    out = capsys.readouterr().out
    seizure = out.split("published ", 1)[1].split()[0]
    sha = hashlib.sha256(JPEG).hexdigest()
    assert f"attached x-ray.jpg: image/jpeg, {len(JPEG)} bytes" in out
    saved = tmp_path / "saved.jpg"
    argv = ["attachment", "get", seizure, sha, "--out", str(saved), *token]
    assert await asyncio.to_thread(main, argv) == 0
    assert saved.read_bytes() == JPEG
    # At the recipient: `show` lists it, `attachment get` saves the same bytes.
    await wait_for(lambda: received(pair.ctg, seizure))
    theirs = ["--url", pair.ctg.url, "--token", pair.ctg.tokens["analyst"]]
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["show", seizure, *theirs]) == 0
    shown = capsys.readouterr().out
    assert "attachments (save one: baliza attachment get ID SHA256 --out FILE):" in shown
    assert "x-ray.jpg" in shown and sha in shown and "attachments[0]" not in shown
    received_copy = tmp_path / "at-ctg.jpg"
    argv = ["attachment", "get", seizure, sha, "--out", str(received_copy), *theirs]
    assert await asyncio.to_thread(main, argv) == 0
    assert received_copy.read_bytes() == JPEG
