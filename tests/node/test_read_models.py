"""The API and the console render the same read models (services/views).

For one node state — alerts open, overdue and answered, a notice delivered,
read and answered — the API's JSON and the console's pages must show the
same alerts in the same order and the same delivery rows. They were once two
implementations that drifted apart (different limits, outcomes shown in one
and not the other); these tests fail if they drift again.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from console_client import signed_in
from node_harness import TestNode, introduce, make_node
from notice_json import alert_notice
from sharing_support import wait_for
from stdnum import iso6346

from baliza.node.core.clock import now_ms
from baliza.node.services.views import BOARD_PAGE

DAY_MS = 86_400_000
ROW = re.compile(r'<tr class="state-(\w+)" data-id="([0-9a-f-]+)">')
COUNT = re.compile(r'<p id="board-count" role="status">(\d+) of (\d+) alerts</p>')


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[tuple[TestNode, TestNode]]:
    gye = make_node(tmp_path, "ec.polnac.gye", f"sqlite+aiosqlite:///{tmp_path / 'gye.db'}")
    alg = make_node(tmp_path, "es.aduanas.alg", f"sqlite+aiosqlite:///{tmp_path / 'alg.db'}")
    introduce(gye, alg)
    await gye.start()
    await alg.start()
    yield gye, alg
    await gye.stop()
    await alg.stop()


def alert(sender: str, expected_ms: int, container: str) -> dict[str, Any]:
    return alert_notice(sender, container, expected_ms)


async def console_board(client: aiohttp.ClientSession, node: TestNode, query: str = "") -> Any:
    async with client.get(node.url + "/console/board" + query) as resp:
        assert resp.status == 200
        page = await resp.text()
    count = COUNT.search(page)
    assert count is not None
    rows = [(eid, state) for state, eid in ROW.findall(page)]
    return rows, int(count.group(1)), int(count.group(2))


async def api_board(node: TestNode, query: dict[str, str]) -> Any:
    board = await node.api("analyst").get("/api/v1/alerts", query)
    return [(a["id"], a["state"]) for a in board["items"]], len(board["items"]), board["total"]


async def test_the_board_is_the_same_in_the_api_and_the_console(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    now = now_ms()
    # Published in an order that is not the order of expected arrival.
    expected = [now + 3 * DAY_MS, now - 2 * DAY_MS, now + 1 * DAY_MS]
    containers = ["MSCU1234566", "TGHU8837006", "CSQU3054383"]
    sent = [
        await gye.api().post(
            "/api/v1/notices",
            {"notice": alert(gye.agency, ms, c), "recipients": [alg.agency]},
        )
        for ms, c in zip(expected, containers, strict=True)
    ]
    ids = [s["id"] for s in sent]

    async def all_arrived() -> bool:
        return bool((await alg.api("analyst").get("/api/v1/alerts", {}))["total"] == 3)

    await wait_for(all_arrived)
    outcome = {"v": 1, "kind": "notice.outcome", "alert": ids[2], "result": "negative"}
    outcome["at_ms"] = now
    await alg.api().post("/api/v1/notices", {"notice": outcome, "recipients": [gye.agency]})

    async def answered() -> bool:
        board = await gye.api("analyst").get("/api/v1/alerts", {"state": "answered"})
        return [a["id"] for a in board["items"]] == [ids[2]]

    await wait_for(answered)
    by_arrival = [(ids[1], "overdue"), (ids[2], "answered"), (ids[0], "open")]
    for node in (gye, alg):
        client, _ = await signed_in(node, "analyst")
        async with client:
            shown = await console_board(client, node)
            assert shown == await api_board(node, {})
            assert shown == (by_arrival, 3, 3)
            for state in ("open", "answered", "overdue"):
                shown = await console_board(client, node, f"?state={state}")
                assert shown == await api_board(node, {"state": state})
                assert shown[2] == 1
    # One page size for both faces, and paging says "N of M".
    board = await gye.api("analyst").get("/api/v1/alerts", {"limit": "1", "offset": "1"})
    assert board["limit"] == 1 and board["total"] == 3 and board["offset"] == 1
    assert [a["id"] for a in board["items"]] == [ids[2]]
    assert board["counts"] == {"open": 1, "answered": 1, "overdue": 1}
    assert (await gye.api("analyst").get("/api/v1/alerts", {}))["limit"] == BOARD_PAGE


async def test_delivery_rows_are_the_same_in_the_api_and_the_console(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    sent = await gye.api().post(
        "/api/v1/notices",
        {"notice": alert(gye.agency, now_ms() + DAY_MS, "MSCU1234566"), "recipients": [alg.agency]},
    )
    eid = sent["id"]
    client, _ = await signed_in(gye, "analyst")

    async def api_rows() -> list[dict[str, Any]]:
        answer = await gye.api("analyst").get(f"/api/v1/notices/{eid}/delivery", {})
        found: list[dict[str, Any]] = answer["recipients"]
        return found

    async def rows() -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        # The console is read between two equal API reads, so all three saw
        # one state (delivery moves on by itself while the test looks).
        while True:
            before = await api_rows()
            async with client.get(gye.url + f"/console/notices/{eid}/delivery") as resp:
                console: list[dict[str, str]] = (await resp.json())["items"]
            if await api_rows() == before:
                return before, console

    def same(api: list[dict[str, Any]], console: list[dict[str, str]]) -> None:
        assert [r["destination"] for r in api] == [r["agency"] for r in console]
        for a, c in zip(api, console, strict=True):
            assert c["state"] == a["state"]
            assert (c["delivered"] != "") == (a["delivered_ms"] is not None)
            assert (c["read"] != "") == (a["read_ms"] is not None)
            assert c["outcome"] == (a["outcome"]["result"] if a["outcome"] else "")

    async with client:

        async def delivered() -> bool:
            api, console = await rows()
            same(api, console)
            return bool(api[0]["state"] == "delivered")

        await wait_for(delivered)
        await alg.api("analyst").post(f"/api/v1/notices/{eid}/read", {})

        async def read() -> bool:
            api, console = await rows()
            same(api, console)
            return api[0]["read_ms"] is not None

        await wait_for(read)
        outcome = {"v": 1, "kind": "notice.outcome", "alert": eid, "result": "negative"}
        outcome["at_ms"] = now_ms()
        await alg.api().post("/api/v1/notices", {"notice": outcome, "recipients": [gye.agency]})

        async def answered() -> bool:
            api, console = await rows()
            same(api, console)
            return api[0]["outcome"] is not None

        await wait_for(answered)
        api, console = await rows()
        assert api[0]["outcome"]["sender"] == alg.agency and console[0]["final"] == "yes"
        # The notice itself carries the same rows as its delivery endpoint.
        detail = await gye.api("analyst").get(f"/api/v1/notices/{eid}", {})
        assert detail["delivery"] == api


async def test_keys_and_peer_health_are_the_same_in_the_api_and_the_console(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    keys = (await gye.api("admin").get("/api/v1/admin/keys", {}))["keys"]
    assert [k["status"] for k in keys] == ["vouched for by the directory"]
    status = await gye.api("analyst").get("/api/v1/status", {})
    assert [p["agency"] for p in status["peers"]] == [alg.agency]
    client, _ = await signed_in(gye, "admin")
    async with client:
        async with client.get(gye.url + "/console/admin/keys") as resp:
            page = await resp.text()
        for key in keys:
            assert f"<code>{key['fingerprint']}</code>" in page
        assert "signing now" in page and "vouched for by the directory" in page
        async with client.get(gye.url + "/console/admin/peers") as resp:
            page = await resp.text()
        for peer in status["peers"]:
            assert f"<code>{peer['agency']}</code>" in page
            assert f"<code>{peer['fingerprint']}</code>" in page
            contacted = peer["state"] != "not yet contacted"
            assert ("not yet contacted" not in page) == contacted


PAGE_OF = re.compile(r'<span id="board-page">Page (\d+) of (\d+)</span>')


async def test_more_alerts_than_a_page_are_paged_in_order_of_arrival_and_none_is_dropped(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    now = now_ms()
    extra = 5
    late = 3
    count = BOARD_PAGE + extra
    # Stored newest-arrival first, so storage order is the reverse of the board's.
    for i in range(count):
        serial = f"{i:06d}"
        container = f"MSCU{serial}{iso6346.calc_check_digit('MSCU' + serial)}"
        expected = now + (count - i - late) * 3_600_000 - 1  # the last ``late`` are overdue
        await gye.api().post(
            "/api/v1/notices",
            {"notice": alert(gye.agency, expected, container), "recipients": [alg.agency]},
        )
    client, _ = await signed_in(gye, "analyst")
    async with client:
        first, shown, total = await console_board(client, gye)
        assert (shown, total) == (BOARD_PAGE, count)
        async with client.get(gye.url + "/console/board") as resp:
            page_one = await resp.text()
        assert PAGE_OF.search(page_one) is not None
        assert PAGE_OF.findall(page_one) == [("1", "2")]
        assert "Pre-arrival alert: container MSCU0002" in page_one  # titled for people
        assert 'rel="next" href="/console/board?page=2"' in page_one
        second, shown, total = await console_board(client, gye, "?page=2")
        assert (shown, total) == (extra, count)
        ids = [eid for eid, _ in first + second]
        assert len(set(ids)) == count  # every alert on one page or the other, none twice
        api = await gye.api("analyst").get("/api/v1/alerts", {"limit": "1000"})
        assert ids == [a["id"] for a in api["items"]]  # by expected arrival, as the API says
        arrivals = [a["expected_ms"] for a in api["items"]]
        assert arrivals == sorted(arrivals)
        # The state filter, paged the same way: the overdue ones, all on one page.
        overdue, shown, total = await console_board(client, gye, "?state=overdue")
        assert shown == total == late and {s for _, s in overdue} == {"overdue"}
        _, shown, total = await console_board(client, gye, "?state=open")
        assert (shown, total) == (BOARD_PAGE, count - late)
        async with client.get(gye.url + "/console/board?state=open") as resp:
            assert 'href="/console/board?state=open&amp;page=2"' in await resp.text()
