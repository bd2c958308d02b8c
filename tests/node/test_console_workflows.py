"""The workflows the command line had alone, in the console, over real nodes — and under attack.

An administrator founds a channel and changes its members, reading the
change (members added and removed, version N → N+1) before signing it; a
partner asks to join and is admitted; a publisher posts an alert to a
programme channel; an administrator asks a partner for a subscription and
the partner admits it, with the request counted in the menu while it waits.
Every page calls the service the API calls, so each refusal is the API's:
a reader or a publisher cannot change a channel, a non-owner cannot sign a
change, a change read at one version is not signed at another, nothing is
signed unread, and no form is taken without its CSRF token.
"""

from __future__ import annotations

import html
import json
import re
from functools import partial
from typing import Any

import aiohttp
import pytest
from console_client import multipart, signed_in
from node_harness import Cluster, TestNode
from notice_json import alert_notice, publish_body
from sharing_support import wait_for
from test_node_channel_identity import JIT, found_jit, own_chain, push

from baliza.node.storage.sql import channels as channel_rows

GYE, CTG, ALG, MAD = "ec.polnac.gye", "co.polfa.ctg", "es.aduanas.alg", "es.gc.mad"
CCP = "ccp.pacific-europe"


@pytest.fixture
async def four(cluster: Cluster) -> list[TestNode]:
    return await cluster((GYE, CTG, ALG, MAD))


async def version_at(node: TestNode, channel: str) -> int | None:
    latest = await node.ctx.db.run(partial(channel_rows.latest, channel=channel), write=False)
    return latest.version if latest else None


async def members_at(node: TestNode, channel: str) -> tuple[str, ...]:
    latest = await node.ctx.db.run(partial(channel_rows.latest, channel=channel), write=False)
    return tuple(latest.members) if latest else ()


def founding_form(csrf: str, members: list[str], step: str) -> dict[str, Any]:
    return {
        "csrf": csrf,
        "id": CCP,
        "name": "Container programme, Pacific to Europe",
        "kind": "programme",
        "programme": "ccp",
        "members": members,
        "threshold": "1",
        "valid_days": "180",
        "step": step,
    }


async def test_a_channel_is_founded_and_changed_only_after_its_change_was_shown(
    four: list[TestNode],
) -> None:
    gye, ctg, alg, mad = four
    admin, csrf = await signed_in(gye, "admin")
    async with admin:
        async with admin.post(
            gye.url + "/console/admin/channels/new",
            data=founding_form(csrf, [ctg.agency, alg.agency], "review"),
        ) as resp:
            assert resp.status == 200
            page = html.unescape(await resp.text())
        assert 'id="change"' in page and "new channel → 1" in page
        added = re.search(r'<dd id="members-added">(.*?)</dd>', page, re.S)
        assert added is not None and ctg.agency in added.group(1) and alg.agency in added.group(1)
        assert await version_at(gye, CCP) is None  # shown, not signed
        # Not ticked as read: nothing is signed.
        async with admin.post(
            gye.url + "/console/admin/channels/new",
            data=founding_form(csrf, [ctg.agency, alg.agency], "sign"),
        ) as resp:
            assert resp.status == 422
            assert 'id="read-error"' in await resp.text()
        assert await version_at(gye, CCP) is None
        async with admin.post(
            gye.url + "/console/admin/channels/new",
            data={**founding_form(csrf, [ctg.agency, alg.agency], "sign"), "read": "yes"},
        ) as resp:
            assert resp.status == 201
            assert "version 1 is in force" in html.unescape(await resp.text())

        async def everyone_at(version: int) -> bool:
            return all([await version_at(n, CCP) == version for n in (gye, ctg, alg)])

        await wait_for(lambda: everyone_at(1))
        # Founding it twice is the service's refusal, shown next to the identifier.
        async with admin.post(
            gye.url + "/console/admin/channels/new",
            data=founding_form(csrf, [ctg.agency], "review"),
        ) as resp:
            assert resp.status == 200  # the review is read-only; the signing refuses
        async with admin.post(
            gye.url + "/console/admin/channels/new",
            data={**founding_form(csrf, [ctg.agency], "sign"), "read": "yes"},
        ) as resp:
            assert resp.status == 409
            assert 'id="id-error"' in await resp.text()

        members = gye.url + f"/console/admin/channels/{CCP}/members"
        async with admin.post(
            members,
            data={"csrf": csrf, "add": mad.agency, "remove": alg.agency, "step": "review"},
        ) as resp:
            assert resp.status == 200
            page = html.unescape(await resp.text())
        assert re.search(r'id="change-version"><strong>Version</strong> 1 → 2', page)
        assert mad.agency in re.search(r'id="members-added">(.*?)</dd>', page, re.S).group(1)  # type: ignore[union-attr]
        assert alg.agency in re.search(r'id="members-removed">(.*?)</dd>', page, re.S).group(1)  # type: ignore[union-attr]
        assert 'name="version" value="1"' in page
        assert await version_at(gye, CCP) == 1
        # A change read at another version is not signed (the channel moved on since).
        async with admin.post(
            members,
            data={
                "csrf": csrf,
                "add": mad.agency,
                "remove": alg.agency,
                "step": "sign",
                "read": "yes",
                "version": "0",
            },
        ) as resp:
            assert resp.status == 409
            page = html.unescape(await resp.text())
        assert "This conflicts with what is already stored." in page and 'id="top-error"' in page
        assert await version_at(gye, CCP) == 1
        # An owner is not removed by a member change.
        async with admin.post(
            members, data={"csrf": csrf, "remove": gye.agency, "step": "review"}
        ) as resp:
            assert resp.status == 422
        async with admin.post(
            members,
            data={
                "csrf": csrf,
                "add": mad.agency,
                "remove": alg.agency,
                "step": "sign",
                "read": "yes",
                "version": "1",
            },
        ) as resp:
            assert resp.status == 200
            assert "version 2 is in force" in html.unescape(await resp.text())

    async def changed() -> bool:
        return all([await version_at(n, CCP) == 2 for n in (gye, ctg, mad)])

    await wait_for(changed)
    assert await members_at(gye, CCP) == tuple(sorted((gye.agency, ctg.agency, mad.agency)))


