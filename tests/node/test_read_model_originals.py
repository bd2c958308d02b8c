"""The charts and the hits count each original notice once, however many copies are held.

Guayaquil sends a 48 kg seizure to Algeciras, which shares it with
Cartagena. Algeciras then holds the one seizure twice: as received and as
the share it sent. Its charts count one seizure of 48 kg, and the hits of a
later alert naming the same container list the seizure once, never its
share (and the feed's hit count says 1); Cartagena, holding the share alone, counts it once too.
"""

from __future__ import annotations

from console_client import signed_in
from node_harness import Cluster, TestNode
from notice_json import alert_notice, publish_body
from sharing_support import wait_for

from baliza.node.console.adapter import seizure_notices

GYE, CTG, ALG = "ec.polnac.gye", "co.polfa.ctg", "es.aduanas.alg"


async def _held(node: TestNode, eid: str) -> bool:
    page = await node.api("analyst").get("/api/v1/notices", {"direction": "in"})
    return any(item["id"] == eid for item in page["items"])


async def test_a_shared_seizure_is_one_seizure_in_the_charts_and_the_hits(
    cluster: Cluster,
) -> None:
    gye, alg, ctg = await cluster((GYE, ALG, CTG))
    body = publish_body(gye.agency, [alg.agency], grams=48_000)
    body["handling"] = {"tlp": "green"}
    original = str((await gye.api().post("/api/v1/notices", body))["id"])
    await wait_for(lambda: _held(alg, original))
    shared = await alg.api().post(f"/api/v1/notices/{original}/share", {"recipients": [CTG]})
    assert shared["state"] == "sent"
    await wait_for(lambda: _held(ctg, str(shared["id"])))
    alert = alert_notice(gye.agency, "MSCU1234566", body["notice"]["seized_ms"])
    later = await gye.api().post(
        "/api/v1/notices",
        {"notice": alert, "recipients": [alg.agency, ctg.agency], "handling": {"tlp": "green"}},
    )
    for node in (alg, ctg):

        async def has_alert(node: TestNode = node) -> bool:
            return await _held(node, str(later["id"]))

        await wait_for(has_alert)
        page = await node.api("analyst").get("/api/v1/notices", {"kind": "seizure"})
        # Algeciras holds two rows: the received seizure and its share of it.
        assert len(page["items"]) == (2 if node is alg else 1), node.agency
        counted = await seizure_notices(node.ctx)
        assert len(counted) == 1, node.agency
        assert counted[0]["commodities"][0]["quantity"] == {"amount": 48_000, "unit": "g"}
        client, _ = await signed_in(node, "analyst", "en")
        async with client, client.get(node.url + "/console/charts") as resp:
            assert resp.status == 200
            charts = await resp.text()
        assert "Seizure notices counted: 1</p>" in charts
        detail = await node.api("analyst").get(f"/api/v1/notices/{later['id']}", {})
        named = [h for h in detail["hits"] if h["ref"][0] == "container"]
        assert len(named) == 1, (node.agency, named)
        # The feed's hit indicator counts the same: one other notice, not its share too.
        alerts = await node.api("analyst").get("/api/v1/notices", {"kind": "alert"})
        (row,) = [item for item in alerts["items"] if item["id"] == later["id"]]
        assert row["hit_count"] == 1, (node.agency, row["hit_count"])
        seizures = await node.api("analyst").get("/api/v1/notices", {"kind": "seizure"})
        # The seizure and its share each name the alert's container: one hit each, not
        # each other.
        assert {item["hit_count"] for item in seizures["items"]} == {1}, node.agency
