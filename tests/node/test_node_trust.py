"""Federation trust on running nodes: rotation, revocation, directory attacks, local blocks."""

from __future__ import annotations

import dataclasses
from typing import Any

import aiohttp
import pytest
from loopback_support import wait_for
from node_harness import Cluster, Federation, TestNode
from notice_json import publish_body, seizure

from baliza.crypto import AgencyKeys, Suite, seal
from baliza.crypto.directory import propose, sign_proposal
from baliza.node.core.clock import new_envelope_id, now_ms
from baliza.node.services.directory_build import Changes, next_version
from baliza.node.services.fedclient import new_session, push_batch
from baliza.node.services.ingest import ingest_batch
from baliza.protocol.directory import RevocationReason, SignedDirectory
from baliza.protocol.errors import TransportError
from baliza.protocol.federation import MEDIA_TYPE
from baliza.protocol.handling import Handling, Tlp
from baliza.protocol.notices import notice_from_json

DAY_MS = 24 * 3600 * 1000
YEAR_MS = 365 * DAY_MS


@dataclasses.dataclass
class Trio:
    gye: TestNode
    ctg: TestNode
    alg: TestNode
    federation: Federation

    @property
    def nodes(self) -> list[TestNode]:
        return [self.gye, self.ctg, self.alg]


@pytest.fixture
async def trio(cluster: Cluster) -> Trio:
    nodes = await cluster(("ec.polnac.gye", "co.polfa.ctg", "es.aduanas.alg"))
    assert cluster.federation is not None
    return Trio(nodes[0], nodes[1], nodes[2], cluster.federation)


def next_signed(
    trio: Trio,
    changes: Changes,
    *,
    signers: int = 2,
    base: bytes | None = None,
    expired: bool = False,
) -> bytes:
    current = SignedDirectory.from_bytes(base or trio.federation.signed).directory
    new = next_version(current, changes, now_ms=now_ms())
    if expired:  # issued and expired yesterday: what a freeze attacker replays
        new = dataclasses.replace(
            new, issued_ms=now_ms() - 2 * DAY_MS, expires_ms=now_ms() - DAY_MS
        )
    signed = trio.federation.sign(propose(new), signers)
    trio.federation.signed = signed
    return signed


async def post_directory(node: TestNode, signed: bytes) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            node.url + "/api/v1/admin/directory",
            data=signed,
            headers={"Authorization": f"Bearer {node.tokens['admin']}", "Content-Type": MEDIA_TYPE},
        ) as resp,
    ):
        return resp.status, await resp.json()


async def received(node: TestNode) -> list[str]:
    page = await node.api("analyst").get("/api/v1/notices", {"direction": "in", "limit": "200"})
    return [i["id"] for i in page["items"]]


async def test_key_rotation_in_the_middle_of_a_stream_loses_nothing(trio: Trio) -> None:
    gye, alg = trio.gye, trio.alg
    sent = []
    for i in range(5):
        body = publish_body(gye.agency, [alg.agency], grams=100 + i)
        sent.append((await gye.api().post("/api/v1/notices", body))["id"])
    old_key = gye.ctx.signing_keys().public().signing_key_id
    # The operator rotates: a new key set, given to the administrators...
    now = now_ms()
    new_keys = AgencyKeys.generate(
        gye.agency, Suite.HYBRID, valid_from_ms=now - 10, valid_until_ms=now + YEAR_MS
    )
    gye.ctx.keyring = type(gye.ctx.keyring)([*gye.ctx.keyring, new_keys])
    new_card = dataclasses.replace(gye.card, keys=new_keys.public())
    # ... who sign version 2 listing both keys (overlap); Guayaquil applies it first.
    signed = next_signed(trio, Changes(add_keys=(new_card,)))
    status, answer = await post_directory(gye, signed)
    assert (status, answer["version"]) == (200, 2)
    assert gye.ctx.signing_keys().public().signing_key_id == new_keys.public().signing_key_id
    for i in range(5):
        body = publish_body(gye.agency, [alg.agency], grams=200 + i)
        sent.append((await gye.api().post("/api/v1/notices", body))["id"])

    async def all_there() -> bool:
        return len(await received(alg)) == 10

    await wait_for(all_there)
    assert sorted(await received(alg)) == sorted(sent)
    assert alg.ctx.trust.version == 2  # it learnt the rotation by gossip
    # Both keys verified: the first five were signed by the old key, the rest by the new.
    assert old_key != new_keys.public().signing_key_id