async def test_a_reader_a_publisher_or_a_non_owner_cannot_change_a_channel(
    four: list[TestNode],
) -> None:
    gye, ctg, alg, _ = four
    founded = await gye.api("admin").post(
        "/api/v1/channels",
        {"id": CCP, "kind": "programme", "name": "CCP", "members": [ctg.agency]},
    )
    assert founded["applied"]
    await wait_for(lambda: _at(ctg, 1))
    change = {"add": alg.agency, "step": "sign", "read": "yes", "version": "1"}
    for role in ("analyst", "publisher"):
        client, csrf = await signed_in(gye, role)
        async with client:
            for path in ("/console/admin/channels/new", f"/console/admin/channels/{CCP}/members"):
                async with client.get(gye.url + path) as resp:
                    assert resp.status == 403
            async with client.post(
                gye.url + f"/console/admin/channels/{CCP}/members", data={"csrf": csrf, **change}
            ) as resp:
                assert resp.status == 403
            async with client.post(
                gye.url + "/console/admin/channels/new",
                data={**founding_form(csrf, [alg.agency], "sign"), "read": "yes", "id": "x.y"},
            ) as resp:
                assert resp.status == 403
    admin, csrf = await signed_in(gye, "admin")
    async with admin:
        # Without the form's CSRF token (as another site's form would post it): refused.
        async with admin.post(
            gye.url + f"/console/admin/channels/{CCP}/members", data=change
        ) as resp:
            assert resp.status == 403
        async with admin.post(
            gye.url + f"/console/admin/channels/{CCP}/members",
            data={"csrf": "not-the-token", **change},
        ) as resp:
            assert resp.status == 403
    # A member's administrator is no owner: the page says so, and the signing is refused.
    member, csrf = await signed_in(ctg, "admin")
    async with member:
        async with member.get(ctg.url + f"/console/admin/channels/{CCP}/members") as resp:
            assert 'id="not-owner"' in await resp.text()
        async with member.post(
            ctg.url + f"/console/admin/channels/{CCP}/members", data={"csrf": csrf, **change}
        ) as resp:
            assert resp.status == 403
            assert "Only an owner of the channel may do this." in await resp.text()
    assert await version_at(gye, CCP) == 1
    assert await members_at(gye, CCP) == tuple(sorted((gye.agency, ctg.agency)))


