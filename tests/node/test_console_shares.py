"""The console's sharing pages held to the same rules as the API, under attack.

A reader can neither open the share form nor decide a request; a request
is not refused without a reason; an agency cannot decide a request for a
notice it did not write; and a notice already sent to every partner, or a
TLP:RED one, is not shared (the service's own refusal, shown in the form).
"""

from __future__ import annotations

import pytest
from console_client import signed_in
from node_harness import Cluster, TestNode
from notice_json import publish_body
from sharing_support import wait_for

GYE, CTG, ALG = "ec.polnac.gye", "co.polfa.ctg", "es.aduanas.alg"


@pytest.fixture
async def three(cluster: Cluster) -> tuple[TestNode, TestNode, TestNode]:
    gye, alg, ctg = await cluster((GYE, ALG, CTG))
    return gye, alg, ctg


async def _held(node: TestNode, eid: str) -> bool:
    page = await node.api("analyst").get("/api/v1/notices", {"direction": "in"})
    return any(item["id"] == eid for item in page["items"])


async def _sent(gye: TestNode, alg: TestNode, tlp: str, codes: list[str]) -> str:
    body = publish_body(gye.agency, [alg.agency])
    body["handling"] = {"tlp": tlp, **({"codes": codes} if codes else {})}
    eid = str((await gye.api().post("/api/v1/notices", body))["id"])
    await wait_for(lambda: _held(alg, eid))
    return eid


async def test_sharing_pages_refuse_what_the_api_refuses(
    three: tuple[TestNode, TestNode, TestNode],
) -> None:
    gye, alg, ctg = three
    h2 = await _sent(gye, alg, "green", ["h2"])
    red = await _sent(gye, alg, "red", [])
    reader, _ = await signed_in(alg, "analyst")
    async with reader:
        async with reader.get(alg.url + f"/console/notices/{h2}/share") as resp:
            assert resp.status == 403
        async with reader.get(alg.url + f"/console/notices/{h2}") as resp:
            page = await resp.text()
        assert 'id="not-offered-share"' in page and "publisher role" in page
    officer, csrf = await signed_in(alg, "publisher")
    async with officer:
        async with officer.post(
            alg.url + f"/console/notices/{red}/share",
            data={"csrf": csrf, "recipients": ctg.agency},
        ) as resp:
            assert resp.status == 422  # TLP:RED stays with its recipients
        async with officer.post(
            alg.url + f"/console/notices/{h2}/share",
            data={"csrf": csrf, "recipients": ctg.agency, "note": "misma ruta"},
            allow_redirects=False,
        ) as resp:
            assert resp.status == 303 and "/console/shares?asked=" in resp.headers["Location"]
        pid = resp.headers["Location"].rsplit("=", 1)[1]
        # The requester cannot grant its own request: only the originator decides.
        async with officer.post(
            alg.url + f"/console/shares/{pid}/grant", data={"csrf": csrf}
        ) as resp:
            assert resp.status == 403
    await wait_for(lambda: _waiting(gye))
    originator, csrf = await signed_in(gye, "publisher")
    async with originator:
        async with originator.post(
            gye.url + f"/console/shares/{pid}/refuse", data={"csrf": csrf, "reason": " "}
        ) as resp:
            assert resp.status == 422 and "reason" in await resp.text()
        async with originator.post(
            gye.url + f"/console/shares/{pid}/refuse", data={"csrf": csrf, "reason": "Aún no."}
        ) as resp:
            assert resp.status == 200
        listed = await gye.api().get("/api/v1/permissions", {})
        assert listed["items"][0]["state"] == "refused"
        async with originator.post(
            gye.url + f"/console/shares/{pid}/grant", data={"csrf": csrf}
        ) as resp:
            assert resp.status == 409  # decided already: no second decision


async def _waiting(node: TestNode) -> bool:
    listed = await node.api().get("/api/v1/permissions", {})
    return bool(listed["items"])