async def test_revocation_reaches_every_node_in_one_gossip_round(trio: Trio) -> None:
    gye, ctg, alg = trio.gye, trio.ctg, trio.alg
    before = await gye.api().post("/api/v1/notices", publish_body(gye.agency, [alg.agency]))

    async def arrived() -> bool:
        return before["id"] in await received(alg)

    await wait_for(arrived)
    compromised = gye.keys
    kid = bytes(compromised.public().signing_key_id).hex()
    revoked_at = now_ms()
    signed = next_signed(
        trio,
        Changes(revoke_keys=((gye.agency, kid, revoked_at, RevocationReason.KEY_COMPROMISE),)),
    )
    # One administrator applies it at one node; it pushes it on to the others.
    status, _ = await post_directory(ctg, signed)
    assert status == 200

    async def everywhere() -> bool:
        return all(n.ctx.trust.version == 2 for n in trio.nodes)

    await wait_for(everywhere, limit_s=5)
    # The thief signs a new envelope with the stolen key: every node refuses it,
    # at the door (the request is signed by the revoked key) and in the pipeline.
    for target in (alg, ctg):
        envelope = seal(
            notice_from_json(seizure(gye.agency)),
            sender=compromised,
            recipients=[target.keys.public()],
            handling=Handling(tlp=Tlp.AMBER),
            envelope_id=new_envelope_id(),
            created_ms=now_ms(),
        )
        async with new_session() as session:
            with pytest.raises(TransportError) as refused:
                await push_batch(session, compromised, target.peer, [envelope.raw])
        assert "key_revoked" in refused.value.detail
        results = await ingest_batch(target.ctx, gye.agency, [envelope.raw])
        assert [(r.outcome.value, r.reason) for r in results] == [("refused", "key_revoked")]
    # What was signed before the revocation stays readable, marked.
    notice = await alg.api("analyst").get(f"/api/v1/notices/{before['id']}", {})
    assert notice["signed_by_revoked_key"] is True
    assert notice["notice"]["kind"] == "notice.seizure"


async def test_running_node_refuses_rollback_freeze_and_short_threshold(trio: Trio) -> None:
    alg = trio.alg
    founding = trio.federation.signed
    v2 = next_signed(trio, Changes())
    assert (await post_directory(alg, v2))[0] == 200
    attacks = {
        "directory_rollback": founding,
        "directory_threshold": next_signed(trio, Changes(), signers=1, base=v2),
        "directory_expired": next_signed(trio, Changes(), base=v2, expired=True),
    }
    stranger = AgencyKeys.generate(
        alg.agency, Suite.CLASSIC, valid_from_ms=now_ms() - 1, valid_until_ms=now_ms() + YEAR_MS
    )
    proposal = propose(
        next_version(SignedDirectory.from_bytes(v2).directory, Changes(), now_ms=now_ms())
    )
    attacks["not_an_administrator"] = dataclasses.replace(trio.federation, admins=[stranger]).sign(
        proposal, 1
    )
    for reason, signed in attacks.items():
        status, answer = await post_directory(alg, signed)
        assert (status, answer["error"]["reason"]) == (403, reason), reason
        assert alg.ctx.trust.version == 2
    events = await alg.api("admin").get("/api/v1/admin/events", {})
    applied = [e for e in events if e["action"] == "directory.applied"]
    assert [e["subject"] for e in applied] == ["version 1", "version 2"]


