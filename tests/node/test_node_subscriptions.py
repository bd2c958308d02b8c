"""Partner subscriptions on real nodes: asked, decided by policy or an administrator, kept.

Every rule that keeps a notice from a subscriber, or a party from changing a
subscription it may not change, is tried here and refused with its reason.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import aiohttp
import pytest
from node_harness import Cluster, TestNode
from notice_json import publish_body
from sharing_support import arrives, cli, received, refusal

from baliza.node.cli.main import main
from baliza.node.core.clock import new_envelope_id, now_ms
from baliza.node.services.fedclient import post_message
from baliza.node.storage.sql import envelopes as envelope_rows
from baliza.protocol.errors import ReasonCode, TransportError
from baliza.protocol.ids import AgencyId
from baliza.protocol.subscriptions import (
    SubscriptionFilter,
    SubscriptionRequest,
    SubscriptionState,
    SubscriptionUpdate,
)

GYE, CTG, ALG, MAD = "ec.polnac.gye", "co.polfa.ctg", "es.aduanas.alg", "es.gc.mad"


@pytest.fixture
async def nodes(cluster: Cluster, database_engine: str) -> dict[str, TestNode]:
    """Guayaquil publishes (admits ccp subscriptions by policy); three partners."""
    made = await cluster(
        (GYE, CTG, ALG, MAD),
        database_engine,
        per_node={GYE: {"subscription_auto_admit_programmes": ["ccp"]}},
    )
    return {node.agency: node for node in made}


async def subscribe(node: TestNode, publisher: str, **terms: list[str]) -> dict[str, Any]:
    body = {"publisher": publisher, "filter": terms}
    result: dict[str, Any] = await node.api("admin").post("/api/v1/subscriptions", body)
    return result


async def subscriptions_of(node: TestNode) -> dict[str, dict[str, Any]]:
    page = await node.api("analyst").get("/api/v1/subscriptions", {})
    return {item["id"]: item for item in page["items"]}


def with_nominal(body: dict[str, Any]) -> dict[str, Any]:
    body["notice"]["nominal"] = {
        "persons": [{"role": "suspect", "family_name": "PEREZ", "given_names": "JUAN"}]
    }
    return body


async def test_policy_admits_and_matching_notices_are_sealed_to_the_subscriber(
    nodes: dict[str, TestNode],
) -> None:
    gye, ctg, alg = nodes[GYE], nodes[CTG], nodes[ALG]
    asked = await subscribe(ctg, GYE, programmes=["ccp"], categories=["cocaine"])
    assert (asked["state"], asked["side"]) == ("admitted", "subscriber")
    here = (await subscriptions_of(gye))[asked["id"]]
    assert (here["side"], here["subscriber"], here["state"]) == ("publisher", CTG, "admitted")
    assert here["filter"] == {"categories": ["cocaine"], "programmes": ["ccp"]}

    published = await gye.api().post("/api/v1/notices", publish_body(GYE, [ALG]))
    assert sorted(published["recipients"]) == [CTG, ALG]
    notice = await arrives(ctg, published["id"])
    assert notice["sender"] == GYE
    addressees = await gye.ctx.db.run(
        partial(envelope_rows.addressees, ids=[published["id"]]), write=False
    )
    why = {(a.agency, a.via) for a in addressees[published["id"]]}
    assert why == {(ALG, "named"), (CTG, "subscription")}
    await arrives(alg, published["id"])

    heroin = publish_body(GYE, [ALG])
    heroin["notice"]["commodities"][0]["category"] = "heroin"
    other = await gye.api().post("/api/v1/notices", heroin)
    assert other["recipients"] == [ALG]  # the filter does not match: not sealed to ctg


async def test_held_for_an_administrator_who_approves_through_the_cli(
    nodes: dict[str, TestNode], capsys: pytest.CaptureFixture[str]
) -> None:
    gye, mad = nodes[GYE], nodes[MAD]
    asked = await subscribe(mad, GYE, programmes=["aircop"], places=["ESMAD"])
    assert asked["state"] == "pending"
    assert (await subscriptions_of(gye))[asked["id"]]["state"] == "pending"
    body = publish_body(GYE, [ALG])
    body["notice"]["programme"] = "aircop"
    body["notice"]["location"] = {"locode": "ESMAD"}
    before = await gye.api().post("/api/v1/notices", body)
    assert MAD not in before["recipients"]  # held: nothing goes to it yet

    assert await cli(gye, "admin", "subscriptions", "list") == 0
    assert f"<- subscriber {MAD}" in capsys.readouterr().out
    assert await cli(gye, "admin", "subscriptions", "approve", asked["id"]) == 0
    assert "admitted" in capsys.readouterr().out
    assert (await subscriptions_of(mad))[asked["id"]]["state"] == "admitted"
    body["notice"]["seized_ms"] -= 1  # another notice, same facts
    after = await gye.api().post("/api/v1/notices", body)
    assert MAD in after["recipients"]
    await arrives(mad, after["id"])


@pytest.mark.parametrize("tlp", ["red", "amber+strict"])
async def test_red_and_amber_strict_never_go_to_subscribers(
    nodes: dict[str, TestNode], tlp: str
) -> None:
    gye, ctg = nodes[GYE], nodes[CTG]
    await subscribe(ctg, GYE, programmes=["ccp"])
    body = publish_body(GYE, [ALG])
    body["handling"] = {"tlp": tlp}
    published = await gye.api().post("/api/v1/notices", body)
    assert published["recipients"] == [ALG]
    [withheld] = published["withheld"]
    assert withheld["agency"] == CTG
    assert ("RED" if tlp == "red" else "AMBER+STRICT") in withheld["rule"]
    await arrives(nodes[ALG], published["id"])
    assert published["id"] not in await received(ctg)


async def test_nominal_data_reaches_a_subscriber_only_as_the_non_nominal_version(
    nodes: dict[str, TestNode],
) -> None:
    gye, ctg = nodes[GYE], nodes[CTG]
    await subscribe(ctg, GYE, programmes=["ccp"])
    published = await gye.api().post("/api/v1/notices", with_nominal(publish_body(GYE, [ALG])))
    assert published["recipients"] == [ALG]
    assert published["withheld"][0]["agency"] == CTG
    assert "nominal" in published["withheld"][0]["rule"]

    body = with_nominal(publish_body(GYE, [ALG]))
    body["notice"]["seized_ms"] -= 1
    body["non_nominal"] = True
    again = await gye.api().post("/api/v1/notices", body)
    assert again["recipients"] == [ALG] and "withheld" not in again
    copy = again["non_nominal"]
    assert copy["recipients"] == [CTG]
    at_ctg = await arrives(ctg, copy["id"])
    assert "nominal" not in at_ctg["notice"]
    full = await arrives(nodes[ALG], again["id"])
    assert full["notice"]["nominal"]["persons"][0]["family_name"] == "PEREZ"


async def test_either_side_pauses_only_the_pauser_resumes_and_cancel_is_final(
    nodes: dict[str, TestNode],
) -> None:
    gye, ctg = nodes[GYE], nodes[CTG]
    sid = (await subscribe(ctg, GYE, programmes=["ccp"]))["id"]
    paused = await ctg.api("admin").post(f"/api/v1/subscriptions/{sid}/pause", {})
    assert paused["state"] == "paused" and paused["notified"]
    assert (await subscriptions_of(gye))[sid]["state"] == "paused"
    published = await gye.api().post("/api/v1/notices", publish_body(GYE, [ALG]))
    assert CTG not in published["recipients"]

    err = await refusal(gye.api("admin").post(f"/api/v1/subscriptions/{sid}/resume", {}))
    assert err.reason == ReasonCode.FORBIDDEN and CTG in err.detail
    err = await refusal(ctg.api("admin").post(f"/api/v1/subscriptions/{sid}/approve", {}))
    assert err.reason == ReasonCode.FORBIDDEN  # only the publisher decides
    resumed = await ctg.api("admin").post(f"/api/v1/subscriptions/{sid}/resume", {})
    assert resumed["state"] == "admitted"

    cancelled = await gye.api("admin").post(
        f"/api/v1/subscriptions/{sid}/cancel", {"reason": "programme closed"}
    )
    assert cancelled["state"] == "cancelled"
    mine = (await subscriptions_of(ctg))[sid]
    assert (mine["state"], mine["reason"]) == ("cancelled", "programme closed")
    err = await refusal(ctg.api("admin").post(f"/api/v1/subscriptions/{sid}/resume", {}))
    assert err.reason == ReasonCode.CONFLICT
    err = await refusal(ctg.api("analyst").post(f"/api/v1/subscriptions/{sid}/cancel", {}))
    assert err.reason == ReasonCode.FORBIDDEN  # administrators only


async def test_signed_requests_cannot_speak_for_another_party(nodes: dict[str, TestNode]) -> None:
    gye, ctg, mad = nodes[GYE], nodes[CTG], nodes[MAD]
    sid = (await subscribe(ctg, GYE, programmes=["gmcp"]))["id"]  # held: pending
    session = mad.delivery.session
    peer = mad.ctx.trust.peer(AgencyId(GYE), now_ms())
    # Madrid asks in Cartagena's name.
    forged = SubscriptionRequest(
        id=new_envelope_id(),
        subscriber=AgencyId(CTG),
        publisher=AgencyId(GYE),
        filter=SubscriptionFilter(),
        created_ms=now_ms(),
    )
    with pytest.raises(TransportError) as caught:
        await post_message(
            session, mad.ctx.signing_keys(), peer, "/fed/v1/subscriptions", forged.to_bytes()
        )
    assert "forbidden" in caught.value.detail
    # Madrid admits Cartagena's subscription in Guayaquil's name, at Cartagena.
    update = SubscriptionUpdate(
        id=sid,
        publisher=AgencyId(GYE),
        subscriber=AgencyId(CTG),
        state=SubscriptionState.ADMITTED,
        at_ms=now_ms(),
    )
    to_ctg = mad.ctx.trust.peer(AgencyId(CTG), now_ms())
    with pytest.raises(TransportError) as caught:
        await post_message(
            session,
            mad.ctx.signing_keys(),
            to_ctg,
            "/fed/v1/subscriptions/state",
            update.to_bytes(),
        )
    assert "forbidden" in caught.value.detail
    # Cartagena admits itself at Guayaquil.
    to_gye = ctg.ctx.trust.peer(AgencyId(GYE), now_ms())
    with pytest.raises(TransportError) as caught:
        await post_message(
            ctg.delivery.session,
            ctg.ctx.signing_keys(),
            to_gye,
            "/fed/v1/subscriptions/state",
            update.to_bytes(),
        )
    assert "only the publisher decides" in caught.value.detail
    assert (await subscriptions_of(gye))[sid]["state"] == "pending"
    assert (await subscriptions_of(ctg))[sid]["state"] == "pending"


async def test_an_unsigned_subscription_request_is_refused(nodes: dict[str, TestNode]) -> None:
    request = SubscriptionRequest(
        id=new_envelope_id(),
        subscriber=AgencyId(CTG),
        publisher=AgencyId(GYE),
        filter=SubscriptionFilter(),
        created_ms=now_ms(),
    )
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            nodes[GYE].url + "/fed/v1/subscriptions",
            data=request.to_bytes(),
            headers={"Content-Type": "application/vnd.baliza+msgpack"},
        ) as resp,
    ):
        assert resp.status == 401
        assert (await resp.json())["error"]["reason"] == "unauthenticated"
    assert await subscriptions_of(nodes[GYE]) == {}


@pytest.mark.parametrize(
    ("publisher", "reason"),
    [(CTG, ReasonCode.INCONSISTENT), ("fr.douane.leh", ReasonCode.NOT_FOUND)],
)
async def test_a_subscription_goes_only_to_another_member(
    nodes: dict[str, TestNode], publisher: str, reason: ReasonCode
) -> None:
    err = await refusal(subscribe(nodes[CTG], publisher))
    assert (err.reason, err.path) == (reason, "publisher")
    assert await subscriptions_of(nodes[CTG]) == {}


def test_every_sharing_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in (
        *(["subscriptions", a] for a in ("request", "list", "approve", "refuse", "pause")),
        *(["subscriptions", a] for a in ("resume", "cancel")),
        ["share"],
        *(["permissions", a] for a in ("list", "grant", "refuse")),
    ):
        with pytest.raises(SystemExit) as done:
            main([*command, "--help"])
        assert done.value.code == 0
        assert "usage: baliza" in capsys.readouterr().out, command


async def test_corrections_and_retractions_reach_every_subscriber_that_received_the_original(
    nodes: dict[str, TestNode],
) -> None:
    """Item 15: a programme (and kind) filter matches the seizure, never what supersedes it."""
    gye, ctg, alg, mad = nodes[GYE], nodes[CTG], nodes[ALG], nodes[MAD]
    await subscribe(ctg, GYE, kinds=["notice.seizure"], programmes=["ccp"])
    original = await gye.api().post("/api/v1/notices", publish_body(GYE, [ALG]))
    assert sorted(original["recipients"]) == [CTG, ALG]
    await arrives(ctg, original["id"])
    # MAD subscribes only now: it never had the original, so it cannot take what supersedes it.
    await subscribe(mad, GYE, programmes=["ccp"])

    fixed = publish_body(GYE, [], grams=24_000)["notice"]
    handling = {"tlp": "amber", "codes": ["h0"]}
    correction = {
        "notice": {
            "v": 1,
            "kind": "notice.correction",
            "supersedes": original["id"],
            "reason": "Weighed again at the laboratory.",
            "notice": fixed,
        },
        "handling": handling,
    }
    sent = await gye.api().post("/api/v1/notices", correction)  # no recipients named
    assert sorted(sent["recipients"]) == [CTG, ALG]
    at_ctg = await arrives(ctg, sent["id"])
    assert at_ctg["notice"]["notice"]["commodities"][0]["quantity"]["amount"] == 24_000
    await arrives(alg, sent["id"])

    retraction = {
        "notice": {
            "v": 1,
            "kind": "notice.retraction",
            "supersedes": original["id"],
            "reason": "Sent in error.",
        },
        "handling": handling,
    }
    withdrawn = await gye.api().post("/api/v1/notices", retraction)
    assert sorted(withdrawn["recipients"]) == [CTG, ALG]
    await arrives(ctg, withdrawn["id"])
    assert set(await received(mad)) == set()

    # Naming an agency that never received the original is refused before anything is sealed.
    err = await refusal(gye.api().post("/api/v1/notices", retraction | {"recipients": [MAD]}))
    assert (err.reason, err.path) == (ReasonCode.FOREIGN_SUPERSEDES, "recipients[0]")
