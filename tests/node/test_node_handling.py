"""Handling rules on real nodes: kept in every view, enforced on every share and publication.

Each rule is tried by someone who should not get past it, and the refusal
names the rule (its reason code and, in the detail, the rule itself).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from node_harness import Cluster, TestNode
from notice_json import publish_body
from sharing_support import arrives, cli, received, refusal, wait_for

from baliza.crypto import seal
from baliza.node.core.clock import new_envelope_id, now_ms
from baliza.node.services.fedclient import post_message
from baliza.node.services.ingest import ingest_batch
from baliza.protocol.errors import ReasonCode, TransportError
from baliza.protocol.federation import Outcome
from baliza.protocol.handling import Handling, Tlp
from baliza.protocol.ids import AgencyId, EnvelopeId
from baliza.protocol.notices import notice_from_json
from baliza.protocol.subscriptions import PermissionRequest

GYE, CTG, ALG, MAD = "ec.polnac.gye", "co.polfa.ctg", "es.aduanas.alg", "es.gc.mad"
OTHER_CONTAINER = "CSQU3054383"
HANDLING = {"tlp": "amber", "codes": ["h1", "h3"], "restrictions": "not before 1 March"}


@pytest.fixture
async def nodes(cluster: Cluster, database_engine: str) -> dict[str, TestNode]:
    """Four agencies; Guayaquil lets only Algeciras receive nominal data."""
    made = await cluster(
        (GYE, CTG, ALG, MAD), database_engine, per_node={GYE: {"nominal_recipients": [ALG]}}
    )
    return {node.agency: node for node in made}


async def publish(node: TestNode, to: list[str], **handling: Any) -> dict[str, Any]:
    body = publish_body(node.agency, to)
    body["handling"] = handling or {"tlp": "green"}
    result: dict[str, Any] = await node.api().post("/api/v1/notices", body)
    return result


async def share(node: TestNode, eid: str, *to: str) -> dict[str, Any]:
    body = {"recipients": list(to)}
    result: dict[str, Any] = await node.api().post(f"/api/v1/notices/{eid}/share", body)
    return result


async def test_the_full_handling_block_is_in_every_view(
    nodes: dict[str, TestNode], capsys: pytest.CaptureFixture[str]
) -> None:
    gye, alg = nodes[GYE], nodes[ALG]
    eid = (await publish(gye, [ALG], **HANDLING))["id"]
    full = await arrives(alg, eid)
    assert full["handling"] == {**HANDLING, "codes": ["h1", "h3"]}
    sent = await gye.api("analyst").get(f"/api/v1/notices/{eid}", {})
    assert sent["handling"] == full["handling"]
    # A second notice naming the same container: the hit carries its handling too.
    again = publish_body(GYE, [ALG])
    again["notice"]["seized_ms"] -= 1
    again["handling"] = {"tlp": "clear"}
    second = await gye.api().post("/api/v1/notices", again)
    hit = (await arrives(alg, second["id"]))["hits"][0]
    assert (hit["id"], hit["handling"]) == (eid, full["handling"])
    page = await alg.api("analyst").get("/api/v1/notices", {})
    assert [i["handling"]["tlp"] for i in page["items"]] == ["amber", "clear"]
    assert page["items"][0]["handling"] == full["handling"]
    streamed: list[dict[str, Any]] = []
    await alg.api("analyst").follow({"after": "0"}, streamed.append, stop_after=2)
    assert [i["handling"] for i in streamed] == [i["handling"] for i in page["items"]]
    assert await cli(alg, "analyst", "feed") == 0
    assert "[TLP:AMBER h1 h3 'not before 1 March']" in capsys.readouterr().out


async def test_a_share_is_a_new_envelope_naming_the_original_under_its_handling(
    nodes: dict[str, TestNode],
) -> None:
    gye, alg, ctg = nodes[GYE], nodes[ALG], nodes[CTG]
    eid = (await publish(gye, [ALG], tlp="green", codes=["h0"]))["id"]
    await arrives(alg, eid)
    shared = await share(alg, eid, CTG)
    assert shared["state"] == "sent" and shared["recipients"] == [CTG]
    at_ctg = await arrives(ctg, shared["id"])
    assert (at_ctg["sender"], at_ctg["shares"]) == (ALG, eid)
    assert at_ctg["handling"] == {"tlp": "green", "codes": ["h0"], "restrictions": None}
    assert at_ctg["notice"]["unit"]["agency"] == GYE  # still Guayaquil's notice


@pytest.mark.parametrize(("tlp", "words"), [("red", "RED"), ("amber+strict", "AMBER+STRICT")])
async def test_red_and_amber_strict_never_leave_their_recipients(
    nodes: dict[str, TestNode], tlp: str, words: str
) -> None:
    gye, alg = nodes[GYE], nodes[ALG]
    eid = (await publish(gye, [ALG], tlp=tlp))["id"]
    await arrives(alg, eid)
    err = await refusal(share(alg, eid, CTG))
    assert (err.reason, err.path) == (ReasonCode.HANDLING_FORBIDS, "handling.tlp")
    assert words in err.detail
    assert await received(nodes[CTG]) == {}


async def test_h2_shares_wait_for_the_originators_grant(
    nodes: dict[str, TestNode], capsys: pytest.CaptureFixture[str]
) -> None:
    gye, alg, ctg = nodes[GYE], nodes[ALG], nodes[CTG]
    eid = (await publish(gye, [ALG], tlp="amber", codes=["h2"]))["id"]
    await arrives(alg, eid)
    pending = await share(alg, eid, CTG)
    assert pending["state"] == "pending" and "H2" in pending["rule"]
    assert await received(ctg) == {}  # nothing goes before the grant

    asked = await gye.api().get("/api/v1/permissions", {})
    [item] = asked["items"]
    assert (item["side"], item["requester"], item["envelope"]) == ("originator", ALG, eid)
    assert await cli(gye, "publisher", "permissions", "grant", item["id"]) == 0
    assert "granted" in capsys.readouterr().out

    mine = (await alg.api().get("/api/v1/permissions", {}))["items"][0]
    assert mine["state"] == "granted" and mine["share"]
    at_ctg = await arrives(ctg, mine["share"])
    assert at_ctg["shares"] == eid and at_ctg["handling"]["codes"] == ["h2"]


async def test_a_refused_permission_sends_nothing_and_says_why(nodes: dict[str, TestNode]) -> None:
    gye, alg, ctg = nodes[GYE], nodes[ALG], nodes[CTG]
    eid = (await publish(gye, [ALG], tlp="amber", codes=["h2"]))["id"]
    await arrives(alg, eid)
    await share(alg, eid, CTG)
    [item] = (await gye.api().get("/api/v1/permissions", {}))["items"]
    refused = await gye.api().post(
        f"/api/v1/permissions/{item['id']}/refuse", {"reason": "ongoing operation"}
    )
    assert refused["state"] == "refused" and refused["notified"]
    [mine] = (await alg.api().get("/api/v1/permissions", {}))["items"]
    assert mine["share"] is None
    assert mine["refusal"] == {"reason": "permission_refused", "detail": "ongoing operation"}
    assert await received(ctg) == {}
    err = await refusal(gye.api().post(f"/api/v1/permissions/{item['id']}/grant", {}))
    assert err.reason == ReasonCode.CONFLICT  # decided once


async def test_a_share_of_a_share_asks_the_originator_not_the_sharer(
    nodes: dict[str, TestNode],
) -> None:
    """GYE's H2 notice, shared by ALG to CTG with GYE's grant; CTG passing it on asks GYE."""
    gye, alg, ctg, mad = nodes[GYE], nodes[ALG], nodes[CTG], nodes[MAD]
    eid = (await publish(gye, [ALG], tlp="amber", codes=["h2"]))["id"]
    await arrives(alg, eid)
    await share(alg, eid, CTG)
    [first] = (await gye.api().get("/api/v1/permissions", {}))["items"]
    await gye.api().post(f"/api/v1/permissions/{first['id']}/grant", {})
    [mine] = (await alg.api().get("/api/v1/permissions", {}))["items"]
    await arrives(ctg, mine["share"])

    pending = await share(ctg, mine["share"], MAD)
    assert pending["state"] == "pending"
    items = (await gye.api().get("/api/v1/permissions", {}))["items"]
    asked_gye = {i["requester"]: i for i in items}
    assert set(asked_gye) == {ALG, CTG}  # the originator is asked, about its own envelope
    assert asked_gye[CTG]["envelope"] == eid and asked_gye[CTG]["recipients"] == [MAD]
    assert [i["side"] for i in (await alg.api().get("/api/v1/permissions", {}))["items"]] == [
        "requester"
    ]  # the first sharer is not asked
    # MAD has neither received it nor been granted it: it cannot ask GYE about it.
    forged = PermissionRequest(
        id=new_envelope_id(),
        envelope=eid,
        requester=AgencyId(MAD),
        originator=AgencyId(GYE),
        recipients=(AgencyId(CTG),),
        created_ms=now_ms(),
    )
    with pytest.raises(TransportError) as caught:
        await post_message(
            mad.delivery.session,
            mad.ctx.signing_keys(),
            mad.ctx.trust.peer(AgencyId(GYE), now_ms()),
            "/fed/v1/permissions",
            forged.to_bytes(),
        )
    assert "not_a_recipient" in caught.value.detail
    await gye.api().post(f"/api/v1/permissions/{asked_gye[CTG]['id']}/grant", {})

    async def sent() -> bool:
        [theirs] = (await ctg.api().get("/api/v1/permissions", {}))["items"]
        return bool(theirs["state"] == "granted" and theirs["share"])

    await wait_for(sent)
    [theirs] = (await ctg.api().get("/api/v1/permissions", {}))["items"]
    at_mad = await arrives(mad, theirs["share"])
    assert at_mad["sender"] == CTG and at_mad["shares"] == eid  # names the first envelope


async def test_only_a_recipient_may_ask_and_only_the_originator_decides(
    nodes: dict[str, TestNode],
) -> None:
    gye, alg, mad = nodes[GYE], nodes[ALG], nodes[MAD]
    eid = (await publish(gye, [ALG], tlp="amber", codes=["h2"]))["id"]
    forged = PermissionRequest(
        id=new_envelope_id(),
        envelope=eid,
        requester=AgencyId(MAD),
        originator=AgencyId(GYE),
        recipients=(AgencyId(CTG),),
        created_ms=now_ms(),
    )
    peer = mad.ctx.trust.peer(AgencyId(GYE), now_ms())
    with pytest.raises(TransportError) as caught:
        await post_message(
            mad.delivery.session,
            mad.ctx.signing_keys(),
            peer,
            "/fed/v1/permissions",
            forged.to_bytes(),
        )
    assert "not_a_recipient" in caught.value.detail
    assert (await gye.api().get("/api/v1/permissions", {}))["items"] == []
    await arrives(alg, eid)
    await share(alg, eid, CTG)
    [mine] = (await alg.api().get("/api/v1/permissions", {}))["items"]
    err = await refusal(alg.api().post(f"/api/v1/permissions/{mine['id']}/grant", {}))
    assert err.reason == ReasonCode.FORBIDDEN  # the requester cannot grant itself


async def test_republishing_anothers_notice_as_ones_own_is_refused(
    nodes: dict[str, TestNode],
) -> None:
    gye, alg = nodes[GYE], nodes[ALG]
    eid = (await publish(gye, [ALG], tlp="amber"))["id"]
    original = await arrives(alg, eid)
    body = {"notice": original["notice"], "recipients": [CTG], "handling": {"tlp": "clear"}}
    err = await refusal(alg.api().post("/api/v1/notices", body))
    assert (err.reason, err.path) == (ReasonCode.REPUBLISH_FORBIDDEN, "notice")
    assert GYE in err.detail and eid in err.detail


async def test_superseding_another_senders_notice_is_refused(nodes: dict[str, TestNode]) -> None:
    gye, alg = nodes[GYE], nodes[ALG]
    eid = (await publish(gye, [ALG]))["id"]
    await arrives(alg, eid)
    body = publish_body(ALG, [CTG])
    body["supersedes"] = eid
    err = await refusal(alg.api().post("/api/v1/notices", body))
    assert (err.reason, err.path) == (ReasonCode.FOREIGN_SUPERSEDES, "supersedes")
    assert GYE in err.detail
    own = publish_body(ALG, [CTG], container=OTHER_CONTAINER)  # not GYE's seizure
    mine = await alg.api().post("/api/v1/notices", own)
    own["supersedes"] = mine["id"]
    own["notice"]["seized_ms"] -= 1
    assert (await alg.api().post("/api/v1/notices", own))["id"]  # its own: allowed


def nominal_body(to: list[str]) -> dict[str, Any]:
    body = publish_body(GYE, to)
    body["notice"]["nominal"] = {"companies": [{"role": "consignee", "name": "Frutas del Sur SL"}]}
    return body


async def test_nominal_data_only_to_listed_agencies_or_as_the_non_nominal_version(
    nodes: dict[str, TestNode],
) -> None:
    gye, alg, ctg = nodes[GYE], nodes[ALG], nodes[CTG]
    err = await refusal(gye.api().post("/api/v1/notices", nominal_body([ALG, CTG])))
    assert (err.reason, err.path) == (ReasonCode.NOMINAL_NOT_ALLOWED, "recipients")
    assert CTG in err.detail and ALG not in err.detail.split("not allowed:")[1]
    assert await received(alg) == {}  # refused whole: nothing went anywhere

    body = nominal_body([ALG, CTG])
    body["non_nominal"] = True
    result = await gye.api().post("/api/v1/notices", body)
    assert result["recipients"] == [ALG]
    assert result["non_nominal"]["recipients"] == [CTG]
    assert "without the nominal section" in result["non_nominal"]["note"]
    full = await arrives(alg, result["id"])
    assert full["notice"]["nominal"]["companies"][0]["name"] == "Frutas del Sur SL"
    stripped = await arrives(ctg, result["non_nominal"]["id"])
    assert "nominal" not in stripped["notice"]
    assert result["id"] not in await received(ctg)


async def test_a_share_of_nominal_data_follows_the_sharers_policy(
    nodes: dict[str, TestNode],
) -> None:
    gye, alg = nodes[GYE], nodes[ALG]
    eid = (await gye.api().post("/api/v1/notices", nominal_body([ALG])))["id"]
    await arrives(alg, eid)
    alg.config = replace(alg.config, nominal_recipients=[MAD])
    alg.ctx.config = alg.config
    err = await refusal(share(alg, eid, CTG))
    assert err.reason == ReasonCode.NOMINAL_NOT_ALLOWED and CTG in err.detail
    assert (await share(alg, eid, MAD))["state"] == "sent"


async def test_a_receiver_refuses_an_envelope_superseding_another_senders_notice(
    nodes: dict[str, TestNode],
) -> None:
    """A node that skipped the publishing check is stopped at the receiver."""
    gye, alg, ctg = nodes[GYE], nodes[ALG], nodes[CTG]
    eid = (await publish(gye, [ALG, CTG]))["id"]
    await arrives(ctg, eid)
    notice = notice_from_json(publish_body(ALG, [CTG])["notice"])
    forged = seal(
        notice,
        sender=alg.keys,
        recipients=[ctg.keys.public(), alg.keys.public()],
        handling=Handling(tlp=Tlp.GREEN),
        envelope_id=new_envelope_id(),
        created_ms=now_ms(),
        supersedes=EnvelopeId(eid),
    )
    [result] = await ingest_batch(ctg.ctx, AgencyId(ALG), [forged.raw])
    assert (result.outcome, result.reason) == (Outcome.REFUSED, "foreign_supersedes")
    assert GYE in (result.detail or "")