async def _at(node: TestNode, version: int) -> bool:
    return await version_at(node, CCP) == version


async def test_a_partner_asks_to_join_and_is_admitted_from_the_console(
    four: list[TestNode],
) -> None:
    gye, ctg, _, mad = four
    await gye.api("admin").post(
        "/api/v1/channels",
        {"id": CCP, "kind": "programme", "name": "CCP", "members": [ctg.agency]},
    )
    asker, csrf = await signed_in(mad, "admin")
    async with asker:
        async with asker.post(
            mad.url + "/console/admin/channels/join",
            data={"csrf": csrf, "channel": CCP, "owner": gye.agency, "note": "Barajas"},
        ) as resp:
            assert resp.status == 200
            assert 'id="join-asked"' in await resp.text()
        # Asking itself is the service's refusal.
        async with asker.post(
            mad.url + "/console/admin/channels/join",
            data={"csrf": csrf, "channel": CCP, "owner": mad.agency},
        ) as resp:
            assert resp.status == 422
    owner, csrf = await signed_in(gye, "admin")
    async with owner:
        async with owner.get(gye.url + "/console/") as resp:
            page = await resp.text()
        assert re.search(r'id="admin-waiting">1<', page)  # the menu counts it
        async with owner.get(gye.url + "/console/admin/channels") as resp:
            page = await resp.text()
        assert re.search(r'id="waiting-channels">1<', page)
        async with owner.get(gye.url + f"/console/admin/channels/{CCP}/members") as resp:
            page = await resp.text()
        action = f"/console/admin/channels/{CCP}/joins/{mad.agency}/approve"
        assert action in page
        async with owner.post(gye.url + action, data={"csrf": csrf}) as resp:
            assert resp.status == 200
        async with owner.get(gye.url + "/console/") as resp:
            assert 'id="admin-waiting"' not in await resp.text()
    await wait_for(lambda: _at(mad, 2))
    assert mad.agency in await members_at(gye, CCP)


async def test_an_alert_is_posted_to_a_programme_channel_from_the_publish_form(
    four: list[TestNode],
) -> None:
    gye, ctg, alg, mad = four
    await gye.api("admin").post(
        "/api/v1/channels",
        {"id": CCP, "kind": "programme", "name": "CCP", "members": [ctg.agency, alg.agency]},
    )
    form: dict[str, str | list[str]] = {
        "programme": "ccp",
        "origin": "ECGYE",
        "destination": "ESALG",
        "expected": "2027-01-10T08:00",
        "subject_type": "container",
        "container": "MSCU1234566",
        "channel": CCP,
        "tlp": "amber",
    }
    reader, csrf = await signed_in(gye, "analyst")
    async with (
        reader,
        reader.post(
            gye.url + "/console/publish/alert", data=multipart({"csrf": csrf, **form}, [])
        ) as resp,
    ):
        assert resp.status == 403
    officer, csrf = await signed_in(gye, "publisher")
    async with officer:
        async with officer.get(gye.url + "/console/publish/alert") as resp:
            page = await resp.text()
        assert f'<option value="{CCP}">' in page
        async with officer.post(
            gye.url + "/console/publish/alert", data=multipart(form, [])
        ) as resp:
            assert resp.status == 403  # no CSRF token
        async with officer.post(
            gye.url + "/console/publish/alert",
            data=multipart({"csrf": csrf, **form}, []),
            allow_redirects=False,
        ) as resp:
            assert resp.status == 303, await resp.text()
            eid = resp.headers["Location"].rsplit("/", 1)[1]
    sent = await gye.api("analyst").get(f"/api/v1/notices/{eid}", {})
    assert sent["channel"] == CCP
    assert sent["recipients"] == sorted([ctg.agency, alg.agency])

    async def members_have_it() -> bool:
        for node in (ctg, alg):
            page = await node.api("analyst").get("/api/v1/notices", {"direction": "in"})
            if eid not in [i["id"] for i in page["items"]]:
                return False
        return True

    await wait_for(members_have_it)
    page = await mad.api("analyst").get("/api/v1/notices", {"direction": "in"})
    assert page["items"] == []


