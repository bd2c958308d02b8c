"""Times as people say them: typed and shown in the viewer's zone, stored in UTC.

Real nodes on loopback and a cookie-keeping client; what a form sends is
read back through the API, in UTC milliseconds, as the protocol stores it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from console_client import multipart, signed_in
from node_harness import Cluster, TestNode
from sharing_support import arrives
from test_console_officer import posted_id, seizure_form

from baliza.node.console import places
from baliza.node.console.i18n import Formatter
from baliza.node.console.preferences import safe_back


def utc_ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.fixture
async def nodes(cluster: Cluster) -> tuple[TestNode, TestNode]:
    gye, alg = await cluster(("ec.polnac.gye", "es.aduanas.alg"))
    return gye, alg


async def test_a_seizure_typed_in_madrid_is_stored_in_utc_and_shown_in_madrid(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    client, csrf = await signed_in(gye, "publisher", lang="es")
    async with client:
        # The preference is a GET that sets a cookie and reloads the page without it.
        async with client.get(
            gye.url + "/console/publish/seizure?tz=Europe/Madrid", allow_redirects=False
        ) as resp:
            assert resp.status == 303 and "tz=" not in resp.headers["Location"]
            assert re.match(r'baliza_tz="?Europe/Madrid"?;', resp.headers["Set-Cookie"])
            assert "HttpOnly" in resp.headers["Set-Cookie"]
        async with client.get(gye.url + "/console/publish/seizure") as resp:
            page = await resp.text()
        assert 'name="tz" value="Europe/Madrid"' in page and "Europe/Madrid" in page
        # 10:00 in Madrid in winter is 09:00 UTC; in summer, 08:00 UTC.
        for typed, stored in (("2026-11-30T10:00", "2026-11-30T09:00"),):
            form = seizure_form(csrf, alg.agency, seized=typed, tz="Europe/Madrid")
            async with client.post(
                gye.url + "/console/publish/seizure", data=multipart(form, [])
            ) as resp:
                assert resp.status == 200, await resp.text()
                eid = posted_id(resp)
                shown = await resp.text()
            notice = (await arrives(alg, eid))["notice"]
            assert notice["seized_ms"] == utc_ms(stored)
            # The page shows the time as typed, with its zone named, in Spanish.
            assert "30 nov 2026, 10:00:00 CET" in shown
        summer = seizure_form(csrf, alg.agency, seized="2026-07-01T10:00", tz="Europe/Madrid")
        async with client.post(
            gye.url + "/console/publish/seizure", data=multipart(summer, [])
        ) as resp:
            assert resp.status == 200, await resp.text()
            eid = posted_id(resp)
        assert (await arrives(alg, eid))["notice"]["seized_ms"] == utc_ms("2026-07-01T08:00")


async def test_an_alert_arrival_typed_in_the_destination_zone_is_offered_and_read_there(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    client, csrf = await signed_in(gye, "publisher")
    async with client:
        async with client.get(gye.url + "/console/places?q=COCTG") as resp:
            found = await resp.json()
        assert {"code": "COCTG", "tz": "America/Bogota"}.items() <= found[0].items()
        alert: dict[str, str | list[str]] = {
            "csrf": csrf,
            "programme": "ccp",
            "origin": "ECGYE",
            "destination": "Cartagena",  # refused: the form comes back offering no zone yet
            "expected": "2030-12-10T08:00",
            "subject_type": "container",
            "container": "MSCU1234566",
            "recipients": alg.agency,
            "tlp": "amber",
        }
        async with client.post(
            gye.url + "/console/publish/alert", data=multipart(alert, [])
        ) as resp:
            assert resp.status == 422
        alert["destination"] = "COCTG"
        alert["expected"] = "2030-12-10T08:0"  # broken: the form comes back with the zone offered
        async with client.post(
            gye.url + "/console/publish/alert", data=multipart(alert, [])
        ) as resp:
            page = await resp.text()
        assert resp.status == 422
        offered = re.search(r'<select id="expected_tz"[^>]*>(.*?)</select>', page, re.S)
        assert offered is not None and 'value="America/Bogota"' in offered.group(1)
        alert["expected"] = "2030-12-10T08:00"
        alert["expected_tz"] = "America/Bogota"
        async with client.post(
            gye.url + "/console/publish/alert", data=multipart(alert, [])
        ) as resp:
            assert resp.status == 200, await resp.text()
            eid = posted_id(resp)
            shown = await resp.text()
    # 08:00 in Bogotá (UTC-5) is 13:00 UTC; this viewer has no zone chosen: UTC, named.
    assert (await arrives(alg, eid))["notice"]["expected_ms"] == utc_ms("2030-12-10T13:00")
    assert "Dec 10, 2030, 1:00:00\u202fPM UTC" in shown


async def test_an_unknown_zone_is_refused_and_a_forged_cookie_falls_back_to_utc(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    client, csrf = await signed_in(gye, "publisher")
    async with client:
        form = seizure_form(csrf, alg.agency, tz="Mars/Olympus_Mons")
        async with client.post(
            gye.url + "/console/publish/seizure", data=multipart(form, [])
        ) as resp:
            page = await resp.text()
        assert resp.status == 422 and 'id="seized-error"' in page
        async with client.get(
            gye.url + "/console/?tz=../../etc/passwd", allow_redirects=False
        ) as resp:
            assert resp.status == 200 and "baliza_tz" not in resp.headers.get("Set-Cookie", "")
        client.cookie_jar.update_cookies({"baliza_tz": "<script>"})
        async with client.get(gye.url + "/console/preferences") as resp:
            page = await resp.text()
        assert "<script>" not in page and 'value="UTC" selected' in page


def test_the_preferences_page_goes_back_only_to_a_console_page() -> None:
    assert safe_back("/console/board?state=open") == "/console/board?state=open"
    for outside in ("//evil.example/console/", "https://evil.example/", "/api/v1/", "/console\\x"):
        assert safe_back(outside) == ""


def test_times_are_shown_in_the_viewer_zone_with_its_name() -> None:
    ms = utc_ms("2026-07-01T08:00")
    assert Formatter("fr", "Europe/Madrid").datetime(ms) == "1 juil. 2026, 10:00:00 CEST"
    assert Formatter("en", "UTC").datetime(ms).endswith("8:00:00\u202fAM UTC")
    assert Formatter("pt", "America/Sao_Paulo").datetime(ms).endswith("05:00:00 America/Sao_Paulo")
    assert Formatter("es", "Europe/Madrid").minute(ms) == "2026-07-01T10:00"


def test_each_place_has_its_zone_or_says_it_has_none() -> None:
    assert places.zone_of("MAD") == "Europe/Madrid"  # airportsdata
    assert places.zone_of("BRSSZ") == "America/Sao_Paulo"  # the curated seaports
    assert places.zone_of("FRXYZ") == "Europe/Paris"  # a country of one zone
    assert places.zone_of("BRXYZ") is None  # several zones: no guess
    assert places.zone_of("nonsense") is None
