"""Each person's share, grant, refusal and admission is recorded, shown and exported.

Real nodes on loopback: Guayaquil publishes a handled notice to
Algeciras; an officer at Algeciras shares it on (a permission request),
an officer at Guayaquil grants it; a subscription is admitted and another
refused by an administrator. Each act names its person; the notice page
says so; an inquiry exports the record by person and time, as JSON or
CSV, through the API (admin only) and ``baliza users actions``.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import aiohttp
import pyotp
import pytest
from node_harness import Cluster, TestNode
from notice_json import publish_body
from sharing_support import arrives
from test_console_accounts import Browser

from baliza.node.console import adapter
from baliza.node.core.clock import now_ms
from baliza.node.http.appkeys import DELIVERY
from baliza.node.services import sharing, subscriptions
from baliza.node.services.accounts import add_user, list_users
from baliza.node.services.person_actions import (
    ActionFilter,
    action_filter,
    actions,
    actions_csv,
    people_on,
)
from baliza.protocol.errors import ReasonCode, UsageError
from baliza.protocol.ids import AgencyId, EnvelopeId
from baliza.protocol.subscriptions import SubscriptionState

GYE, CTG, ALG = "ec.polnac.gye", "co.polfa.ctg", "es.aduanas.alg"
PASSWORD = "a long enough passphrase"


totp_secrets: dict[str, str] = {}


async def person(node: TestNode, login: str, name: str, role: str = "publisher") -> str:
    totp_secrets[login] = (await add_user(
        node.ctx.db, login, name=name, role=role, unit="Port unit", password=PASSWORD,
        now=now_ms(),
    )).totp_secret  # fmt: skip
    return next(u.id for u in await list_users(node.ctx.db) if u.login == login)


@pytest.fixture
async def nodes(cluster: Cluster, database_engine: str) -> dict[str, TestNode]:
    made = await cluster((GYE, CTG, ALG), database_engine)
    return {node.agency: node for node in made}


async def test_a_share_and_its_grant_are_each_recorded_with_their_person(
    nodes: dict[str, TestNode],
) -> None:
    gye, alg = nodes[GYE], nodes[ALG]
    body = publish_body(GYE, [ALG])
    body["handling"] = {"tlp": "amber", "codes": ["h2"]}  # H2: the originator must grant
    eid = (await gye.api().post("/api/v1/notices", body))["id"]
    await arrives(alg, eid)
    sharer = await person(alg, "msanz", "María Sanz")
    granter = await person(gye, "jruiz", "Julia Ruiz")

    outcome = await sharing.share(
        alg.ctx,
        alg.runner.app[DELIVERY].session,  # type: ignore[union-attr]
        EnvelopeId(eid),
        (AgencyId(CTG),),
        user_id=sharer,
    )
    assert outcome.state == "pending"
    [shared] = await people_on(alg.ctx.db, eid)
    assert (shared.action, shared.name, shared.unit) == ("shared", "María Sanz", "Port unit")

    [item] = (await gye.api().get("/api/v1/permissions", {}))["items"]
    await sharing.decide(
        gye.ctx,
        gye.runner.app[DELIVERY].session,  # type: ignore[union-attr]
        item["id"],
        True,
        None,
        user_id=granter,
    )
    on_notice = await people_on(gye.ctx.db, eid)
    assert [(a.action, a.name) for a in on_notice] == [("granted", "Julia Ruiz")]
    # The notice page names them.
    people = await adapter.people(gye.ctx, eid)
    assert [p.action for p in people] == ["granted"]
    page = Browser(gye)
    try:
        status, _ = await page.sign_in("jruiz", PASSWORD, pyotp.TOTP(totp_secrets["jruiz"]).now())
        assert status == 200
        status, text = await page.page(f"/console/notices/{eid}")
        assert status == 200
        assert "share permission granted by Julia Ruiz · Port unit at " in text
    finally:
        await page.close()
    # A token's grant (a machine) names no person: nothing more is recorded.
    assert len(await actions(gye.ctx.db, ActionFilter())) == 1


async def test_admitting_and_refusing_subscriptions_are_recorded_and_exported(
    nodes: dict[str, TestNode],
) -> None:
    gye, ctg, alg = nodes[GYE], nodes[CTG], nodes[ALG]
    boss = await person(gye, "boss", "Ana Pérez", role="admin")
    asked = []
    for partner in (ctg, alg):
        body = {"publisher": GYE, "filter": {"categories": ["cocaine"]}}
        answer: dict[str, Any] = await partner.api("admin").post("/api/v1/subscriptions", body)
        assert answer["state"] in ("requested", "pending")
        asked.append(answer["id"])
    http = gye.runner.app[DELIVERY].session  # type: ignore[union-attr]
    await subscriptions.change(
        gye.ctx, http, asked[0], SubscriptionState.ADMITTED, decision=True, user_id=boss
    )
    await subscriptions.change(
        gye.ctx, http, asked[1], SubscriptionState.REFUSED, "not now", decision=True, user_id=boss
    )
    found = await actions(gye.ctx.db, action_filter("BOSS", None))
    assert [(a.action, a.subject, a.login) for a in found] == [
        ("admitted", asked[0], "boss"),
        ("refused", asked[1], "boss"),
    ]
    assert await actions(gye.ctx.db, action_filter("boss", str(now_ms() + 60_000))) == []
    assert await actions(gye.ctx.db, action_filter("nobody", None)) == []
    rows = list(csv.reader(io.StringIO(actions_csv(found))))
    assert rows[0] == ["at", "at_ms", "login", "name", "unit", "action", "subject", "detail"]
    assert [r[5] for r in rows[1:]] == ["admitted", "refused"]

    # The API: admin only, JSON or CSV, filtered the same way.
    exported = await gye.api("admin").get("/api/v1/people/actions", {"user": "boss"})
    assert [a["action"] for a in exported["actions"]] == ["admitted", "refused"]
    assert exported["actions"][0]["name"] == "Ana Pérez"
    for role in ("analyst", "publisher"):
        async with (
            aiohttp.ClientSession() as client,
            client.get(
                gye.url + "/api/v1/people/actions",
                headers={"Authorization": f"Bearer {gye.tokens[role]}"},
            ) as resp,
        ):
            assert resp.status == 403
    async with aiohttp.ClientSession() as client:
        async with client.get(
            gye.url + "/api/v1/people/actions",
            params={"format": "csv", "since": "2000-01-01"},
            headers={"Authorization": f"Bearer {gye.tokens['admin']}"},
        ) as resp:
            assert resp.status == 200 and resp.content_type == "text/csv"
            assert len(list(csv.reader(io.StringIO(await resp.text())))) == 3
        async with client.get(
            gye.url + "/api/v1/people/actions",
            params={"since": "yesterday"},
            headers={"Authorization": f"Bearer {gye.tokens['admin']}"},
        ) as resp:
            assert resp.status == 422
            assert (await resp.json())["error"]["reason"] == ReasonCode.BAD_FORMAT


def test_an_unknown_action_or_a_bad_filter_is_refused() -> None:
    with pytest.raises(UsageError):
        action_filter("not a login!", None)
    with pytest.raises(Exception) as bad_time:
        action_filter(None, "last week")
    assert getattr(bad_time.value, "reason", None) == ReasonCode.BAD_FORMAT
