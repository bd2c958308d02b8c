"""The local API refuses bad requests with a 4xx, a reason code and the field path."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from node_harness import Cluster, TestNode
from notice_json import publish_body

from baliza.node.storage.sql import notice_pages


@pytest.fixture
async def node(cluster: Cluster) -> TestNode:
    gye, _ = await cluster(("ec.polnac.gye", "es.aduanas.alg"), start=["ec.polnac.gye"])
    return gye


async def call(
    node: TestNode, method: str, path: str, *, role: str | None = "publisher", **kwargs: Any
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {node.tokens[role]}"} if role else {}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, node.url + path, headers=headers, **kwargs) as resp,
    ):
        return resp.status, await resp.json()


async def nothing_stored(node: TestNode) -> bool:
    return await node.ctx.db.run(notice_pages.list_page, write=False) == []


def body_with(**changes: Any) -> dict[str, Any]:
    body = publish_body("ec.polnac.gye", ["es.aduanas.alg"])
    for dotted, value in changes.items():
        target = body
        *parents, leaf = dotted.split("__")
        for name in parents:
            target = target[int(name)] if isinstance(target, list) else target[name]
        target[leaf] = value
    return body


@pytest.mark.parametrize(
    ("body", "status", "reason", "path"),
    [
        (
            body_with(notice__conveyance__container="MSCU1234565"),
            422,
            "bad_container",
            "notice.conveyance.container",
        ),
        (
            body_with(notice__commodities__0__quantity__amount=-5),
            422,
            "out_of_range",
            "notice.commodities[0].quantity.amount",
        ),
        (
            body_with(notice__location={"locode": "XXABC"}),
            422,
            "bad_locode",
            "notice.location.locode",
        ),
        (body_with(notice__smuggled="x"), 422, "unknown_field", "notice.smuggled"),
        (body_with(recipients=["fr.douane.leh"]), 404, "not_found", "recipients[0]"),
        (body_with(recipients=["not an agency"]), 422, "bad_agency_id", "recipients[0]"),
        (body_with(recipients=[]), 422, "bad_length", "recipients"),
        (body_with(handling={"tlp": "purple"}), 422, "bad_enum", "handling.tlp"),
        (
            body_with(handling={"tlp": "amber", "codes": ["h3"]}),
            422,
            "missing_field",
            "handling.restrictions",
        ),
        ({"recipients": ["es.aduanas.alg"]}, 422, "missing_field", "notice"),
    ],
)
async def test_invalid_publish_names_the_field(
    node: TestNode, body: dict[str, Any], status: int, reason: str, path: str
) -> None:
    got_status, answer = await call(node, "POST", "/api/v1/notices", json=body)
    assert (got_status, answer["error"]["reason"], answer["error"].get("path")) == (
        status,
        reason,
        path,
    )
    assert await nothing_stored(node)


async def test_not_json_and_wrong_media_type(node: TestNode) -> None:
    status, answer = await call(node, "POST", "/api/v1/notices", data=b"{not json")
    assert (status, answer["error"]["reason"]) == (415, "unsupported_media")
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            node.url + "/api/v1/notices",
            data=b"{not json",
            headers={
                "Authorization": f"Bearer {node.tokens['publisher']}",
                "Content-Type": "application/json",
            },
        ) as resp,
    ):
        assert resp.status == 400
        assert (await resp.json())["error"]["reason"] == "malformed"
    assert await nothing_stored(node)


async def test_tokens_and_roles(node: TestNode) -> None:
    body = publish_body(node.agency, ["es.aduanas.alg"])
    assert (await call(node, "POST", "/api/v1/notices", role=None, json=body))[0] == 401
    status, answer = await call(node, "POST", "/api/v1/notices", role="analyst", json=body)
    assert (status, answer["error"]["reason"]) == (403, "forbidden")
    node.tokens["forged"] = node.tokens["admin"][:-4] + "AAAA"
    status, answer = await call(node, "GET", "/api/v1/notices", role="forged")
    assert (status, answer["error"]["reason"]) == (401, "unauthenticated")
    assert await nothing_stored(node)
    assert (await call(node, "POST", "/api/v1/notices", role="publisher", json=body))[0] == 201
    assert (await call(node, "GET", "/api/v1/notices", role="analyst"))[0] == 200


async def test_lookups_and_filters(node: TestNode) -> None:
    status, answer = await call(node, "GET", "/api/v1/notices/not-an-id", role="analyst")
    assert (status, answer["error"]["reason"]) == (422, "bad_envelope_id")
    missing = "019b76da-a802-7000-8000-000000000002"
    status, answer = await call(node, "GET", f"/api/v1/notices/{missing}", role="analyst")
    assert (status, answer["error"]["reason"]) == (404, "not_found")
    status, answer = await call(node, "GET", "/api/v1/notices?colour=red", role="analyst")
    assert (status, answer["error"]["reason"], answer["error"]["path"]) == (
        422,
        "unknown_field",
        "colour",
    )
    status, answer = await call(node, "GET", "/api/v1/nowhere", role="analyst")
    assert (status, answer["error"]["reason"]) == (404, "not_found")


async def test_openapi_health_and_metrics(node: TestNode) -> None:
    status, spec = await call(node, "GET", "/api/v1/openapi.json", role=None)
    assert status == 200 and spec["openapi"].startswith("3.")
    assert "/api/v1/notices" in spec["paths"]
    status, health = await call(node, "GET", "/healthz", role=None)
    assert health == {"status": "ok", "agency": node.agency}
    await call(node, "POST", "/api/v1/notices", json=publish_body(node.agency, ["es.aduanas.alg"]))
    async with aiohttp.ClientSession() as session, session.get(node.url + "/metrics") as resp:
        text = await resp.text()
    assert 'baliza_notices_published_total{agency="ec.polnac.gye"} 1' in text


async def test_latest_page_then_cursor(node: TestNode) -> None:
    ids = []
    for grams in (1, 2, 3):
        body = publish_body(node.agency, ["es.aduanas.alg"], grams=grams)
        ids.append((await call(node, "POST", "/api/v1/notices", json=body))[1]["id"])
    status, page = await call(node, "GET", "/api/v1/notices?latest=1&limit=2", role="analyst")
    assert status == 200
    assert [i["id"] for i in page["items"]] == ids[1:]
    _, rest = await call(node, "GET", f"/api/v1/notices?after={page['next']}", role="analyst")
    assert rest["items"] == []
    _, first = await call(node, "GET", "/api/v1/notices?limit=1", role="analyst")
    assert [i["id"] for i in first["items"]] == ids[:1]


async def test_openapi_documents_every_route(node: TestNode) -> None:
    assert node.runner is not None
    _, spec = await call(node, "GET", "/api/v1/openapi.json", role=None)
    served = {
        (route.method.lower(), route.resource.canonical)
        for route in node.runner.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith(("/api/", "/healthz", "/metrics"))
        and route.method != "HEAD"
    }
    documented = {(method, path) for path, item in spec["paths"].items() for method in item}
    assert served - documented == set()
    assert documented - served == set()
