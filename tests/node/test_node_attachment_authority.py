"""Attachment content is stored once, but counts per notice: fetched from that notice's sender.

The attack: Cartagena holds Algeciras's photo. Guayaquil, a member that never
had it, sends Cartagena a notice listing the photo's hash. Before, Cartagena
reused the file it held: it never asked Guayaquil (which thereby learnt that
Cartagena held that content) and served the photo under Guayaquil's notice,
to its own people and to whoever it shared that notice with. Now Cartagena
fetches from Guayaquil as for any content, the same whether it holds the
bytes or not, and shows nothing under Guayaquil's notice that Guayaquil did
not serve. Real nodes on loopback; the attacker's node is a real node whose
store is doctored the way a modified node would simply lie.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import aiohttp
import pytest
from loopback_support import wait_for
from node_harness import Cluster, TestNode
from test_node_attachment_transport import PHOTO, SHA, download, held, upload
from test_node_search import ALG, CTG, publish, received

from baliza.node.cli.templates import example

GYE = "ec.sena.gye"
# Content Cartagena never held, of the photo's size: the control case.
OTHER = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + os.urandom(len(PHOTO) - 12)
OTHER_SHA = hashlib.sha256(OTHER).hexdigest()


@dataclass
class Trio:
    alg: TestNode  # the honest sender of the photo
    ctg: TestNode  # the recipient under attack
    gye: TestNode  # the attacking member


@pytest.fixture
async def trio(cluster: Cluster, database_engine: str) -> Trio:
    alg, ctg, gye = await cluster([ALG, CTG, GYE], [database_engine, database_engine, "sqlite"])
    return Trio(alg, ctg, gye)


async def claim(trio: Trio, sha: str, tlp: str = "green") -> str:
    """Guayaquil sends Cartagena a notice listing ``sha``, content it does not have.

    Its node lists only content it holds, so the attacker puts a file of the
    right size under the hash for the moment of publishing and then removes
    it: what a modified node would do by skipping the check.
    """
    store = trio.gye.config.data_dir / "attachments"
    store.mkdir(parents=True, exist_ok=True)
    (store / sha).write_bytes(b"\x00" * len(PHOTO))
    notice = example("seizure-seaport")
    notice["unit"] = {"agency": GYE, "name": "SENAE Guayaquil"}
    notice["attachments"] = [
        {"sha256": sha, "media_type": "image/jpeg", "size": len(PHOTO), "filename": "x.jpg"}
    ]
    answer = await trio.gye.api().post(
        "/api/v1/notices", {"notice": notice, "recipients": [CTG], "handling": {"tlp": tlp}}
    )
    (store / sha).unlink()
    eid = str(answer["id"])
    await wait_for(lambda: received(trio.ctg, eid))
    return eid


def asked(node: TestNode) -> int:
    """How many requests for attachment content ``node`` has had from members."""
    return node.ctx.metrics.get("baliza_attachment_requests_total", 0)


async def test_content_held_for_one_notice_is_not_shown_under_anothers(trio: Trio) -> None:
    # Cartagena holds Algeciras's photo, fetched for Algeciras's notice.
    notice = example("seizure-seaport")
    notice["attachments"] = [{**await upload(trio.alg, PHOTO), "filename": "doors.jpg"}]
    genuine = await publish(trio.alg, notice, CTG)
    await wait_for(lambda: received(trio.ctg, genuine))
    assert (await download(trio.ctg, genuine)) == (200, PHOTO)
    # Guayaquil lists the same hash: Cartagena asks Guayaquil, as for any content.
    before = asked(trio.gye)
    forged = await claim(trio, SHA)

    async def gye_was_asked() -> bool:
        return asked(trio.gye) > before

    await wait_for(gye_was_asked)
    # And shows nothing under Guayaquil's notice: Guayaquil could not serve it.
    status, error = await download(trio.ctg, forged)
    assert (status, error["reason"]) == (502, "peer_refused")
    assert PHOTO[-64:] not in str(error).encode()
    detail = await trio.ctg.api("analyst").get(f"/api/v1/notices/{forged}", {})
    assert [a["held"] for a in detail["attachments"]] == [False]
    # The genuine notice keeps its photo, and the file is stored once.
    assert (await download(trio.ctg, genuine)) == (200, PHOTO)
    genuine_detail = await trio.ctg.api("analyst").get(f"/api/v1/notices/{genuine}", {})
    assert [a["held"] for a in genuine_detail["attachments"]] == [True]
    assert held(trio.ctg) == [SHA]
    # Passing Guayaquil's notice on cannot carry Algeciras's photo either: the
    # share needs the content fetched for that notice, which Guayaquil never served.
    status, refused = await _share(trio.ctg, forged, ALG)
    assert status == 502 and refused["error"]["reason"] == "peer_refused"


async def test_a_member_cannot_tell_from_its_notice_whether_content_is_held(
    trio: Trio,
) -> None:
    notice = example("seizure-seaport")
    notice["attachments"] = [{**await upload(trio.alg, PHOTO), "filename": "doors.jpg"}]
    genuine = await publish(trio.alg, notice, CTG)
    await wait_for(lambda: received(trio.ctg, genuine))
    assert (await download(trio.ctg, genuine)) == (200, PHOTO)
    answers = []
    for sha in (SHA, OTHER_SHA):  # held by Cartagena, and not
        before = asked(trio.gye)
        forged = await claim(trio, sha)

        async def gye_was_asked(before: int = before) -> bool:
            return asked(trio.gye) > before

        await wait_for(gye_was_asked)  # the fetch comes either way
        status, error = await download(trio.ctg, forged, sha)
        answers.append((status, error["reason"], error["detail"].replace(forged, "ID")))
    assert answers[0] == answers[1]


async def _share(node: TestNode, eid: str, to: str) -> tuple[int, dict[str, dict[str, str]]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{node.url}/api/v1/notices/{eid}/share",
            json={"recipients": [to]},
            headers={"Authorization": f"Bearer {node.tokens['publisher']}"},
        ) as resp,
    ):
        return resp.status, await resp.json()
