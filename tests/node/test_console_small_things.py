"""The small things an officer trips over: a language switch keeping the form, the
indicators of the form's own transport, the current section marked in the menu.
"""

from __future__ import annotations

import re

import pytest
from console_client import signed_in
from node_harness import Cluster, TestNode


@pytest.fixture
async def nodes(cluster: Cluster) -> tuple[TestNode, TestNode]:
    gye, alg = await cluster(("ec.polnac.gye", "es.aduanas.alg"))
    return gye, alg


async def test_switching_language_keeps_a_half_filled_form(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    client, _ = await signed_in(gye, "publisher")
    carried = (
        f"/console/publish/alert?form=long&carried=1&origin=ECGYE&container=MSCU1234566"
        f"&recipients={alg.agency}&indicators=route&tz=Europe/Madrid&csrf=stolen&lang=fr"
    )
    async with client, client.get(gye.url + carried) as resp:
        page = await resp.text()
        assert "lang=" not in str(resp.url) and "form=long" in str(resp.url)
    assert 'lang="fr"' in page and "Publier une alerte" in page
    assert 'name="origin" type="text" value="ECGYE"' in page
    assert 'name="container" type="text" value="MSCU1234566"' in page
    assert f'value="{alg.agency}" checked' in page and 'value="route" checked' in page
    assert 'name="tz" value="Europe/Madrid"' in page
    assert "stolen" not in page  # the form's token is the session's, never carried


async def test_the_container_form_offers_no_passenger_indicators(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, _ = nodes
    client, _ = await signed_in(gye, "publisher")
    async with client:
        async with client.get(gye.url + "/console/publish/alert?programme=ccp") as resp:
            sea = await resp.text()
        async with client.get(gye.url + "/console/publish/alert?programme=aircop") as resp:
            air = await resp.text()
    for indicator in ("ticket", "travel_pattern"):
        assert f'name="indicators" value="{indicator}"' not in sea
        assert f'name="indicators" value="{indicator}"' in air
    assert 'name="indicators" value="route"' in sea


async def test_the_menu_marks_the_section_a_page_belongs_to(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    sent = await gye.api("publisher").post(
        "/api/v1/notices",
        {
            "notice": {
                "v": 1,
                "kind": "notice.seizure",
                "programme": "ccp",
                "unit": {"agency": gye.agency},
                "seized_ms": 1_790_000_000_000,
                "location": {"locode": "PTLIS"},
                "transport": "sea",
                "commodities": [{"category": "cocaine", "quantity": {"amount": 1000, "unit": "g"}}],
            },
            "recipients": [alg.agency],
        },
    )
    client, _ = await signed_in(gye, "analyst", lang="pt")
    async with client:
        async with client.get(gye.url + f"/console/notices/{sent['id']}") as resp:
            page = await resp.text()
        async with client.get(gye.url + "/console/board") as resp:
            board = await resp.text()
    assert re.search(r'<a href="/console/"[^>]*aria-current="true"', page)
    assert "Lisboa (PTLIS)" in page  # the port in the reader's language
    assert re.search(r'<a href="/console/board"[^>]*aria-current="page"', board)
    assert not re.search(r'<a href="/console/"[^>]*aria-current', board)