async def test_blocked_agency_is_refused_by_the_blocker_only(trio: Trio) -> None:
    gye, ctg, alg = trio.gye, trio.ctg, trio.alg
    await alg.api("admin").post(
        f"/api/v1/admin/peers/{gye.agency}/block", {"reason": "suspected leak"}
    )
    result = await gye.api().post(
        "/api/v1/notices", publish_body(gye.agency, [alg.agency, ctg.agency])
    )

    async def settled() -> bool:
        state = await gye.api("analyst").get(f"/api/v1/notices/{result['id']}/delivery", {})
        return all(r["state"] != "pending" for r in state["recipients"])

    await wait_for(settled)
    state = await gye.api("analyst").get(f"/api/v1/notices/{result['id']}/delivery", {})
    by_agency = {r["destination"]: (r["state"], r["refused_reason"]) for r in state["recipients"]}
    assert by_agency == {alg.agency: ("refused", "sender_blocked"), ctg.agency: ("delivered", None)}
    assert await received(alg) == []
    assert await received(ctg) == [result["id"]]
    # The block narrowed trust for Algeciras alone, and is on its record.
    events = await alg.api("admin").get("/api/v1/admin/events", {})
    assert ("peer.block", gye.agency) in [(e["action"], e["subject"]) for e in events]
    peers = await alg.api("admin").get("/api/v1/admin/peers", {})
    assert {p["agency"]: p["local"] for p in peers["peers"]}[gye.agency] == "block"
    # An analyst cannot lift it.
    async with (
        aiohttp.ClientSession() as session,
        session.delete(
            alg.url + f"/api/v1/admin/peers/{gye.agency}/block",
            headers={"Authorization": f"Bearer {alg.tokens['analyst']}"},
        ) as resp,
    ):
        assert resp.status == 403


async def test_a_node_away_during_an_administrator_change_catches_up(trio: Trio) -> None:
    gye, ctg, alg = trio.gye, trio.ctg, trio.alg
    await alg.stop()
    old_admins = trio.federation.admins
    now = now_ms()
    new_admins = [
        AgencyKeys.generate(
            agency, Suite.CLASSIC, valid_from_ms=now - 1, valid_until_ms=now + YEAR_MS
        )
        for agency in ("pa.admin", "nl.admin", "pt.admin")
    ]
    # Version 2 hands the federation to new administrators: signed by two old
    # ones and two new ones. Version 3 is signed by the new ones only.
    current = SignedDirectory.from_bytes(trio.federation.signed).directory
    v2 = propose(
        next_version(
            current,
            Changes(administrators=tuple(a.public() for a in new_admins)),
            now_ms=now_ms(),
        )
    )
    for admin in (*old_admins[:2], *new_admins[:2]):
        v2 = sign_proposal(v2, admin)
    v3 = propose(next_version(SignedDirectory.from_bytes(v2).directory, Changes(), now_ms=now_ms()))
    for admin in new_admins[:2]:
        v3 = sign_proposal(v3, admin)
    assert (await post_directory(gye, v2))[0] == 200
    assert (await post_directory(gye, v3))[0] == 200

    async def converged() -> bool:
        return ctg.ctx.trust.version == 3

    await wait_for(converged, limit_s=5)
    # Algeciras comes back with version 1: version 3 alone is signed by
    # administrators it does not know, so it asks for the chain and applies it.
    await alg.start()

    async def caught_up() -> bool:
        return alg.ctx.trust.version == 3

    await wait_for(caught_up, limit_s=10)
    history = await alg.api("admin").get("/api/v1/admin/directory/history", {})
    assert [v["version"] for v in history] == [1, 2, 3]
    events = await alg.api("admin").get("/api/v1/admin/events", {})
    assert any(e["actor"].endswith("(catch-up)") for e in events)
