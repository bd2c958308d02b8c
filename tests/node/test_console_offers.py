"""An action a notice page does not offer says why, by the rule the API enforces.

An analyst reading a received alert is not offered "record the outcome":
the page says it needs the publisher role, and why. The reason is the one
role rule (``rules.roles``) the API's routes ask: the analyst who goes to
the outcome form anyway, or posts the outcome to the API, is refused by it.
"""

from __future__ import annotations

import asyncio
import html
import re

import pytest
from console_client import signed_in
from node_harness import Cluster, TestNode
from notice_json import alert_notice

from baliza.node.core.clock import now_ms
from baliza.node.services.rules.roles import Action, Role, action_refusal, role_refusal
from baliza.protocol.errors import BalizaError, ReasonCode

NOT_OFFERED = re.compile(r'<p class="not-offered" id="not-offered-(\w+)">(.*?)</p>', re.S)


@pytest.fixture
async def nodes(cluster: Cluster) -> tuple[TestNode, TestNode]:
    gye, alg = await cluster(("ec.polnac.gye", "es.aduanas.alg"))
    return gye, alg


def test_the_role_rule_nests_roles_and_names_what_is_needed() -> None:
    for have in Role:
        for needed in Role:
            refused = role_refusal(have, needed)
            assert (refused is None) == (list(Role).index(have) >= list(Role).index(needed))
            assert have.allows(needed) == (refused is None)
    refused = action_refusal(Role.ANALYST, Action.ANSWER_ALERT)
    assert refused is not None and refused.reason is ReasonCode.FORBIDDEN
    assert "publisher" in refused.detail
    assert action_refusal(Role.PUBLISHER, Action.ANSWER_ALERT) is None
    assert action_refusal(Role.PUBLISHER, Action.ADMINISTER) is not None
    assert action_refusal(Role.ANALYST, Action.READ) is None


async def test_an_analyst_is_told_why_the_outcome_is_not_offered_and_is_refused_anyway(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    alert = alert_notice(gye.agency, "MSCU1234566")
    sent = await gye.api("publisher").post(
        "/api/v1/notices", {"notice": alert, "recipients": [alg.agency]}
    )
    deadline = asyncio.get_running_loop().time() + 20
    while not (await alg.api("analyst").get("/api/v1/notices", {"kind": "notice.alert"}))["items"]:
        assert asyncio.get_running_loop().time() < deadline, "the alert never arrived"
        await asyncio.sleep(0.05)
    outcome_form = f"/console/publish/outcome?alert={sent['id']}"
    for lang, words in (("en", "needs the publisher role"), ("es", "el rol de oficial emisor")):
        client, _ = await signed_in(alg, "analyst", lang)
        async with client:
            async with client.get(alg.url + f"/console/notices/{sent['id']}") as resp:
                page = await resp.text()
            assert outcome_form not in page  # not offered…
            found = dict(NOT_OFFERED.findall(page))
            assert words in html.unescape(found["answer_alert"])  # …and says why
            # Going there anyway: refused, by the same rule.
            async with client.get(alg.url + outcome_form) as resp:
                assert resp.status == 403
    # A publisher is offered it, with no reason given.
    client, _ = await signed_in(alg, "publisher")
    async with client:
        async with client.get(alg.url + f"/console/notices/{sent['id']}") as resp:
            page = await resp.text()
        assert outcome_form in page and not NOT_OFFERED.search(page)
    # The API refuses the analyst's outcome with the same words.
    answer = {"v": 1, "kind": "notice.outcome", "alert": sent["id"], "result": "negative"}
    answer["at_ms"] = now_ms()
    with pytest.raises(BalizaError) as refused:
        await alg.api("analyst").post(
            "/api/v1/notices", {"notice": answer, "recipients": [gye.agency]}
        )
    expected = action_refusal(Role.ANALYST, Action.ANSWER_ALERT)
    assert expected is not None
    assert refused.value.reason is ReasonCode.FORBIDDEN
    assert refused.value.detail == expected.detail
