"""A notice page built for people, not a dump of the notice's JSON.

The title is in the reader's language; the fields sit under labels in
sections, places by name; the sender sees delivery before the contents;
a photo shows as a picture (from the console's own origin, which the page's
policy allows) as well as a download; hits are grouped by what they share.
"""

from __future__ import annotations

import html
import re

import pytest
from console_client import signed_in
from node_harness import Cluster, TestNode
from notice_json import publish_body

from baliza.node.console.adapter import FEED_PAGE
from baliza.node.console.analyst import sender_of

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256)) * 8


@pytest.fixture
async def nodes(cluster: Cluster) -> tuple[TestNode, TestNode]:
    gye, alg = await cluster(("ec.polnac.gye", "es.aduanas.alg"))
    return gye, alg


async def test_the_notice_page_reads_as_written_for_people(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    stored = await gye.api("publisher").post_bytes("/api/v1/attachments", JPEG, "image/jpeg")
    body = publish_body(gye.agency, [alg.agency])
    body["notice"]["attachments"] = [{**stored, "filename": "doors.jpg"}]
    body["notice"]["route"] = {"loading": {"locode": "ECGYE"}, "discharge": {"locode": "ESALG"}}
    sent = await gye.api("publisher").post("/api/v1/notices", body)
    again = await gye.api("publisher").post(
        "/api/v1/notices", publish_body(gye.agency, [alg.agency])
    )
    for lang, title, label in (
        ("es", "Incautación: cocaína 25 kg en Algeciras (ESALG)", "Lugar de la incautación"),
        ("fr", "Saisie : cocaïne 25 kg à Algeciras (ESALG)", "Lieu de la saisie"),
        ("pt", "Apreensão: cocaína 25 kg em Algeciras (ESALG)", "Local da apreensão"),
        ("en", "Seizure: cocaine 25 kg at Algeciras (ESALG)", "Place of seizure"),
    ):
        client, _ = await signed_in(gye, "publisher", lang)
        async with client, client.get(gye.url + f"/console/notices/{sent['id']}") as resp:
            page = await resp.text()
        h1 = re.search(r"<h1>(.*?)</h1>", page, re.S)
        assert h1 is not None
        shown = h1.group(1).replace("\u202f", " ").replace("\xa0", " ")
        assert shown.startswith(title), (lang, shown)
        assert f'<dt>{label}</dt><dd dir="auto">Algeciras (ESALG)</dd>' in page
        # No JSON path is shown as a field name.
        for path in ("conveyance.container", "location.locode", "attachments[0]", "seized_ms"):
            assert path not in page, (lang, path)
        # The sender came for the delivery: it comes before the contents.
        assert page.index('id="delivery-heading"') < page.index('id="section-1"')
        # The photo as a picture, and still as a download.
        link = f"/console/notices/{sent['id']}/attachments/{stored['sha256']}"
        assert f'<img src="{link}"' in page and f'href="{link}" download=' in page
        # Hits grouped by what they share, with a count.
        assert re.search(r'<h3 id="hits-1">[^<]+<code>MSCU1234566</code>', page)
        assert f'href="/console/notices/{again["id"]}"' in page


async def test_a_container_typed_with_spaces_in_the_text_box_is_found(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    sent = await gye.api("publisher").post(
        "/api/v1/notices", publish_body(gye.agency, [alg.agency])
    )
    other = publish_body(gye.agency, [alg.agency], container="CSQU3054383")
    await gye.api("publisher").post("/api/v1/notices", other)
    for typed in ("MSCU 123456 6", "mscu-123456-6"):
        # The API (and so `baliza search`) and the console's text box read it alike.
        found = await gye.api("analyst").get("/api/v1/notices", {"q": typed})
        assert [i["id"] for i in found["items"]] == [sent["id"]]
        client, _ = await signed_in(gye, "analyst")
        async with client, client.get(gye.url + "/console/", params={"q": typed}) as resp:
            page = await resp.text()
        assert f'href="/console/notices/{sent["id"]}"' in page
        assert "CSQU3054383" not in page
    # Words that are no container number are still searched as words.
    found = await gye.api("analyst").get("/api/v1/notices", {"q": "Holdalls doors"})
    assert len(found["items"]) == 2


def test_the_sender_filter_takes_a_name_that_names_one_agency() -> None:
    names = {
        "es.aduanas.alg": "Vigilancia Aduanera Algeciras",
        "co.polfa.ctg": "Policía Fiscal y Aduanera Cartagena",
        "co.polfa.bog": "Policía Fiscal y Aduanera Bogotá",
    }
    assert sender_of("Algeciras", names) == "es.aduanas.alg"
    assert sender_of("cartagena", names) == "co.polfa.ctg"  # case and accents ignored
    assert sender_of("BOGOTA", names) == "co.polfa.bog"
    assert sender_of("co.polfa.ctg", names) == "co.polfa.ctg"
    # Several agencies, or none: left as typed, for the filter to refuse naming itself.
    assert sender_of("Policía Fiscal", names) == "Policía Fiscal"
    assert sender_of("Lisboa", names) == "Lisboa"


async def test_agencies_are_shown_by_the_directory_and_a_name_matching_none_is_refused(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    sent = await gye.api("publisher").post(
        "/api/v1/notices", publish_body(gye.agency, [alg.agency])
    )
    client, _ = await signed_in(gye, "analyst")
    async with client:
        # The directory in force is asked: these test nodes are named by their id,
        # so the id is shown once, not twice.
        async with client.get(gye.url + f"/console/notices/{sent['id']}") as resp:
            page = html.unescape(await resp.text())
        assert f"<dd>{gye.agency}</dd>" in page
        assert 'class="agency-id"' not in page
        # The header names the node one is signed in to (five tabs, five nodes).
        assert f'<span class="here" id="node-agency">{gye.agency}</span>' in page
        async with client.get(gye.url + "/console/", params={"sender": gye.agency}) as resp:
            assert resp.status == 200
            feed = await resp.text()
        assert f'href="/console/notices/{sent["id"]}"' in feed
        assert 'value="receipt"' not in feed  # a receipt is no notice to filter for
        async with client.get(gye.url + "/console/", params={"sender": "Nowhere at all"}) as resp:
            assert resp.status == 422
            assert "sender" in await resp.text()


async def test_the_feed_says_how_many_notices_it_shows_of_how_many_and_their_hits(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    for _ in range(FEED_PAGE + 2):
        await gye.api("publisher").post("/api/v1/notices", publish_body(gye.agency, [alg.agency]))
    client, _ = await signed_in(gye, "analyst", "es")
    async with client, client.get(gye.url + "/console/") as resp:
        page = await resp.text()
    total = FEED_PAGE + 2
    assert f"Avisos 1–{FEED_PAGE} de {total}, los más recientes primero." in page
    assert "Avisos anteriores" in page  # the two oldest are a page away, not out of reach
    assert "Incautación: cocaína 25" in page  # each row titled in the reader's language
    # Every notice names the same container: each row says how many others do.
    assert page.count(f"coincidencias: {total - 1}") == FEED_PAGE
