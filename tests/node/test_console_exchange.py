"""Import a targeting list and export notices from the console, under the API's rules.

An officer uploads an XLSX of twenty containers (and two bad rows): the
review page names each bad row, nothing is sent, and publishing sends the
twenty to the partner with the officer's handling. The same checks as the
API keep others out: a reader may not import, a form without its CSRF token
is refused, a forged draft is named by its row and publishes nothing. An
export from the console goes through the API's own handler: a TLP:RED
notice only when confirmed, and the file is logged in the audit log under
the person's name before it is answered.
"""

from __future__ import annotations

import html
import io
import json
import re

import aiohttp
import openpyxl
import pytest
from console_client import signed_in
from node_harness import Cluster, TestNode
from notice_json import publish_body
from sharing_support import wait_for
from test_exchange_imports import FOREIGN_BUNDLE, containers, targeting_list

GYE, ALG = "ec.polnac.gye", "es.aduanas.alg"
DRAFTS = re.compile(r'name="drafts" value="([^"]*)"')


@pytest.fixture
async def pair(cluster: Cluster, database_engine: str) -> dict[str, TestNode]:
    made = await cluster((GYE, ALG), database_engine)
    return {node.agency: node for node in made}


async def alerts_at(node: TestNode) -> list[str]:
    board = await node.api("analyst").get("/api/v1/alerts", {"limit": "1000"})
    return [item["id"] for item in board["items"] if item["direction"] == "in"]


def upload(csrf: str, data: bytes, name: str = "semana49.xlsx") -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("csrf", csrf)
    form.add_field("programme", "ccp")
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    return form


def with_bad_rows(count: int) -> bytes:
    """The week's list, and two rows a tired analyst typed wrong."""
    book = openpyxl.load_workbook(io.BytesIO(targeting_list(count)))
    sheet = book.active
    assert sheet is not None
    sheet.append(["MSCU1234567", "ECGYE", "ESALG", "2026-12-20", "", "", ""])  # check digit
    sheet.append([containers(21)[20], "ECGYE", "Cartagena", "2026-12-20", "", "", ""])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_twenty_rows_reviewed_then_published_from_the_console(
    pair: dict[str, TestNode],
) -> None:
    gye, alg = pair[GYE], pair[ALG]
    officer, csrf = await signed_in(gye, "publisher")
    async with officer:
        async with officer.get(gye.url + "/console/import") as resp:
            assert resp.status == 200
            assert 'id="import-upload"' in await resp.text()
        async with officer.post(
            gye.url + "/console/import", data=upload(csrf, with_bad_rows(20))
        ) as resp:
            assert resp.status == 200
            review = await resp.text()
        # Every bad row is named, by its row in the file and its column; nothing is sent.
        row_pattern = (
            r'<tr data-reason="([a-z_]+)"><td data-label="Row">(\d+)</td>'
            r'<td data-label="Column">(\w+)</td>'
        )
        named = {(row, column) for _, row, column in re.findall(row_pattern, review)}
        assert ("24", "container") in named and ("25", "destination") in named, named
        assert review.count('<td data-label="Container"><code>') == 20
        assert (await gye.api("analyst").get("/api/v1/notices", {}))["items"] == []
        drafts = DRAFTS.search(review)
        assert drafts is not None
        # Publishing without a recipient is refused on the review page, which keeps the drafts.
        async with officer.post(
            gye.url + "/console/import/publish",
            data={"csrf": csrf, "drafts": html.unescape(drafts.group(1)), "tlp": "amber"},
        ) as resp:
            assert resp.status == 400
            again = await resp.text()
        assert 'id="import-refusal"' in again and again.count('<td data-label="Container">') == 20
        async with officer.post(
            gye.url + "/console/import/publish",
            data={
                "csrf": csrf,
                "drafts": html.unescape(drafts.group(1)),
                "recipients": ALG,
                "tlp": "green",
                "codes": "h1",
            },
        ) as resp:
            assert resp.status == 200
            done = await resp.text()
        assert done.count('<li><a href="/console/notices/') == 20

    async def all_there() -> bool:
        return len(await alerts_at(alg)) == 20

    await wait_for(all_there)
    board = await alg.api("analyst").get("/api/v1/alerts", {"state": "open", "limit": "1000"})
    assert board["total"] == 20
    feed = await alg.api("analyst").get("/api/v1/notices", {"kind": "alert", "limit": "100"})
    assert {item["handling"]["tlp"] for item in feed["items"]} == {"green"}


