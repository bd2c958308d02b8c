"""Publish forms say everything at once, in words that say what to write.

An empty alert is refused once, with every missing field listed in a
summary at the top that links to each field (the protocol's checks, run
without publishing, found them all); a place typed by name is offered its
code; a quantity is taken as people say it ("35 kg"); required fields are
marked. Nothing refused is published.
"""

from __future__ import annotations

import html
import re

import pytest
from console_client import multipart, signed_in
from node_harness import Cluster, TestNode

SUMMARY = re.compile(r'<div class="error-summary".*?</div>', re.S)


@pytest.fixture
async def nodes(cluster: Cluster) -> tuple[TestNode, TestNode]:
    gye, alg = await cluster(("ec.polnac.gye", "es.aduanas.alg"))
    return gye, alg


async def sent_count(node: TestNode) -> int:
    page = await node.api("analyst").get("/api/v1/notices", {"direction": "out"})
    return len(page["items"])


async def test_an_empty_alert_lists_every_missing_field_at_once(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, _ = nodes
    client, csrf = await signed_in(gye, "publisher")
    async with client:
        async with client.get(gye.url + "/console/publish/alert") as resp:
            form_page = await resp.text()
        # Required fields are marked, and the mark is read out.
        assert re.search(r'<label for="origin">[^<]+<span class="req">\*', form_page)
        assert 'id="destination" name="destination" type="text" value="" list="places"' in form_page
        assert re.search(r'<input id="expected"[^>]* required', form_page)
        empty: dict[str, str | list[str]] = {
            "csrf": csrf,
            "programme": "ccp",
            "subject_type": "container",
            "tlp": "amber",
        }
        async with client.post(
            gye.url + "/console/publish/alert", data=multipart(empty, [])
        ) as resp:
            assert resp.status == 422
            page = await resp.text()
    summary = SUMMARY.search(page)
    assert summary is not None
    linked = re.findall(r'<a href="#(\w+)">', summary.group(0))
    assert {"origin", "destination", "expected", "container", "recipients"} <= set(linked)
    for field in linked:  # each link leads to a field that is marked invalid
        assert f'id="{field}"' in page
        assert f'aria-describedby="{field}-error"' in page or field == "recipients"
    text = html.unescape(summary.group(0))
    assert "such as COCTG" in text and "such as MSCU1234566" in text
    assert "Tick at least one agency" in text
    assert await sent_count(gye) == 0


async def test_a_place_typed_by_name_is_offered_its_code_in_the_readers_language(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    client, csrf = await signed_in(gye, "publisher", "es")
    form: dict[str, str | list[str]] = {
        "csrf": csrf,
        "programme": "ccp",
        "origin": "ECGYE",
        "destination": "Cartagena",
        "expected": "2026-12-24T08:00",
        "subject_type": "container",
        "container": "MSCU1234566",
        "recipients": alg.agency,
        "tlp": "amber",
    }
    async with (
        client,
        client.post(gye.url + "/console/publish/alert", data=multipart(form, [])) as resp,
    ):
        assert resp.status == 422
        page = html.unescape(await resp.text())
    error = re.search(r'<p class="error" id="destination-error" role="alert">(.*?)</p>', page)
    assert error is not None
    assert "¿Quería decir: Cartagena → COCTG" in error.group(1)
    assert "como COCTG o ESALG" in error.group(1)
    assert await sent_count(gye) == 0


@pytest.mark.parametrize(
    ("typed", "unit", "grams"),
    [
        ("35 kg", "g", 35_000),
        ("35", "kg", 35_000),
        ("1,5 kg", "g", 1_500),
        ("412000", "g", 412_000),
    ],
)
async def test_a_quantity_is_taken_as_people_say_it(
    nodes: tuple[TestNode, TestNode], typed: str, unit: str, grams: int
) -> None:
    gye, alg = nodes
    client, csrf = await signed_in(gye, "publisher")
    form: dict[str, str | list[str]] = {
        "csrf": csrf,
        "programme": "ccp",
        "seized": "2026-11-30T10:00",
        "location": "ESALG",
        "transport": "sea",
        "category": "cocaine",
        "amount": typed,
        "unit": unit,
        "container": "MSCU1234566",
        "recipients": alg.agency,
        "tlp": "amber",
    }
    async with (
        client,
        client.post(gye.url + "/console/publish/seizure", data=multipart(form, [])) as resp,
    ):
        assert resp.status == 200, await resp.text()
        eid = str(resp.url).rsplit("/", 1)[1]
    notice = (await gye.api("analyst").get(f"/api/v1/notices/{eid}", {}))["notice"]
    assert notice["commodities"][0]["quantity"] == {"amount": grams, "unit": "g"}


async def test_a_quantity_in_a_unit_nobody_uses_is_refused_saying_what_to_write(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    client, csrf = await signed_in(gye, "publisher", "fr")
    form: dict[str, str | list[str]] = {
        "csrf": csrf,
        "programme": "ccp",
        "seized": "2026-11-30T10:00",
        "location": "ESALG",
        "transport": "sea",
        "category": "cocaine",
        "amount": "35 lbs",
        "unit": "g",
        "container": "MSCU1234566",
        "recipients": alg.agency,
        "tlp": "amber",
    }
    async with (
        client,
        client.post(gye.url + "/console/publish/seizure", data=multipart(form, [])) as resp,
    ):
        assert resp.status == 422
        page = html.unescape(await resp.text())
    assert "comme 412 kg, 35000 ou 1,5 l" in page
    assert await sent_count(gye) == 0
