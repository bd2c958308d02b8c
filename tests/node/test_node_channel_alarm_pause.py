"""A node that cannot tell which history of a channel is genuine sends nothing to it.

The squat that identity alone cannot stop (issue 17, item 1): the member
removed from a JIT founds its own version 1 of the JIT's id, listing a node
that does not hold the channel yet (Tocumen), before the real owners add it.
Tocumen takes that chain, since it is the first it sees. When the genuine
chain reaches it, the conflict is raised as an alarm **and Tocumen stops
sealing to the channel**: a TLP:RED case notice posted there is refused
(``channel_under_alarm``) instead of going to the squatter. Its administrator
then replaces the chain held with the one a real owner holds, and the next
case notice goes to the real members only. The same pause on a member that
held the genuine chain first ends by keeping it; an owner, who signed its
chain itself, is not paused. On both engines.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from loopback_support import wait_for
from node_harness import Cluster, TestNode
from test_node_channel_identity import found_jit, own_chain, push, version_at
from test_node_channels import case_body

from baliza.node.services.fedclient import push_memberships
from baliza.node.storage.sql import channels as channel_rows
from baliza.protocol.errors import BalizaError, ReasonCode

AGENCIES = ("ec.polnac.gye", "co.polfa.ctg", "es.aduanas.alg", "es.gc.mad", "pa.senan.pty")
JIT = "jit.co-es-2026-07"


@pytest.fixture
async def five(cluster: Cluster, database_engine: str) -> list[TestNode]:
    return await cluster(AGENCIES, database_engine)


def case_notice(agency: str, title: str, case_ref: str = "JIT-CO-ES-2026/07") -> dict[str, Any]:
    body = case_body(agency)
    body["notice"] = {**body["notice"], "title": title, "case_ref": case_ref}
    return body


async def owners_held(node: TestNode) -> tuple[str, ...]:
    held = await node.ctx.db.run(partial(channel_rows.latest, channel=JIT), write=False)
    assert held is not None
    return held.owners


async def status(node: TestNode) -> dict[str, Any]:
    found: dict[str, Any] = await node.api("analyst").get("/api/v1/status", {})
    return found


async def refused_reason(node: TestNode, body: dict[str, Any]) -> ReasonCode:
    with pytest.raises(BalizaError) as refused:
        await node.api().post("/api/v1/notices", body)
    return refused.value.reason


async def test_a_first_seen_squat_pauses_sends_until_the_chain_is_replaced(
    five: list[TestNode],
) -> None:
    gye, ctg, alg, mad, pty = five
    await found_jit(ctg, alg, gye)

    async def founded() -> bool:
        return all([await version_at(n, JIT) == 1 for n in (ctg, alg, gye)])

    await wait_for(founded)
    # Madrid founds its own JIT under the real id, listing the real members
    # and Tocumen, and gets to Tocumen first. Tocumen takes it (the first
    # chain it sees) and passes it on; the real members refuse it as a
    # conflict (owners of their chain: not paused).
    squat = own_chain(mad, JIT, [ctg, alg, pty], versions=(1,))
    await push_memberships(mad.delivery.session, mad.keys, pty.peer, squat)
    assert await owners_held(pty) == (mad.agency,)
    # The real owners add Tocumen: their chain reaches it and contradicts the
    # one held. Refused, raised, and sends are paused.
    assert (await ctg.api("admin").post(f"/api/v1/channels/{JIT}/members", {"add": [pty.agency]}))[
        "applied"
    ]

    async def paused() -> bool:
        return JIT in (await status(pty))["channels_paused"]

    await wait_for(paused)
    raised = [a for a in (await status(pty))["channel_alarms"] if a["channel"] == JIT]
    assert raised and raised[0]["reason"] == "channel_conflict"
    assert await owners_held(pty) == (mad.agency,)
    # Tocumen's officer posts a TLP:RED case notice to the JIT: nothing is
    # sealed to the squatter's list.
    secret = case_notice(pty.agency, "Tocumen: courier identified")
    assert await refused_reason(pty, secret) == ReasonCode.CHANNEL_UNDER_ALARM
    sent = await pty.api("analyst").get("/api/v1/notices", {"direction": "out", "limit": "50"})
    assert sent["items"] == []
    # Its administrator replaces the chain held with Cartagena's.
    body = {"decision": "replace", "from": ctg.agency}
    decided = await pty.api("admin").post(f"/api/v1/channels/{JIT}/alarm", body)
    assert decided == {"channel": JIT, "decision": "replace", "version": 2}
    assert await owners_held(pty) == tuple(sorted((ctg.agency, alg.agency)))
    assert (await status(pty))["channels_paused"] == []
    events = await pty.api("admin").get("/api/v1/admin/events", {})
    resolved = [e for e in events if e["action"] == "channel.alarm_resolved"]
    assert resolved and resolved[0]["detail"]["decision"] == "replace"
    assert (await status(ctg))["channels_paused"] == []
    assert len(resolved[0]["detail"]["forgotten"]) == 1  # the squat, kept as evidence
    # The next case notice goes to the real members, and not to Madrid.
    published = await pty.api().post(
        "/api/v1/notices", case_notice(pty.agency, "Tocumen: courier identified")
    )
    recipients = set(published["recipients"])
    assert recipients == {ctg.agency, alg.agency, gye.agency}
    assert mad.agency not in recipients


async def test_a_member_holding_the_genuine_chain_is_paused_until_it_keeps_it(
    five: list[TestNode],
) -> None:
    gye, ctg, alg, mad, pty = five
    await found_jit(ctg, alg, pty, gye)

    async def held() -> bool:
        return await version_at(pty, JIT) == 1 and await version_at(alg, JIT) == 1

    await wait_for(held)
    founded = own_chain(mad, JIT, [ctg, alg, pty], versions=(1,))
    assert "channel_conflict" in await push(mad, pty, founded)
    assert "channel_conflict" in await push(mad, alg, founded)
    # Tocumen, a member, cannot tell: paused. Algeciras owns its chain: not paused.
    assert (await status(pty))["channels_paused"] == [JIT]
    assert (await status(alg))["channels_paused"] == []
    assert await refused_reason(pty, case_notice(pty.agency, "t1")) == (
        ReasonCode.CHANNEL_UNDER_ALARM
    )
    await alg.api().post(
        "/api/v1/notices", case_notice(alg.agency, "Algeciras goes on", "JIT-CO-ES-2026/08")
    )
    # Keeping needs an alarm; replacing needs a source.
    with pytest.raises(BalizaError) as refused:
        await alg.api("admin").post(f"/api/v1/channels/{JIT}/alarm", {"decision": "keep"})
    assert refused.value.reason == ReasonCode.NOT_FOUND
    with pytest.raises(BalizaError) as refused:
        await pty.api("admin").post(f"/api/v1/channels/{JIT}/alarm", {"decision": "replace"})
    assert refused.value.reason == ReasonCode.MISSING_FIELD
    # Only an administrator decides.
    with pytest.raises(BalizaError) as refused:
        await pty.api().post(f"/api/v1/channels/{JIT}/alarm", {"decision": "keep"})
    assert refused.value.reason in (ReasonCode.FORBIDDEN, ReasonCode.UNAUTHENTICATED)
    decided = await pty.api("admin").post(f"/api/v1/channels/{JIT}/alarm", {"decision": "keep"})
    assert decided == {"channel": JIT, "decision": "keep"}
    assert (await status(pty))["channels_paused"] == []
    published = await pty.api().post("/api/v1/notices", case_notice(pty.agency, "t2"))
    assert set(published["recipients"]) == {ctg.agency, alg.agency, gye.agency}


async def test_replacing_from_an_unknown_source_changes_nothing(
    five: list[TestNode],
) -> None:
    gye, ctg, alg, mad, pty = five
    await found_jit(ctg, alg, pty, gye)

    async def held() -> bool:
        return await version_at(pty, JIT) == 1

    await wait_for(held)
    founded = own_chain(mad, JIT, [ctg, alg, pty], versions=(1,))
    assert "channel_conflict" in await push(mad, pty, founded)
    # A source outside the directory: refused, the pause and the chain stay.
    with pytest.raises(BalizaError) as refused:
        await pty.api("admin").post(
            f"/api/v1/channels/{JIT}/alarm", {"decision": "replace", "from": "fr.douane.cdg"}
        )
    assert refused.value.reason == ReasonCode.NOT_FOUND
    assert (await status(pty))["channels_paused"] == [JIT]
    assert await owners_held(pty) == tuple(sorted((ctg.agency, alg.agency)))
