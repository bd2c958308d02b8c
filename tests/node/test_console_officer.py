"""The officer's console over real HTTP: long forms, case notices, corrections, photos, limits.

Two real nodes on loopback and a cookie-keeping client, as a browser would
be; every form goes through the same publish service as the API, so what
arrives is read back through the API.
"""

from __future__ import annotations

import asyncio
import json
import re
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from console_client import multipart, signed_in
from node_harness import Cluster, TestNode, make_node
from notice_json import alert_notice, publish_body
from sharing_support import arrives, wait_for
from test_node_attachments import DOORS_DISPOSITION

from baliza.node.console.web import FORM_MAX, UPLOAD_MAX
from baliza.node.storage.sql import receipts as receipt_rows

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256)) * 8
JIT = "jit.ec-es-2026-11"


@pytest.fixture
async def nodes(cluster: Cluster) -> tuple[TestNode, TestNode]:
    gye, alg = await cluster(("ec.polnac.gye", "es.aduanas.alg"))
    return gye, alg


def seizure_form(csrf: str, recipient: str, **more: str | list[str]) -> dict[str, Any]:
    return {
        "csrf": csrf,
        "programme": "ccp",
        "seized": "2026-11-30T10:00",
        "location": "ESALG",
        "transport": "sea",
        "category": "cocaine",
        "amount": "412000",
        "unit": "g",
        "container": "MSCU1234566",
        "recipients": recipient,
        "tlp": "amber",
        **more,
    }


async def send_chunked(node: TestNode, path: str, cookie: str, chunks: list[bytes]) -> bytes:
    """POST ``chunks`` with chunked transfer encoding over a raw socket; the answer's head."""
    reader, writer = await asyncio.open_connection("127.0.0.1", node.config.port)
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n".encode()
        + b"Content-Type: application/x-www-form-urlencoded\r\n"
        + b"Transfer-Encoding: chunked\r\n\r\n"
    )
    try:
        for chunk in chunks:
            writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
    except ConnectionError:
        pass  # the node stopped reading at the bound; its answer is already there
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    writer.close()
    return head


def posted_id(resp: aiohttp.ClientResponse) -> str:
    found = re.search(r"/console/notices/([^/?]+)$", str(resp.url))
    assert found is not None, resp.url
    return found.group(1)