async def test_a_subscription_is_asked_and_admitted_from_the_console(
    four: list[TestNode],
) -> None:
    gye, _, alg, _ = four
    asker, csrf = await signed_in(alg, "admin")
    async with asker:
        async with asker.get(alg.url + "/console/admin/subscriptions") as resp:
            assert 'href="/console/admin/subscriptions/new"' in await resp.text()
        # A category the protocol does not know: refused, next to its field.
        async with asker.post(
            alg.url + "/console/admin/subscriptions/new",
            data={"csrf": csrf, "publisher": gye.agency, "categories": "plutonium"},
        ) as resp:
            assert resp.status == 422
            assert 'id="categories-error"' in await resp.text()
        async with asker.post(
            alg.url + "/console/admin/subscriptions/new",
            data={"csrf": csrf, "publisher": alg.agency},
        ) as resp:
            assert resp.status == 422  # not to itself
            assert 'id="publisher-error"' in await resp.text()
        async with asker.post(
            alg.url + "/console/admin/subscriptions/new",
            data={
                "csrf": csrf,
                "publisher": gye.agency,
                "kinds": "notice.seizure",
                "categories": "cocaine",
                "places": "esalg, ecgye",
                "note": "Puerto de Algeciras",
            },
        ) as resp:
            assert resp.status == 200
    ours = await alg.api("analyst").get("/api/v1/subscriptions", {})
    [item] = ours["items"]
    assert item["filter"] == {
        "categories": ["cocaine"],
        "kinds": ["notice.seizure"],
        "places": ["ECGYE", "ESALG"],
    }
    sid = item["id"]

    async def held() -> bool:
        page = await gye.api("analyst").get("/api/v1/subscriptions", {})
        return any(i["id"] == sid for i in page["items"])

    await wait_for(held)
    decider, csrf = await signed_in(gye, "admin")
    async with decider:
        async with decider.get(gye.url + "/console/admin/keys") as resp:
            assert re.search(r'id="admin-waiting">1<', await resp.text())
        async with decider.get(gye.url + "/console/admin/subscriptions") as resp:
            assert re.search(r'id="waiting-subscriptions">1<', await resp.text())
        async with decider.post(
            gye.url + f"/console/admin/subscriptions/{sid}/approve", data={"csrf": csrf}
        ) as resp:
            assert resp.status == 200

    async def admitted() -> bool:
        page = await alg.api("analyst").get("/api/v1/subscriptions", {})
        return bool(page["items"][0]["state"] == "admitted")

    await wait_for(admitted)
    # Either side pauses; only the side that paused resumes; either cancels.
    pause = f"/console/admin/subscriptions/{sid}/state/pause"
    resume = f"/console/admin/subscriptions/{sid}/state/resume"
    subscriber, csrf = await signed_in(alg, "admin")
    async with subscriber:
        async with subscriber.get(alg.url + "/console/admin/subscriptions") as resp:
            page = await resp.text()
        assert pause in page and resume not in page
        async with subscriber.post(alg.url + pause, data={"csrf": csrf}) as resp:
            assert resp.status == 200

    async def paused_at(node: TestNode) -> bool:
        page = await node.api("analyst").get("/api/v1/subscriptions", {})
        return bool(page["items"][0]["state"] == "paused")

    await wait_for(lambda: paused_at(gye))
    publisher, csrf = await signed_in(gye, "admin")
    async with publisher:
        async with publisher.get(gye.url + "/console/admin/subscriptions") as resp:
            page = await resp.text()
        assert resume not in page  # Algeciras paused it: only Algeciras resumes
        async with publisher.post(gye.url + resume, data={"csrf": csrf}) as resp:
            assert resp.status == 403
        async with publisher.post(
            gye.url + f"/console/admin/subscriptions/{sid}/state/cancel", data={}
        ) as resp:
            assert resp.status == 403  # no CSRF token
        async with publisher.post(
            gye.url + f"/console/admin/subscriptions/{sid}/state/cancel", data={"csrf": csrf}
        ) as resp:
            assert resp.status == 200

    async def cancelled() -> bool:
        page = await alg.api("analyst").get("/api/v1/subscriptions", {})
        return bool(page["items"][0]["state"] == "cancelled")

    await wait_for(cancelled)
    # A publisher cannot ask: subscriptions are an administrator's, as in the API.
    officer, csrf = await signed_in(alg, "publisher")
    async with (
        officer,
        officer.post(
            alg.url + "/console/admin/subscriptions/new",
            data={"csrf": csrf, "publisher": gye.agency},
        ) as resp,
    ):
        assert resp.status == 403


