"""Subscription and permission messages reach a peer that was down, in order, and once.

The change and the message that announces it are stored together; a peer
that cannot be reached gets the message when it is back, without anyone
repeating the change, and a pause followed by a resume arrive in that order.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from node_harness import TestNode
from notice_json import publish_body
from sharing_support import arrives, wait_for
from test_node_subscriptions import ALG, CTG, GYE, nodes, subscribe, subscriptions_of

from baliza.node.core.clock import new_envelope_id, now_ms
from baliza.node.services import messages
from baliza.node.storage.messages import QueuedMessage
from baliza.node.storage.sql import messages as message_rows
from baliza.protocol.errors import TransportError
from baliza.protocol.ids import AgencyId
from baliza.protocol.subscriptions import PermissionRequest

__all__ = ["nodes"]


async def pending(node: TestNode) -> list[QueuedMessage]:
    return await messages.pending(node.ctx)


async def state_at(node: TestNode, sid: str) -> str | None:
    item = (await subscriptions_of(node)).get(sid)
    return None if item is None else str(item["state"])


async def test_a_subscription_asked_while_the_publisher_is_down_arrives_when_it_is_back(
    nodes: dict[str, TestNode],
) -> None:
    gye, ctg = nodes[GYE], nodes[CTG]
    await gye.stop()
    asked = await subscribe(ctg, GYE, programmes=["ccp"])
    assert asked["state"] == "requested"  # kept here, not refused for a peer being down
    [queued] = await pending(ctg)
    assert (queued.destination, queued.path) == (GYE, "/fed/v1/subscriptions")
    await gye.start()

    async def admitted_both_sides_and_nothing_left() -> bool:
        states = (await state_at(gye, asked["id"]), await state_at(ctg, asked["id"]))
        return states == ("admitted", "admitted") and await pending(ctg) == []

    await wait_for(admitted_both_sides_and_nothing_left)
    assert await pending(gye) == []
    # And the subscription works: a ccp notice from Guayaquil reaches Cartagena.
    body: dict[str, Any] = publish_body(GYE, [ALG])
    published = await gye.api().post("/api/v1/notices", body)
    assert CTG in published["recipients"]
    await arrives(ctg, published["id"])


async def test_a_pause_then_a_resume_reach_a_peer_that_was_down_in_that_order(
    nodes: dict[str, TestNode],
) -> None:
    gye, ctg = nodes[GYE], nodes[CTG]
    sid = (await subscribe(ctg, GYE, programmes=["ccp"]))["id"]
    await gye.stop()
    paused = await ctg.api("admin").post(f"/api/v1/subscriptions/{sid}/pause", {})
    resumed = await ctg.api("admin").post(f"/api/v1/subscriptions/{sid}/resume", {})
    assert (paused["notified"], resumed["notified"]) == (False, False)
    assert [m.seq for m in await pending(ctg)] == sorted(m.seq for m in await pending(ctg))
    assert len(await pending(ctg)) == 2
    await gye.start()

    async def delivered() -> bool:
        return await pending(ctg) == []

    await wait_for(delivered)
    # Resumed last: had the resume arrived first, Guayaquil would have refused
    # it (only a paused subscription resumes) and then kept the pause.
    assert await state_at(gye, sid) == "admitted"
    outcomes = [
        await ctg.ctx.db.run(partial(message_rows.outcome_of, seq=seq), write=False)
        for seq in (1, 2, 3)
    ]
    states = [state for state, _ in outcomes]
    assert states == ["sent", "sent", "sent"]  # the request, the pause, the resume


async def test_a_decision_for_a_requester_that_is_down_reaches_it_later(
    nodes: dict[str, TestNode],
) -> None:
    gye, alg = nodes[GYE], nodes[ALG]
    eid = (await gye.api().post("/api/v1/notices", _h2(publish_body(GYE, [ALG]))))["id"]
    await arrives(alg, eid)
    asked = await alg.api().post(f"/api/v1/notices/{eid}/share", {"recipients": [CTG]})
    assert asked["state"] == "pending"
    [item] = (await gye.api().get("/api/v1/permissions", {}))["items"]
    await alg.stop()
    refused = await gye.api().post(
        f"/api/v1/permissions/{item['id']}/refuse", {"reason": "ongoing operation"}
    )
    assert refused["state"] == "refused" and refused["notified"] is False
    await alg.start()

    async def told() -> bool:
        [mine] = (await alg.api().get("/api/v1/permissions", {}))["items"]
        return bool(mine["state"] == "refused")

    await wait_for(told)


def _h2(body: dict[str, Any]) -> dict[str, Any]:
    body["handling"] = {"tlp": "amber", "codes": ["h2"]}
    return body


async def test_a_message_the_peer_refuses_is_kept_with_its_reason_and_not_sent_again(
    nodes: dict[str, TestNode],
) -> None:
    """A permission request about a notice CTG never received: GYE refuses it, once."""
    gye, ctg = nodes[GYE], nodes[CTG]
    eid = (await gye.api().post("/api/v1/notices", _h2(publish_body(GYE, [ALG]))))["id"]
    forged = PermissionRequest(
        id=new_envelope_id(),
        envelope=eid,
        requester=AgencyId(CTG),
        originator=AgencyId(GYE),
        recipients=(AgencyId(ALG),),
        created_ms=now_ms(),
    )
    queue = partial(
        message_rows.add,
        destination=GYE,
        path="/fed/v1/permissions",
        body=forged.to_bytes(),
        now_ms=now_ms(),
    )
    seq = await ctg.ctx.db.run(queue, write=True)
    with pytest.raises(TransportError) as refused:
        await messages.send_now(ctg.ctx, ctg.delivery.session, GYE, seq)
    assert "not_a_recipient" in refused.value.detail
    assert await pending(ctg) == []  # refused is final: the courier does not try again
    state, error = await ctg.ctx.db.run(partial(message_rows.outcome_of, seq=seq), write=False)
    assert state == "refused"
    assert "not_a_recipient" in str(error)
    assert (await gye.api().get("/api/v1/permissions", {}))["items"] == []
