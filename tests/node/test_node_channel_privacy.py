"""A channel's existence is for its members (issue 17, item 16).

Guayaquil is a federation member that was never in Cartagena and Algeciras's
JIT. Every way it can ask about a channel — push an envelope naming it, pull
its membership chain, ask to join it — gets the same answer for the JIT as
for a channel that does not exist, on both storage engines.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from loopback_support import wait_for
from node_harness import Cluster, TestNode
from notice_json import seizure

from baliza.crypto import seal
from baliza.node.core.clock import new_envelope_id, now_ms
from baliza.node.services.fedclient import fetch_memberships, new_session, request_join
from baliza.node.services.ingest import ingest_batch
from baliza.node.storage.sql import channels as channel_rows
from baliza.protocol.errors import BalizaError
from baliza.protocol.handling import Handling, Tlp
from baliza.protocol.ids import ChannelId
from baliza.protocol.notices import notice_from_json

JIT = "jit.co-es-2026-07"
GHOST = "jit.co-es-2099-01"  # no such channel anywhere


async def found_jit(ctg: TestNode, alg: TestNode) -> None:
    body = {
        "id": JIT,
        "kind": "jit",
        "name": "JIT Colombia-Spain 2026/07",
        "programme": "jit",
        "owners": [ctg.agency, alg.agency],
        "threshold": 2,
        "members": [],
    }
    proposed = await ctg.api("admin").post("/api/v1/channels", body)
    proposals = f"/api/v1/channels/{JIT}/proposals"
    review = await alg.api("admin").post(f"{proposals}/review", {"proposal": proposed["proposal"]})
    await alg.api("admin").post(
        proposals, {"proposal": proposed["proposal"], "confirm": review["fingerprint"]}
    )

    async def both_hold_it() -> bool:
        for node in (ctg, alg):
            latest = await node.ctx.db.run(
                lambda conn: channel_rows.latest(conn, channel=JIT), write=False
            )
            if latest is None:
                return False
        return True

    await wait_for(both_hold_it)


async def refusal(ask: Callable[[str], Awaitable[object]], channel: str) -> str:
    """What asking about ``channel`` answers, with the channel's name taken out."""
    try:
        answer = await ask(channel)
    except BalizaError as err:
        answer = f"[{err.reason}] {err.detail}"
    return str(answer).replace(channel, "<channel>")


async def test_a_non_member_cannot_tell_a_jit_from_no_channel(
    cluster: Cluster, database_engine: str
) -> None:
    gye, ctg, alg = await cluster(3, database_engine)
    await found_jit(ctg, alg)

    async def push(channel: str) -> object:
        envelope = seal(
            notice_from_json(seizure(gye.agency)),
            sender=gye.keys,
            recipients=[ctg.keys.public(), alg.keys.public()],
            handling=Handling(tlp=Tlp.AMBER),
            envelope_id=new_envelope_id(),
            created_ms=now_ms(),
            channel=ChannelId(channel),
            membership_version=1,
        )
        [result] = await ingest_batch(ctg.ctx, gye.agency, [envelope.raw])
        return (result.outcome.value, result.reason)

    async def pull(channel: str) -> object:
        async with new_session() as session:
            return await fetch_memberships(session, gye.keys, ctg.peer, channel, 0)

    async def join(channel: str) -> object:
        async with new_session() as session:
            await request_join(session, gye.keys, ctg.peer, channel, "let us in")
        return "asked"

    for ask in (push, pull, join):
        seen = await refusal(ask, JIT)
        assert seen == await refusal(ask, GHOST), ask.__name__
        assert "asked" not in seen  # and each is a refusal
    # The members themselves still learn what they must.
    members_pull = await fetch_memberships_as(alg, ctg, JIT)
    assert len(members_pull) == 1


async def fetch_memberships_as(member: TestNode, owner: TestNode, channel: str) -> list[bytes]:
    async with new_session() as session:
        return await fetch_memberships(session, member.keys, owner.peer, channel, 0)