VIEWBOX = re.compile(r'<svg viewBox="0 0 (\d+) (\d+)"[^>]*id="(route-map|seizure-map)"')
CIRCLE = re.compile(r'<circle cx="(-?\d+)" cy="(-?\d+)" r="(\d+)"')


def _drawing(page: str, svg_id: str) -> tuple[int, int, str]:
    """The width, height and content of the SVG ``svg_id`` on ``page``."""
    start = page.index(f'id="{svg_id}"')
    head = page.rindex("<svg", 0, start)
    found = VIEWBOX.match(page, head)
    assert found is not None
    return int(found.group(1)), int(found.group(2)), page[head : page.index("</svg>", start)]


async def test_the_route_and_the_seizures_are_drawn_over_the_coastlines(
    four: list[TestNode],
) -> None:
    gye, ctg, alg, _ = four
    alert = alert_notice(gye.agency, "MSCU1234566", 1_800_000_000_000)
    sent = await gye.api().post("/api/v1/notices", {"notice": alert, "recipients": [alg.agency]})
    for body in (publish_body(gye.agency, [ctg.agency]), publish_body(gye.agency, [alg.agency])):
        await gye.api().post("/api/v1/notices", body)
    client, _ = await signed_in(gye, "analyst")
    async with client:
        async with client.get(gye.url + f"/console/notices/{sent['id']}") as resp:
            page = await resp.text()
        async with client.get(gye.url + "/console/charts") as resp:
            charts = await resp.text()
    width, height, route = _drawing(page, "route-map")
    land = re.search(r'<path d="(M[^"]+)" class="land"', route)
    assert land is not None and land.group(1).count("M") > 3  # coastlines, not a blank box
    assert 'class="border"' in route
    stops = CIRCLE.findall(route)
    assert len(stops) >= 2
    for x, y, r in stops:
        assert int(r) <= int(x) <= width - int(r) and int(r) <= int(y) <= height - int(r)
    # Each label is written toward the middle, so none runs past an edge.
    labelled = re.findall(r'<text x="(\d+)" y="\d+" text-anchor="(start|end)"', route)
    assert labelled and all(
        (a == "start" and int(x) < width / 2 + 10) or (a == "end" and int(x) > width / 2 - 10)
        for x, a in labelled
    )
    width, height, world = _drawing(charts, "seizure-map")
    assert re.search(r'<path d="M[^"]+" class="land"', world)
    spots = re.findall(
        r'<circle cx="(\d+)" cy="(\d+)" r="(\d+)" class="spot" data-place="(\w+)"', world
    )
    assert [s[3] for s in spots] == ["ESALG"]  # the seizures' place, both there
    for x, y, r, _ in spots:
        assert int(x) - int(r) >= 0 and int(x) + int(r) <= width
        assert int(y) - int(r) >= 0 and int(y) + int(r) <= height


@pytest.fixture
async def five(cluster: Cluster) -> list[TestNode]:
    return await cluster((GYE, CTG, ALG, MAD, "pa.senan.pty"))


