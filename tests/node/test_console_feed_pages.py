"""The feed pages back and forth with its position ("4–6 of 7"), and offers every filter.

Nothing the feed holds is out of reach: "Older notices" pages down to the
first one stored, "Newer notices" back up, each page saying where it stands,
with the filters kept; the form offers every filter of the API's one table,
labelled, and a filter from "More filters" (vessel, company, date…) narrows
the feed as the API's does.
"""

from __future__ import annotations

import html
import re

import pytest
from console_client import signed_in
from node_harness import Cluster, TestNode
from notice_json import container_for, publish_body

from baliza.node.console import adapter, feed_filters
from baliza.node.services.filters import FILTERS

ROW = re.compile(r'<a href="/console/notices/([0-9a-f-]{36})">')
COUNT = re.compile(r'<p id="feed-count" role="status">([^<]*)</p>')
OLDER = re.compile(r'<a rel="next" href="([^"]+)">')
NEWER = re.compile(r'<a rel="prev" href="([^"]+)">')


@pytest.fixture
async def nodes(cluster: Cluster) -> tuple[TestNode, TestNode]:
    gye, alg = await cluster(("ec.polnac.gye", "es.aduanas.alg"))
    return gye, alg


def test_every_filter_of_the_api_is_in_the_form_with_a_label() -> None:
    shown, more = feed_filters.fields()
    assert [f.name for f in (*shown, *more)] == sorted(
        (s.name for s in FILTERS), key=[f.name for f in (*shown, *more)].index
    )
    assert {f.name for f in (*shown, *more)} == {s.name for s in FILTERS}
    assert {f.name: f.widget for f in more}["since"] == "date"
    assert "cocaine" in dict({f.name: f for f in more}["commodity"].options)


async def _page(client: object, url: str) -> tuple[list[str], str, str | None, str | None]:
    async with client.get(url) as resp:  # type: ignore[attr-defined]
        assert resp.status == 200
        text = await resp.text()
    count = COUNT.search(text)
    older, newer = OLDER.search(text), NEWER.search(text)
    return (
        ROW.findall(text),
        html.unescape(count.group(1)) if count else "",
        html.unescape(older.group(1)) if older else None,
        html.unescape(newer.group(1)) if newer else None,
    )


async def test_older_and_newer_pages_reach_every_notice_and_say_where_they_stand(
    nodes: tuple[TestNode, TestNode], monkeypatch: pytest.MonkeyPatch
) -> None:
    gye, alg = nodes
    monkeypatch.setattr(adapter, "FEED_PAGE", 3)  # seven notices make three pages
    sent = []
    for _ in range(7):
        body = publish_body(gye.agency, [alg.agency])
        sent.append((await gye.api("publisher").post("/api/v1/notices", body))["id"])
    other = publish_body(gye.agency, [alg.agency], container=container_for(alg.agency))
    await gye.api("publisher").post("/api/v1/notices", {**other, "handling": {"tlp": "green"}})
    client, _ = await signed_in(gye, "analyst", "en")
    async with client:
        base = gye.url + "/console/?container=MSCU1234566"
        rows, count, older, newer = await _page(client, base)
        assert rows == sent[::-1][:3] and count == "Notices 1–3 of 7, newest first."
        assert newer is None and older is not None and "container=MSCU1234566" in older
        rows, count, older, second_newer = await _page(client, gye.url + older)
        assert rows == sent[::-1][3:6] and count == "Notices 4–6 of 7, newest first."
        assert older is not None and second_newer is not None
        rows, count, last_older, newer = await _page(client, gye.url + older)
        assert rows == [sent[0]] and count == "Notices 7–7 of 7, newest first."
        assert last_older is None and newer is not None
        rows, count, _, _ = await _page(client, gye.url + newer)
        assert rows == sent[::-1][3:6] and count == "Notices 4–6 of 7, newest first."
        async with client.get(gye.url + "/console/?before=soon") as resp:
            assert resp.status == 422 and "before" in await resp.text()


async def test_a_filter_under_more_filters_narrows_the_feed(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    plain = await gye.api("publisher").post(
        "/api/v1/notices", publish_body(gye.agency, [alg.agency])
    )
    body = publish_body(gye.agency, [alg.agency], container=container_for(gye.agency))
    body["notice"]["nominal"] = {
        "companies": [{"role": "consignee", "name": "Frutas Estrecho S.L.", "country": "ES"}]
    }
    named = await gye.api("publisher").post("/api/v1/notices", body)
    client, _ = await signed_in(gye, "analyst", "es")
    async with client:
        async with client.get(gye.url + "/console/") as resp:
            page = await resp.text()
        for name in ("vessel", "company", "person", "document", "location", "commodity"):
            assert f'name="{name}"' in page, name
        assert 'type="date"' in page and "Más filtros" in page
        rows, _, _, _ = await _page(client, gye.url + "/console/?company=frutas+estrecho")
        assert rows == [named["id"]] and plain["id"] not in rows
        rows, _, _, _ = await _page(client, gye.url + "/console/?since=2000-01-01")
        assert set(rows) == {named["id"], plain["id"]}
        rows, count, _, _ = await _page(client, gye.url + "/console/?until=2000-01-01")
        assert rows == [] and count
