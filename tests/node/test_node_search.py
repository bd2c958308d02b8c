"""Search finds what was sent: the failures a new user reported, each tried on real nodes.

Cartagena (co.polfa.ctg) alerts Algeciras (es.aduanas.alg) about a container;
Algeciras seizes it and tells Cartagena. Every spelling an analyst types must
find the notices, the live stream must agree with the stored query, and the
two notices must be linked as hits in every view.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from loopback_support import wait_for
from node_harness import Cluster, TestNode

from baliza.node.cli.templates import example
from baliza.node.services.filters import FILTER_NAMES, PAGING
from baliza.node.services.written import LIVE_HITS

ALG = "es.aduanas.alg"
CTG = "co.polfa.ctg"


@dataclass
class Pair:
    alg: TestNode
    ctg: TestNode


@pytest.fixture
async def pair(cluster: Cluster, database_engine: str) -> Pair:
    alg, ctg = await cluster([ALG, CTG], [database_engine, "sqlite"])
    return Pair(alg, ctg)


async def publish(node: TestNode, notice: dict[str, Any], to: str) -> str:
    answer = await node.api("publisher").post(
        "/api/v1/notices", {"notice": notice, "recipients": [to]}
    )
    return str(answer["id"])


async def ids(node: TestNode, **query: str) -> set[str]:
    page = await node.api("analyst").get("/api/v1/notices", query)
    return {item["id"] for item in page["items"]}


async def received(node: TestNode, eid: str) -> bool:
    return eid in await ids(node, direction="in")


async def alert_then_seizure(pair: Pair) -> tuple[str, str]:
    alert = await publish(pair.ctg, example("alert"), ALG)
    await wait_for(lambda: received(pair.alg, alert))
    seizure = await publish(pair.alg, example("seizure-seaport"), CTG)
    await wait_for(lambda: received(pair.ctg, seizure))
    return alert, seizure


async def test_every_spelling_of_an_identifier_finds_both_notices(pair: Pair) -> None:
    alert, seizure = await alert_then_seizure(pair)
    both = {alert, seizure}
    for node in (pair.alg, pair.ctg):
        # The company as the seizure shows it, in title case, with its legal form.
        for company in (
            "FRUTAS ESTRECHO",
            "Frutas Estrecho",
            "Frutas Estrecho S.L.",
            "frutas estrecho, sl",
        ):
            assert await ids(node, company=company) == both, company
        # "IMO 9074729" was accepted when published and is found under any spelling.
        for vessel in ("9074729", "IMO9074729", "IMO 9074729", "imo 9074729"):
            assert await ids(node, vessel=vessel) == both, vessel
        # COCTG is the alert's origin and the seizure's loading port.
        assert await ids(node, location="COCTG") == both
        assert await ids(node, location="co ctg") == both
        assert await ids(node, location="ESALG") == both
        assert await ids(node, container="MSCU 123456-6") == both
        assert await ids(node, commodity="cocaine") == {seizure}
        assert await ids(node, commodity="cocaine", location="COCTG", kind="seizure") == {seizure}
        assert await ids(node, case="es-aeat-2026/0412") == {seizure}
        # Full text, accents and case ignored, stemmed or prefixed.
        assert await ids(node, q="COCAINA platanos") == {seizure}
        assert await ids(node, q="consignatario") == {alert}
        assert await ids(node, since="2020-01-01T00:00Z") == both
        assert await ids(node, until="2020-01-01") == set()


async def test_a_wrong_filter_value_is_refused_naming_the_filter(pair: Pair) -> None:
    for query, reason, path in [
        ({"commodity": "cocaína pura"}, "bad_enum", "commodity"),
        ({"container": "MSCU1234565"}, "bad_container", "container"),
        ({"since": "yesterday"}, "bad_format", "since"),
        ({"colour": "red"}, "unknown_field", "colour"),
        ({"q": "!!!"}, "missing_field", "q"),
    ]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"{pair.alg.url}/api/v1/notices?{urlencode(query)}",
                headers={"Authorization": f"Bearer {pair.alg.tokens['analyst']}"},
            ) as resp,
        ):
            error = (await resp.json())["error"]
        assert (resp.status, error["reason"], error["path"]) == (422, reason, path)


async def test_ranked_search_with_total_and_keyset_pages(pair: Pair) -> None:
    alert, seizure = await alert_then_seizure(pair)
    courier = await publish(pair.alg, example("seizure-air-courier"), CTG)
    api = pair.alg.api("analyst")
    first = await api.get("/api/v1/search", {"q": "cocaína", "limit": "1"})
    assert first["total"] == 2
    assert len(first["items"]) == 1 and first["next"]
    second = await api.get("/api/v1/search", {"q": "cocaína", "limit": "1", "after": first["next"]})
    assert {first["items"][0]["id"], second["items"][0]["id"]} == {seizure, courier}
    assert first["items"][0]["score"] >= second["items"][0]["score"]
    third = await api.get("/api/v1/search", {"q": "cocaína", "limit": "1", "after": second["next"]})
    assert third["items"] == [] and third["next"] is None
    # The flight is found with or without its date; the passport with or without country.
    assert await ids(pair.alg, flight="IB6454") == {courier}
    assert await ids(pair.alg, flight="ib 6454 2026-11-30") == {courier}
    assert await ids(pair.alg, document="AB123456") == {courier}
    assert await ids(pair.alg, document="CO:AB123456") == {courier}
    assert await ids(pair.alg, person="Pérez Gómez, Juan Carlos") == {courier}
    assert alert not in await ids(pair.alg, q="cocaína")


async def test_hits_in_every_view(pair: Pair) -> None:
    alert, seizure = await alert_then_seizure(pair)
    api = pair.alg.api("analyst")
    full = await api.get(f"/api/v1/notices/{seizure}", {})
    shared = {tuple(h["ref"]) for h in full["hits"] if h["id"] == alert}
    assert shared == {
        ("company", "FRUTAS ESTRECHO"),
        ("container", "MSCU1234566"),
        ("vessel", "IMO9074729"),
    }
    page = await api.get("/api/v1/notices", {})
    counts = {item["id"]: item["hit_count"] for item in page["items"]}
    assert counts == {alert: 1, seizure: 1}
    # Places and commodities narrow searches but never link two notices.
    assert not any(h["ref"][0] == "location" for h in full["hits"])


async def read_events(resp: aiohttp.ClientResponse, count: int) -> list[tuple[str, Any]]:
    """The next ``count`` events of a Server-Sent Event stream, as (event, data)."""
    events: list[tuple[str, Any]] = []
    name = "message"
    while len(events) < count:
        line = (await resp.content.readline()).decode().rstrip("\n")
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            events.append((name, json.loads(line.removeprefix("data: "))))
    return events


async def test_the_live_stream_filters_like_the_stored_query_and_announces_hits(
    pair: Pair,
) -> None:
    alert = await publish(pair.ctg, example("alert"), ALG)
    await wait_for(lambda: received(pair.alg, alert))
    headers = {"Authorization": f"Bearer {pair.ctg.tokens['analyst']}"}
    # Full text over the whole notice (not the summary line), and dates, live.
    query = urlencode({"q": "plátanos", "since": "2020-01-01", "kind": "seizure"})
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{pair.ctg.url}/api/v1/stream?{query}", headers=headers) as resp,
    ):
        assert resp.status == 200
        courier = await publish(pair.alg, example("seizure-air-courier"), CTG)
        seizure = await publish(pair.alg, example("seizure-seaport"), CTG)
        events = await asyncio.wait_for(read_events(resp, 4), timeout=30)
    assert events[0][0] == "notice" and events[0][1]["id"] == seizure
    hits = [data for name, data in events if name == "hit"]
    assert {h["hit"]["id"] for h in hits} == {alert}
    assert {h["hit"]["ref"][0] for h in hits} == {"company", "container", "vessel"}
    assert all(h["id"] == seizure for h in hits)
    assert courier in await ids(pair.ctg, kind="seizure")  # stored, not streamed: no "plátanos"


async def test_openapi_parameters_are_the_filter_table(pair: Pair) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(pair.alg.url + "/api/v1/openapi.json") as resp,
    ):
        spec = await resp.json()
    for path, route in [
        ("/api/v1/notices", "list"),
        ("/api/v1/search", "search"),
        ("/api/v1/stream", "stream"),
    ]:
        names = [p["name"] for p in spec["paths"][path]["get"]["parameters"]]
        assert names == [p.name for p in PAGING[route]] + list(FILTER_NAMES)
        assert all(p.get("description") for p in spec["paths"][path]["get"]["parameters"])


async def test_a_notice_hitting_many_others_announces_only_the_newest_hits_live(
    pair: Pair,
) -> None:
    """Twelve seizures name one container: the thirteenth brings 10 hit events, the newest."""
    earlier = [await publish(pair.alg, example("seizure-seaport"), CTG) for _ in range(12)]
    await wait_for(lambda: received(pair.ctg, earlier[-1]))
    page = await pair.ctg.api("analyst").get("/api/v1/notices", {"limit": "200"})
    after = max(int(item["seq"]) for item in page["items"])
    headers = {"Authorization": f"Bearer {pair.ctg.tokens['analyst']}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{pair.ctg.url}/api/v1/stream?after={after}", headers=headers) as resp,
    ):
        latest = await publish(pair.alg, example("seizure-seaport"), CTG)
        # A notice with other references closes the count: every event of
        # ``latest`` comes before it.
        other = await publish(pair.alg, example("seizure-air-courier"), CTG)
        events: list[tuple[str, Any]] = []
        while not any(n == "notice" and d["id"] == other for n, d in events):
            events += await asyncio.wait_for(read_events(resp, 1), timeout=30)
    assert events[0][0] == "notice" and events[0][1]["id"] == latest
    hits = [data["hit"] for name, data in events if name == "hit" and data["id"] == latest]
    assert len(hits) == LIVE_HITS
    assert earlier[-1] in {h["id"] for h in hits}
    assert {h["id"] for h in hits} <= set(earlier[-LIVE_HITS:])  # the newest, not the first
    full = await pair.ctg.api("analyst").get(f"/api/v1/notices/{latest}", {})
    assert len(full["hits"]) > LIVE_HITS  # the notice's page lists them all