async def test_an_alarm_is_decided_from_the_console_by_an_administrator_only(
    five: list[TestNode],
) -> None:
    gye, ctg, alg, mad, pty = five
    await found_jit(ctg, alg, pty, gye)
    await wait_for(lambda: _jit_at(pty, 1))
    # Madrid founds its own chain under the JIT's id and pushes it to Tocumen,
    # a member that cannot tell which is genuine: its sends are paused.
    assert "channel_conflict" in await push(mad, pty, own_chain(mad, JIT, [ctg, alg, pty]))
    status = await pty.api("analyst").get("/api/v1/status", {})
    assert status["channels_paused"] == [JIT]
    action = f"/console/admin/channels/{JIT}/alarm"
    officer, csrf = await signed_in(pty, "publisher")
    async with (
        officer,
        officer.post(pty.url + action, data={"csrf": csrf, "decision": "keep"}) as resp,
    ):
        assert resp.status == 403
    admin, csrf = await signed_in(pty, "admin")
    async with admin:
        async with admin.get(pty.url + "/console/admin/channels") as resp:
            page = await resp.text()
        assert page.count(f'action="{action}"') == 2  # keep, or replace from a member
        async with admin.post(pty.url + action, data={"decision": "keep"}) as resp:
            assert resp.status == 403  # no CSRF token
        async with admin.post(
            pty.url + action, data={"csrf": csrf, "decision": "replace", "from": ""}
        ) as resp:
            assert resp.status == 422  # replacing names whose chain
        assert (await pty.api("analyst").get("/api/v1/status", {}))["channels_paused"] == [JIT]
        async with admin.post(pty.url + action, data={"csrf": csrf, "decision": "keep"}) as resp:
            assert resp.status == 200
            page = await resp.text()
        assert f'action="{action}"' not in page and "Sends go on" in page
    assert (await pty.api("analyst").get("/api/v1/status", {}))["channels_paused"] == []
    events = await pty.api("admin").get("/api/v1/admin/events", {})
    assert any(e["action"] == "channel.alarm_resolved" for e in events)


async def _jit_at(node: TestNode, version: int) -> bool:
    return await version_at(node, JIT) == version


async def test_the_feed_and_the_board_download_as_baliza_export_writes_them(
    four: list[TestNode],
) -> None:
    gye, _, alg, _ = four
    amber = await gye.api().post("/api/v1/notices", publish_body(gye.agency, [alg.agency]))
    red_body = publish_body(gye.agency, [alg.agency], container="MSKU8912345")
    red_body["handling"] = {"tlp": "red"}
    red = await gye.api().post("/api/v1/notices", red_body)
    reader, _ = await signed_in(gye, "analyst")
    async with reader:
        async with reader.get(gye.url + "/console/?kind=notice.seizure") as resp:
            page = await resp.text()
        assert 'action="/console/export"' in page and 'name="kind" value="notice.seizure"' in page
        async with reader.get(
            gye.url + "/console/export",
            params={"format": "csv", "kind": "notice.seizure", "nominal": "0"},
            allow_redirects=False,
        ) as resp:
            assert resp.status == 303
            assert resp.headers["Location"] == "/console/export/notices.csv?kind=notice.seizure"
        # Without confirming, the TLP:RED notice keeps the file from being written.
        async with reader.get(
            gye.url + "/console/export", params={"format": "csv", "kind": "notice.seizure"}
        ) as resp:
            assert resp.status == 403 and resp.content_type == "text/html"
        async with reader.get(
            gye.url + "/console/export",
            params={"format": "csv", "kind": "notice.seizure", "confirm_red": "1"},
        ) as resp:
            assert resp.status == 200
            assert resp.content_type == "text/csv"
            table = await resp.text()
        assert amber["id"] in table and red["id"] in table
        async with reader.get(
            gye.url + "/console/export", params={"format": "xlsx", "what": "alerts"}
        ) as resp:
            assert resp.status == 200
            assert (await resp.read())[:2] == b"PK"  # a spreadsheet (a zip)
        async with reader.get(
            gye.url + "/console/export", params={"format": "stix", "sender": gye.agency}
        ) as resp:
            assert resp.status == 403  # the RED one again, unconfirmed
        async with reader.get(
            gye.url + "/console/export",
            params={"format": "stix", "confirm_red": "1", "container": "MSKU8912345"},
        ) as resp:
            assert resp.status == 200
            stix = await resp.json(content_type=None)
        assert stix["type"] == "bundle" and red["id"] in json.dumps(stix)
        assert amber["id"] not in json.dumps(stix)
        async with reader.get(gye.url + "/console/export", params={"format": "pdf"}) as resp:
            assert resp.status == 422
    # A stranger without a session is sent to sign in, and gets no file.
    async with (
        aiohttp.ClientSession() as stranger,
        stranger.get(
            gye.url + "/console/export/notices.csv?confirm_red=1", allow_redirects=False
        ) as resp,
    ):
        assert resp.status == 303 and "/console/sign-in" in resp.headers["Location"]