async def test_import_is_refused_to_readers_forgers_and_forms_without_their_token(
    pair: dict[str, TestNode],
) -> None:
    gye = pair[GYE]
    reader, reader_csrf = await signed_in(gye, "analyst")
    async with reader:
        async with reader.get(gye.url + "/console/import") as resp:
            assert resp.status == 403
        async with reader.post(
            gye.url + "/console/import", data=upload(reader_csrf, targeting_list(2))
        ) as resp:
            assert resp.status == 403
    officer, csrf = await signed_in(gye, "publisher")
    async with officer:
        async with officer.post(
            gye.url + "/console/import", data=upload("", targeting_list(2))
        ) as resp:
            assert resp.status == 403  # no CSRF token
        async with officer.post(
            gye.url + "/console/import", data=upload(csrf, targeting_list(2))
        ) as resp:
            drafts = json.loads(html.unescape(DRAFTS.search(await resp.text()).group(1)))  # type: ignore[union-attr]
        # A forged second draft that is no alert: named by its row, and nothing is sent.
        drafts[1]["notice"]["kind"] = "notice.seizure"
        async with officer.post(
            gye.url + "/console/import/publish",
            data={"csrf": csrf, "drafts": json.dumps(drafts), "recipients": ALG},
        ) as resp:
            assert resp.status == 400
            page = await resp.text()
        assert f"Row {drafts[1]['row']}" in page and "drafts[1]" in page
        async with officer.post(
            gye.url + "/console/import", data=upload(csrf, b"\x00\x01 not a list", "x.csv")
        ) as resp:
            assert resp.status == 400
            assert 'id="import-refusal"' in await resp.text()
    assert (await gye.api("analyst").get("/api/v1/notices", {}))["items"] == []


async def test_console_exports_keep_red_back_until_confirmed_and_log_the_person(
    pair: dict[str, TestNode],
) -> None:
    gye, alg = pair[GYE], pair[ALG]
    body = publish_body(GYE, [ALG])
    body["handling"] = {"tlp": "red"}
    eid = str((await gye.api().post("/api/v1/notices", body))["id"])

    async def arrived() -> bool:
        items = (await alg.api("analyst").get("/api/v1/notices", {"direction": "in"}))["items"]
        return any(i["id"] == eid for i in items)

    await wait_for(arrived)
    analyst, _ = await signed_in(alg, "analyst")
    async with analyst:
        async with analyst.get(alg.url + f"/console/notices/{eid}") as resp:
            page = await resp.text()
        assert 'id="download"' in page and 'name="confirm_red"' in page
        async with analyst.get(alg.url + "/console/export/notices.xlsx") as resp:
            assert resp.status == 403  # RED, not confirmed: a page that says why
            assert "TLP:RED" in await resp.text() or resp.headers["Content-Type"].startswith(
                "text/html"
            )
        async with analyst.get(alg.url + "/console/export/notices.xlsx?confirm_red=1") as resp:
            assert resp.status == 200
            assert "red" in resp.headers["Content-Disposition"].lower()
            raw = await resp.read()
        sheet = openpyxl.load_workbook(io.BytesIO(raw)).active
        assert sheet is not None
        cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c]
        assert eid in cells and "red" in [c.lower() for c in cells]
        async with analyst.get(alg.url + f"/console/notices/{eid}/stix?sender={GYE}") as resp:
            assert resp.status == 403
        async with analyst.get(
            alg.url + f"/console/notices/{eid}/stix?sender={GYE}&confirm_red=1"
        ) as resp:
            assert resp.status == 200
            stix = json.loads(await resp.read())
        assert any(o.get("name") == "TLP:RED" for o in stix["objects"])
        async with analyst.get(alg.url + "/console/export/alerts.csv") as resp:
            assert resp.status == 200
    custody = await alg.api("analyst").get(f"/api/v1/notices/{eid}/custody", {})
    exports = [e for e in custody["entries"] if e["kind"] == "export"]
    assert len(exports) == 2  # the XLSX and the STIX bundle, not the refused tries


async def test_a_stix_bundle_becomes_alerts_the_officer_completes(
    pair: dict[str, TestNode],
) -> None:
    gye = pair[GYE]
    officer, csrf = await signed_in(gye, "publisher")
    bundle = json.dumps(FOREIGN_BUNDLE).encode()
    async with officer:
        async with officer.post(
            gye.url + "/console/import", data=upload(csrf, bundle, "misp-event.json")
        ) as resp:
            assert resp.status == 200
            page = await resp.text()
        links = re.findall(r'<a href="(/console/publish/alert\?[^"]+)">', page)
        assert len(links) == 1, page
        # The alert form opens filled with what the bundle said; nothing was published.
        async with officer.get(gye.url + html.unescape(links[0])) as resp:
            form = await resp.text()
        assert 'value="CSQU3054383"' in form and "Reefer diversion" in form
        assert (await gye.api("analyst").get("/api/v1/notices", {}))["items"] == []
        async with officer.post(
            gye.url + "/console/import", data=upload(csrf, b'{"type": "report"}', "x.json")
        ) as resp:
            assert resp.status == 400
            assert 'id="import-refusal"' in await resp.text()