async def test_the_long_seizure_form_sends_route_requests_and_the_nominal_section(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    client, csrf = await signed_in(gye, "publisher")
    long_fields: dict[str, str | list[str]] = {
        "description": "Bricks marked with a crown",
        "packaging": "16 holdalls",
        "concealment": "rip_on_rip_off",
        "detection": "pre_arrival_alert",
        "seals": "co778899",
        "imo": "9074729",
        "vessel_name": "MSC Estrella",
        "route_loading": "COCTG",
        "route_transit": "PABLB",
        "route_discharge": "ESALG",
        "requests": ["share_outcome", "other"],
        "request_note": "Call the duty officer",
        "person0_role": "suspect",
        "person0_family_name": "Pérez",
        "person0_nationality": "co",
        "person0_doc_type": "passport",
        "person0_doc_number": "ab123456",
        "company0_role": "consignee",
        "company0_name": "Frutas Estrecho SL",
        "company0_country": "ES",
        "case_ref": "ES-AEAT-2026/0412",
        "unit_name": "Vigilancia Aduanera Algeciras",
    }
    async with client:
        async with client.get(gye.url + "/console/publish/seizure?form=long") as resp:
            page = await resp.text()
        assert 'name="person0_family_name"' in page and 'name="route_transit"' in page
        async with client.get(gye.url + "/console/publish/seizure") as resp:
            assert 'name="person0_family_name"' not in await resp.text()
        form = seizure_form(csrf, alg.agency, **long_fields)
        async with client.post(
            gye.url + "/console/publish/seizure?form=long", data=multipart(form, [])
        ) as resp:
            assert resp.status == 200, await resp.text()
            eid = posted_id(resp)
    notice = (await arrives(alg, eid))["notice"]
    assert notice["route"]["transit"] == [{"locode": "PABLB"}]
    assert notice["conveyance"]["seals"] == ["CO778899"]
    assert notice["conveyance"]["vessel"] == {"imo": "9074729", "name": "MSC Estrella"}
    assert notice["requests"] == [
        {"action": "other", "note": "Call the duty officer"},
        {"action": "share_outcome"},
    ]
    person = notice["nominal"]["persons"][0]
    assert (person["family_name"], person["nationality"]) == ("Pérez", "CO")
    assert person["documents"] == [{"type": "passport", "number": "AB123456"}]
    assert notice["nominal"]["companies"][0]["name"] == "Frutas Estrecho SL"
    assert notice["concealment"] == "rip_on_rip_off"
    assert notice["unit"]["name"] == "Vigilancia Aduanera Algeciras"


async def test_a_refusal_inside_a_row_shows_next_to_that_input_in_the_chosen_language(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    client, csrf = await signed_in(gye, "publisher", lang="es")
    bad = seizure_form(
        csrf,
        alg.agency,
        person0_role="courier",
        person0_family_name="Pérez",
        person0_birth_date="1990-02-30",
    )
    async with client:
        async with client.post(
            gye.url + "/console/publish/seizure?form=long", data=multipart(bad, [])
        ) as resp:
            assert resp.status == 422
            page = await resp.text()
        assert 'id="person0_birth_date-error"' in page
        assert 'aria-describedby="person0_birth_date-error"' in page
        assert "Este valor no tiene el formato esperado." in page
        assert 'value="Pérez"' in page  # what was typed is kept
        bad_route = seizure_form(csrf, alg.agency, route_transit="XXXXXX")
        async with client.post(
            gye.url + "/console/publish/seizure?form=long", data=multipart(bad_route, [])
        ) as resp:
            assert resp.status == 422
            assert 'id="route_transit-error"' in await resp.text()


async def test_a_case_notice_goes_to_a_jit_through_its_form(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    founded = await gye.api("admin").post(
        "/api/v1/channels",
        {
            "id": JIT,
            "kind": "jit",
            "name": "JIT Ecuador-Spain",
            "programme": "jit",
            "members": [alg.agency],
        },
    )
    assert founded["applied"] is True
    client, csrf = await signed_in(gye, "publisher")
    case: dict[str, str | list[str]] = {
        "csrf": csrf,
        "programme": "jit",
        "case_ref": "EC-2026/0099",
        "title": "Banana route",
        "status": "active",
        "offences": ["money_laundering", "drug_trafficking"],
        "task0_ref": "T1",
        "task0_title": "Trace the consignee's payments",
        "task0_status": "open",
        "task0_assignee": alg.agency,
        "task0_due": "2026-12-15T12:00",
        "channel": JIT,
        "tlp": "red",
        "codes": "h2",
    }
    async with client:
        async with client.get(gye.url + "/console/publish/case") as resp:
            page = await resp.text()
        assert f'<option value="{JIT}"' in page and "JIT Ecuador-Spain" in page
        async with client.post(gye.url + "/console/publish/case", data=multipart(case, [])) as resp:
            assert resp.status == 200, await resp.text()
            eid = posted_id(resp)
        # Without a channel: the protocol's rule, shown next to the channel picker.
        async with client.post(
            gye.url + "/console/publish/case", data=multipart({**case, "channel": ""}, [])
        ) as resp:
            assert resp.status == 422
            assert 'id="channel-error"' in await resp.text()
    notice = (await arrives(alg, eid))["notice"]
    assert notice["offences"] == ["drug_trafficking", "money_laundering"]
    assert notice["tasks"][0]["assignee"] == alg.agency
    assert notice["tasks"][0]["due_ms"] == 1_797_336_000_000


async def test_a_correction_starts_from_what_was_sent_and_replaces_it(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    sent = await gye.api("publisher").post(
        "/api/v1/notices", publish_body(gye.agency, [alg.agency])
    )
    await arrives(alg, sent["id"])
    client, csrf = await signed_in(gye, "publisher")
    async with client:
        async with client.get(gye.url + f"/console/notices/{sent['id']}") as resp:
            assert f"/console/publish/correction?of={sent['id']}" in await resp.text()
        async with client.get(gye.url + f"/console/publish/correction?of={sent['id']}") as resp:
            page = await resp.text()
        assert 'value="MSCU1234566"' in page and 'value="25000"' in page
        assert f'name="supersedes" value="{sent["id"]}"' in page
        values = dict(re.findall(r'<input id="(\w+)" name="\w+" type="text" value="([^"]*)"', page))
        form = {
            "csrf": csrf,
            "of_kind": "seizure",
            "supersedes": sent["id"],
            "reason": "Weight confirmed by the laboratory.",
            "programme": "ccp",
            "seized": re.findall(r'name="seized" type="datetime-local" value="([^"]+)"', page)[0],
            "location": values["location"],
            "transport": "sea",
            "category": "cocaine",
            "amount": "24800",
            "unit": "g",
            "container": values["container"],
            "recipients": alg.agency,
            "tlp": "amber",
            "codes": "h0",  # kept from the notice: a correction never lowers its handling
        }
        assert 'name="codes" value="h0" checked' in page
        without_h0 = {k: v for k, v in form.items() if k != "codes"}
        async with client.post(
            gye.url + "/console/publish/correction", data=multipart(without_h0, [])
        ) as resp:
            assert "The handling of this notice forbids" in await resp.text()  # H0 dropped
        async with client.post(
            gye.url + "/console/publish/correction", data=multipart(form, [])
        ) as resp:
            assert resp.status == 200, await resp.text()
            eid = posted_id(resp)
        # A reason is required: the protocol says so next to the reason field.
        async with client.post(
            gye.url + "/console/publish/correction",
            data=multipart({**form, "reason": ""}, []),
        ) as resp:
            assert resp.status == 422
            assert 'id="reason-error"' in await resp.text()
    correction = (await arrives(alg, eid))["notice"]
    assert correction["kind"] == "notice.correction"
    assert correction["supersedes"] == sent["id"]
    assert correction["notice"]["commodities"][0]["quantity"]["amount"] == 24800


async def test_a_notice_another_agency_sent_cannot_be_corrected_here(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    sent = await gye.api("publisher").post(
        "/api/v1/notices", publish_body(gye.agency, [alg.agency])
    )
    await arrives(alg, sent["id"])
    client, csrf = await signed_in(alg, "publisher", lang="fr")
    async with client:
        async with client.get(alg.url + f"/console/notices/{sent['id']}") as resp:
            assert "/console/publish/correction" not in await resp.text()
        async with client.get(alg.url + f"/console/publish/correction?of={sent['id']}") as resp:
            assert resp.status == 403
        form = {"csrf": csrf, "of_kind": "seizure", "supersedes": sent["id"], "reason": "x"}
        form.update({k: v for k, v in seizure_form(csrf, gye.agency).items() if k != "csrf"})
        async with client.post(
            alg.url + "/console/publish/correction", data=multipart(form, [])
        ) as resp:
            assert resp.status == 422
            assert 'id="supersedes-error"' in await resp.text()


async def test_a_photo_is_stored_listed_and_downloaded_as_a_file(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    client, csrf = await signed_in(gye, "publisher")
    async with client:
        form = seizure_form(csrf, alg.agency)
        async with client.post(
            gye.url + "/console/publish/seizure",
            data=multipart(form, [("doors.jpg", JPEG, "application/octet-stream")]),
        ) as resp:
            assert resp.status == 200, await resp.text()
            page = await resp.text()
            eid = posted_id(resp)
        listed = json.loads(
            json.dumps((await gye.api("analyst").get(f"/api/v1/notices/{eid}", {}))["notice"])
        )["attachments"]
        assert listed[0]["media_type"] == "image/jpeg"  # sniffed, not as claimed
        assert (listed[0]["size"], listed[0]["filename"]) == (len(JPEG), "doors.jpg")
        link = f"/console/notices/{eid}/attachments/{listed[0]['sha256']}"
        assert link in page
        async with client.get(gye.url + link) as resp:
            assert resp.status == 200
            assert await resp.read() == JPEG
            assert resp.headers["Content-Disposition"] == DOORS_DISPOSITION
            assert resp.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
            assert resp.headers["Content-Type"] == "image/jpeg"
        async with client.get(gye.url + f"/console/notices/{eid}/attachments/{'ab' * 32}") as resp:
            assert resp.status == 404
    analyst, _ = await signed_in(gye, "analyst")
    async with analyst, analyst.get(gye.url + link) as resp:
        assert resp.status == 200
    # On the recipient's console the same link serves the photo, fetched from the sender.
    await wait_until_held(alg, eid)
    partner, _ = await signed_in(alg, "analyst")
    async with partner, partner.get(alg.url + link) as resp:
        assert resp.status == 200
        assert await resp.read() == JPEG


async def wait_until_held(node: TestNode, eid: str) -> None:
    for _ in range(400):
        page = await node.api("analyst").get("/api/v1/notices", {"direction": "in"})
        if any(item["id"] == eid for item in page["items"]):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{eid} never arrived at {node.agency}")


async def test_a_file_of_a_type_not_allowed_is_refused_and_kept_photos_survive_a_refusal(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    client, csrf = await signed_in(gye, "publisher", lang="pt")
    async with client:
        form = seizure_form(csrf, alg.agency)
        program = b"MZ\x90\x00" + bytes(200)
        async with client.post(
            gye.url + "/console/publish/seizure",
            data=multipart(form, [("tool.exe", program, "image/jpeg")]),
        ) as resp:
            assert resp.status == 422
            page = await resp.text()
        assert 'id="photos-error"' in page
        assert "Este tipo de conteúdo não é aceite." in page
        # A good photo before the refused file stays stored and listed in the form.
        async with client.post(
            gye.url + "/console/publish/seizure",
            data=multipart(
                form, [("doors.jpg", JPEG, "image/jpeg"), ("tool.exe", program, "image/jpeg")]
            ),
        ) as resp:
            assert resp.status == 422
            assert len(re.findall(r'name="attached" value=', await resp.text())) == 1
        # A photo with a refused field: the photo is stored and carried in the form again.
        bad = {**form, "container": "MSCU1234567"}
        async with client.post(
            gye.url + "/console/publish/seizure",
            data=multipart(bad, [("doors.jpg", JPEG, "image/jpeg")]),
        ) as resp:
            assert resp.status == 422
            page = await resp.text()
        assert 'id="container-error"' in page
        kept = re.findall(r'name="attached" value="([^"]+)"', page)
        assert len(kept) == 1
        kept_value = kept[0].replace("&#34;", '"')
        async with client.post(
            gye.url + "/console/publish/seizure",
            data=multipart({**form, "attached": kept_value}, []),
        ) as resp:
            assert resp.status == 200, await resp.text()
            eid = posted_id(resp)
        # A forged "kept" entry naming content this node does not hold is refused.
        forged = json.dumps({"sha256": "cd" * 32, "media_type": "image/jpeg", "size": 9})
        async with client.post(
            gye.url + "/console/publish/seizure",
            data=multipart({**form, "attached": forged, "filename": "x.jpg"}, []),
        ) as resp:
            assert resp.status == 422
            assert 'id="photos-error"' in await resp.text()
    notice = await gye.api("analyst").get(f"/api/v1/notices/{eid}", {})
    assert [a["filename"] for a in notice["notice"]["attachments"]] == ["doors.jpg"]


async def test_console_forms_are_bounded_in_size_and_still_need_their_csrf_token(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    client, csrf = await signed_in(gye, "publisher", lang="es")
    async with client:
        # Multipart with a photo but without the token: refused before anything is stored.
        form = seizure_form("", alg.agency)
        del form["csrf"]
        async with client.post(
            gye.url + "/console/publish/seizure",
            data=multipart(form, [("doors.jpg", JPEG, "image/jpeg")]),
        ) as resp:
            assert resp.status == 403
        assert not (gye.config.data_dir / "attachments").exists() or not [
            p for p in (gye.config.data_dir / "attachments").iterdir() if not p.name.startswith(".")
        ]
        # Declared too large: refused from the header, with the reason, in Spanish.
        async with client.post(
            gye.url + "/console/publish/seizure",
            data=b"x" * 16,
            headers={
                "Content-Type": "multipart/form-data; boundary=b",
                "Content-Length": str(UPLOAD_MAX + 1),
                "Connection": "close",  # the body is left unread: no keep-alive after it
            },
        ) as resp:
            assert resp.status == 413
            assert "Es demasiado grande." in await resp.text()

        # Streamed (chunked, no length) past the bound of a form of fields: cut off.
        cookie = "; ".join(f"{c.key}={c.value}" for c in client.cookie_jar)
        head = await send_chunked(
            gye,
            "/console/sign-out",
            cookie,
            [f"csrf={csrf}&text=".encode(), *[b"a" * 65536] * (FORM_MAX // 65536 + 2)],
        )
        assert head.startswith(b"HTTP/1.1 413"), head
        # A multipart form sent where no file is taken (sign-in) gets the small bound.
        async with client.post(
            gye.url + "/console/sign-in",
            data=b"x" * 16,
            headers={
                "Content-Type": "multipart/form-data; boundary=b",
                "Content-Length": str(FORM_MAX + 1),
                "Connection": "close",
            },
        ) as resp:
            assert resp.status == 413
        # The session is still open: the refused form did not sign anyone out.
        async with client.get(gye.url + "/console/", allow_redirects=False) as resp:
            assert resp.status == 200


async def test_a_form_that_does_not_arrive_in_time_is_refused(tmp_path: Path) -> None:
    node = make_node(
        tmp_path, "ec.polnac.gye", f"sqlite+aiosqlite:///{tmp_path / 'g.db'}", body_timeout_ms=300
    )
    await node.start()
    try:
        client, csrf = await signed_in(node, "publisher")
        cookie = "; ".join(f"{c.key}={c.value}" for c in client.cookie_jar)
        await client.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", node.config.port)
        body = f"csrf={csrf}&text=".encode()
        writer.write(
            b"POST /console/sign-out HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {len(body) + 1000}\r\nCookie: {cookie}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert head.startswith(b"HTTP/1.1 408"), head
        writer.close()
    finally:
        await node.stop()


async def test_a_reader_cannot_reach_the_new_officer_forms(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    sent = await gye.api("publisher").post(
        "/api/v1/notices", publish_body(gye.agency, [alg.agency])
    )
    client, csrf = await signed_in(gye, "analyst")
    async with client:
        for path in ("/console/publish/case", f"/console/publish/correction?of={sent['id']}"):
            async with client.get(gye.url + path) as resp:
                assert resp.status == 403, path
        async with client.post(
            gye.url + "/console/publish/case", data=multipart({"csrf": csrf}, [])
        ) as resp:
            assert resp.status == 403


async def test_delivery_read_and_outcome_per_recipient_follow_the_notice(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    alert = alert_notice(gye.agency, "MSCU1234566", 1_797_336_000_000)
    sent = await gye.api("publisher").post(
        "/api/v1/notices", {"notice": alert, "recipients": [alg.agency]}
    )
    client, _ = await signed_in(gye, "analyst", lang="fr")
    source = gye.url + f"/console/notices/{sent['id']}/delivery"

    async def recipient() -> dict[str, str]:
        async with client.get(source) as resp:
            assert resp.status == 200
            items: list[dict[str, str]] = (await resp.json())["items"]
        assert [i["agency"] for i in items] == [alg.agency]
        return items[0]

    async with client:
        async with client.get(gye.url + f"/console/notices/{sent['id']}") as resp:
            assert f'data-source="/console/notices/{sent["id"]}/delivery"' in await resp.text()

        async def delivered() -> bool:
            return (await recipient())["state"] == "remis"

        await wait_for(delivered)
        assert (await recipient())["read"] == ""
        reader, csrf = await signed_in(alg, "publisher")
        async with reader:
            page = alg.url + f"/console/notices/{sent['id']}"
            async with reader.get(page) as resp:
                assert resp.status == 200
                assert f'action="/console/notices/{sent["id"]}/read"' in await resp.text()
            # Opening the page only reads: the sender learns nothing until the button.
            receipts = partial(receipt_rows.for_envelope, envelope_id=sent["id"])
            assert await alg.ctx.db.run(receipts, write=False) == []
            async with reader.post(page + "/read", data={"csrf": csrf}) as resp:
                assert resp.status == 200 and str(resp.url) == page
                assert f'action="/console/notices/{sent["id"]}/read"' not in await resp.text()

            async def read() -> bool:
                return (await recipient())["read"] != ""

            await wait_for(read)
            outcome = {
                "notice": {
                    "v": 1,
                    "kind": "notice.outcome",
                    "alert": sent["id"],
                    "result": "negative",
                    "at_ms": 1_797_336_000_000,
                },
                "recipients": [gye.agency],
            }
            await alg.api("publisher").post("/api/v1/notices", outcome)

        async def answered() -> bool:
            return (await recipient())["outcome"] == "négatif"

        await wait_for(answered)
        assert (await recipient())["final"] == "yes"
        async with client.get(gye.url + "/console/notices/not-an-id/delivery") as resp:
            assert resp.status == 422


async def test_each_programme_has_its_short_form_and_the_long_form_shows_everything(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    client, csrf = await signed_in(gye, "publisher")
    async with client:
        async with client.get(gye.url + "/console/publish/seizure?programme=aircop") as resp:
            air = await resp.text()
        assert 'name="flight"' in air and 'name="awb"' in air and 'name="container"' not in air
        assert '<option value="air" selected>' in air
        # The short form's programme is its tab; no second picker says it again.
        assert 'name="programme" value="aircop"' in air and '<select id="programme"' not in air
        async with client.get(gye.url + "/console/publish/alert?programme=gmcp") as resp:
            sea = await resp.text()
        assert 'name="imo"' in sea and 'name="vessel_name"' in sea and 'name="flight"' not in sea
        assert '<option value="vessel" selected>' in sea
        async with client.get(gye.url + "/console/publish/alert?form=long") as resp:
            full = await resp.text()
        for name in ("container", "flight", "awb", "imo", "vessel_name", "person0_family_name"):
            assert f'name="{name}"' in full, name
        form = {
            **seizure_form(csrf, alg.agency, programme="aircop", transport="air"),
            "location": "MAD",
            "flight": "IB6011",
            "awb": "075-12345675",
        }
        del form["container"]
        async with client.post(
            gye.url + "/console/publish/seizure?programme=aircop", data=multipart(form, [])
        ) as resp:
            assert resp.status == 200, await resp.text()
            eid = posted_id(resp)
    notice = (await arrives(alg, eid))["notice"]
    assert notice["conveyance"] == {"flight": "IB6011", "awb": "075-12345675"}
    assert notice["location"] == {"airport": "MAD"}


async def test_an_empty_or_broken_multipart_body_is_refused_cleanly(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, _ = nodes
    headers = {"Content-Type": "multipart/form-data; boundary=b"}
    async with aiohttp.ClientSession() as stranger:
        for body in (b"", b"--b--\r\n", b"not multipart"):
            async with stranger.post(
                gye.url + "/console/publish/alert",
                data=body,
                headers=headers,
                allow_redirects=False,
            ) as resp:
                assert resp.status == 303, body  # to sign-in, whatever the body
    client, _ = await signed_in(gye, "publisher")
    async with client:
        for body in (b"", b"not multipart"):
            async with client.post(
                gye.url + "/console/publish/alert", data=body, headers=headers
            ) as resp:
                assert resp.status == 400, body
                assert "This could not be read." in await resp.text()


async def test_the_correction_form_names_what_it_cannot_hold(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    body = publish_body(gye.agency, [alg.agency])
    body["notice"]["commodities"].append(
        {"category": "cannabis", "quantity": {"amount": 3000, "unit": "g"}}
    )
    two = await gye.api("publisher").post("/api/v1/notices", body)
    one = await gye.api("publisher").post("/api/v1/notices", publish_body(gye.agency, [alg.agency]))
    client, _ = await signed_in(gye, "publisher")
    async with client:
        async with client.get(gye.url + f"/console/publish/correction?of={two['id']}") as resp:
            page = await resp.text()
        assert "<code>commodities[1].category</code>" in page
        assert "<code>commodities[1].quantity.amount</code>" in page
        async with client.get(gye.url + f"/console/publish/correction?of={one['id']}") as resp:
            assert "are not in this form" not in await resp.text()
