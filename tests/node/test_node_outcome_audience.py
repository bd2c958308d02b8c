"""An outcome reaches everyone its alert was addressed to, whoever the answerer named.

Guayaquil alerts Algeciras (the destination) and Cartagena (co-addressed,
the transit port). Algeciras answers naming Guayaquil alone, as the CLI and
the console used to: the one audience rule (``outcome_recipients``) adds
Cartagena, whose board then shows the alert answered instead of open.
"""

from __future__ import annotations

from typing import Any

import pytest
from loopback_support import wait_for
from node_harness import Cluster, TestNode
from notice_json import alert_notice, container_for, publish_body

from baliza.node.core.clock import now_ms
from baliza.node.services.publish import PublishRequest
from baliza.node.services.rules.audience import outcome_recipients
from baliza.node.services.seizure_answer import publish_seizure_answer
from baliza.protocol.errors import BalizaError
from baliza.protocol.ids import AgencyId


def _alert(sender: str) -> dict[str, Any]:
    return alert_notice(sender, "MSCU1234566")


async def _received(node: TestNode, eid: str) -> bool:
    page = await node.api("analyst").get("/api/v1/notices", {"direction": "in"})
    return eid in {item["id"] for item in page["items"]}


def test_the_rule_adds_the_sender_and_co_addressees_but_never_oneself() -> None:
    me, gye, ctg, other = (AgencyId(a) for a in ("es.alg", "ec.gye", "co.ctg", "pe.cll"))
    assert outcome_recipients(me, (gye,), gye, (me, ctg)) == (ctg, gye)
    assert outcome_recipients(me, (other,), gye, (me,)) == (gye, other)
    assert outcome_recipients(me, (), gye, (me, ctg)) == (ctg, gye)


async def test_an_outcome_named_to_the_sender_reaches_the_co_addressed_transit_agency(
    cluster: Cluster,
) -> None:
    gye, ctg, alg = await cluster(3)
    sent = await gye.api("publisher").post(
        "/api/v1/notices", {"notice": _alert(gye.agency), "recipients": [alg.agency, ctg.agency]}
    )
    alert = sent["id"]
    await wait_for(lambda: _received(alg, alert), what="the alert at Algeciras")
    outcome = {
        "v": 1,
        "kind": "notice.outcome",
        "alert": alert,
        "result": "inspected",
        "at_ms": now_ms(),
    }
    answered = await alg.api("publisher").post(
        "/api/v1/notices", {"notice": outcome, "recipients": [gye.agency]}
    )
    assert sorted(answered["recipients"]) == sorted([gye.agency, ctg.agency])

    async def answered_at(node: TestNode) -> bool:
        board = await node.api("analyst").get("/api/v1/alerts", {"state": "answered"})
        return [a["id"] for a in board["items"]] == [alert]

    await wait_for(lambda: answered_at(ctg), what="the alert answered on Cartagena's board")
    await wait_for(lambda: answered_at(gye), what="the alert answered on Guayaquil's board")
    board = await ctg.api("analyst").get("/api/v1/alerts", {})
    assert board["items"][0]["outcome"]["sender"] == alg.agency


async def test_a_seizure_answer_to_what_is_not_a_received_alert_is_refused_before_sending(
    cluster: Cluster,
) -> None:
    gye, alg = await cluster(2)
    own = await alg.api("publisher").post(
        "/api/v1/notices", {"notice": _alert(alg.agency), "recipients": [gye.agency]}
    )
    seized = publish_body(alg.agency, [gye.agency])
    received = await gye.api("publisher").post(
        "/api/v1/notices",
        publish_body(gye.agency, [alg.agency], container=container_for(gye.agency)),
    )
    await wait_for(lambda: _received(alg, received["id"]), what="a seizure at Algeciras")
    for target in (own["id"], received["id"], "0190f5b2-7c1e-7c3a-9a7b-2f1e5d4c3b2a"):
        with pytest.raises(BalizaError) as refused:
            await publish_seizure_answer(alg.ctx, PublishRequest.from_json(seized), target)
        assert refused.value.path == "answers"
    page = await alg.api("analyst").get("/api/v1/notices", {"direction": "out"})
    assert [i["id"] for i in page["items"]] == [own["id"]]  # nothing else was sent
