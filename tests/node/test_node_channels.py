"""Channels on real nodes: programme feeds and JITs, signed membership, removal, joins.

Five agencies: Guayaquil owns a container-programme channel with Cartagena,
Algeciras and Madrid; Cartagena and Algeciras own a two-owner JIT; Tocumen
is a federation member in neither.
"""

from __future__ import annotations

import base64
from functools import partial
from typing import Any

import pytest
from loopback_support import wait_for
from node_harness import Cluster, TestNode
from notice_json import publish_body, seizure

from baliza.crypto import open_envelope, seal
from baliza.node.core.clock import new_envelope_id, now_ms
from baliza.node.services.fedclient import push_memberships
from baliza.node.services.ingest import ingest_batch
from baliza.node.storage.sql import channels as channel_rows
from baliza.protocol.envelope import parse_envelope
from baliza.protocol.errors import BalizaError, ReasonCode
from baliza.protocol.federation import Outcome
from baliza.protocol.handling import Handling, Tlp
from baliza.protocol.ids import ChannelId
from baliza.protocol.notices import notice_from_json, notice_to_json

AGENCIES = ("ec.polnac.gye", "co.polfa.ctg", "es.aduanas.alg", "es.gc.mad", "pa.senan.pty")
CCP = "ccp.pacific-europe"
JIT = "jit.co-es-2026-07"


@pytest.fixture
async def five(cluster: Cluster, database_engine: str) -> list[TestNode]:
    return await cluster(AGENCIES, database_engine)


async def channel_version(node: TestNode, channel: str) -> int | None:
    latest = await node.ctx.db.run(partial(channel_rows.latest, channel=channel), write=False)
    return latest.version if latest else None


async def received(node: TestNode) -> list[str]:
    page = await node.api("analyst").get("/api/v1/notices", {"direction": "in", "limit": "200"})
    return [item["id"] for item in page["items"]]


async def found_ccp(gye: TestNode, *members: TestNode) -> dict[str, Any]:
    body = {
        "id": CCP,
        "kind": "programme",
        "name": "Container programme, Pacific to Europe",
        "programme": "ccp",
        "members": [m.agency for m in members],
    }
    result: dict[str, Any] = await gye.api("admin").post("/api/v1/channels", body)
    return result


async def everyone_at(nodes: list[TestNode], channel: str, version: int) -> None:
    async def there() -> bool:
        return all([await channel_version(n, channel) == version for n in nodes])

    await wait_for(there)


def case_body(agency: str = "co.polfa.ctg") -> dict[str, Any]:
    return {
        "notice": {
            "v": 1,
            "kind": "notice.case",
            "programme": "jit",
            "unit": {"agency": agency},
            "case_ref": "JIT-CO-ES-2026/07",
            "title": "Banana route Guayaquil-Algeciras",
            "status": "active",
            "offences": ["drug_trafficking"],
        },
        "channel": JIT,
        "handling": {"tlp": "red", "codes": ["h2"]},
    }


async def test_a_programme_channel_reaches_its_members_and_nobody_else(
    five: list[TestNode],
) -> None:
    gye, ctg, alg, mad, pty = five
    founded = await found_ccp(gye, ctg, alg, mad)
    assert (founded["applied"], founded["version"]) == (True, 1)
    await everyone_at([ctg, alg, mad], CCP, 1)
    assert await channel_version(pty, CCP) is None

    body = {**publish_body(gye.agency, []), "channel": CCP}
    del body["recipients"]
    result = await gye.api().post("/api/v1/notices", body)
    assert result["recipients"] == sorted([ctg.agency, alg.agency, mad.agency])

    async def all_got_it() -> bool:
        return all([result["id"] in await received(n) for n in (ctg, alg, mad)])

    await wait_for(all_got_it)
    assert await received(pty) == []
    raw = await gye.api("analyst").get_bytes(f"/api/v1/notices/{result['id']}/envelope")
    envelope = parse_envelope(raw)
    assert (envelope.header.channel, envelope.header.membership_version) == (CCP, 1)
    assert envelope.header.recipients == ()
    for member in (ctg, alg, mad):
        assert open_envelope(envelope, recipient=member.keys, sender=gye.keys.public())
    with pytest.raises(BalizaError) as refused:
        open_envelope(envelope, recipient=pty.keys, sender=gye.keys.public())
    assert refused.value.reason in (ReasonCode.NOT_A_RECIPIENT, ReasonCode.DECRYPT_FAILED)
    listed = await alg.api("analyst").get(f"/api/v1/notices/{result['id']}", {})
    # Chapter 08: the row lists the members it was sealed to, Details name the channel.
    assert listed["recipients"] == sorted([ctg.agency, alg.agency, mad.agency])
    assert listed["channel"] == CCP
    sent = await gye.api("analyst").get(f"/api/v1/notices/{result['id']}", {})
    assert (sent["channel"], sent["recipients"]) == (CCP, listed["recipients"])
    named = await gye.api().post("/api/v1/notices", publish_body(gye.agency, [ctg.agency]))
    assert (await gye.api("analyst").get(f"/api/v1/notices/{named['id']}", {}))["channel"] is None


async def test_a_removed_member_cannot_read_what_follows_and_a_new_one_reads_from_admission(
    five: list[TestNode],
) -> None:
    gye, ctg, alg, mad, pty = five
    await found_ccp(gye, ctg, alg, mad)
    await everyone_at([ctg, alg, mad], CCP, 1)
    changed = await gye.api("admin").post(
        f"/api/v1/channels/{CCP}/members", {"remove": [mad.agency], "add": [pty.agency]}
    )
    assert (changed["applied"], changed["version"]) == (True, 2)
    # The removed member hears of its removal too, and the new one of its admission.
    await everyone_at([ctg, alg, mad, pty], CCP, 2)

    body = {**publish_body(ctg.agency, []), "channel": CCP}
    del body["recipients"]
    after = await ctg.api().post("/api/v1/notices", body)
    assert mad.agency not in after["recipients"] and pty.agency in after["recipients"]

    async def arrived() -> bool:
        return after["id"] in await received(pty) and after["id"] in await received(alg)

    await wait_for(arrived)
    # Captured in transit, the envelope stays closed to the removed member's own keys.
    raw = await ctg.api("analyst").get_bytes(f"/api/v1/notices/{after['id']}/envelope")
    with pytest.raises(BalizaError):
        open_envelope(parse_envelope(raw), recipient=mad.keys, sender=ctg.keys.public())
    assert after["id"] not in await received(mad)
    # Madrid's node refuses to post to a channel it left.
    with pytest.raises(BalizaError) as refused:
        body = {**publish_body(mad.agency, []), "channel": CCP}
        del body["recipients"]
        await mad.api().post("/api/v1/notices", body)
    assert refused.value.reason == ReasonCode.NOT_A_MEMBER


async def test_a_jit_needs_both_owners_and_keeps_case_notices_inside(
    five: list[TestNode],
) -> None:
    gye, ctg, alg, mad, _ = five
    body = {
        "id": JIT,
        "kind": "jit",
        "name": "JIT Colombia-Spain 2026/07",
        "programme": "jit",
        "owners": [ctg.agency, alg.agency],
        "threshold": 2,
        "members": [mad.agency],
    }
    proposed = await ctg.api("admin").post("/api/v1/channels", body)
    assert proposed["applied"] is False and proposed["signed_by"] == [ctg.agency]
    assert await channel_version(ctg, JIT) is None  # one owner of two is not enough
    # Madrid is not an owner: its signature is refused outright.
    with pytest.raises(BalizaError) as refused:
        await mad.api("admin").post(
            f"/api/v1/channels/{JIT}/proposals", {"proposal": proposed["proposal"]}
        )
    assert refused.value.reason == ReasonCode.NOT_AN_OWNER
    review = await alg.api("admin").post(
        f"/api/v1/channels/{JIT}/proposals/review", {"proposal": proposed["proposal"]}
    )
    signed = await alg.api("admin").post(
        f"/api/v1/channels/{JIT}/proposals",
        {"proposal": proposed["proposal"], "confirm": review["fingerprint"]},
    )
    assert signed["applied"] is True and signed["signed_by"] == [ctg.agency, alg.agency]
    await everyone_at([ctg, alg, mad], JIT, 1)

    case = await ctg.api().post("/api/v1/notices", case_body())

    async def inside() -> bool:
        return case["id"] in await received(mad) and case["id"] in await received(alg)

    await wait_for(inside)
    assert case["id"] not in await received(gye)
    # Nothing received in a JIT leaves it, whatever its handling would allow.
    amber = {**case_body(), "handling": {"tlp": "amber"}}
    shared = await ctg.api().post("/api/v1/notices", amber)

    async def amber_inside() -> bool:
        return shared["id"] in await received(mad)

    await wait_for(amber_inside)
    with pytest.raises(BalizaError) as refused:
        await mad.api().post(f"/api/v1/notices/{shared['id']}/share", {"recipients": [gye.agency]})
    assert refused.value.reason == ReasonCode.WRONG_CHANNEL
    # A case notice never travels outside a JIT: not to named agencies ...
    outside = {**case_body(), "recipients": [gye.agency]}
    del outside["channel"]
    with pytest.raises(BalizaError) as refused:
        await ctg.api().post("/api/v1/notices", outside)
    assert refused.value.reason == ReasonCode.WRONG_CHANNEL
    # ... nor in a programme channel; and a JIT takes no join requests (to one
    # never in it, it answers as a channel that does not exist).
    await found_ccp(gye, ctg)
    await everyone_at([ctg], CCP, 1)
    with pytest.raises(BalizaError) as refused:
        await ctg.api().post("/api/v1/notices", {**case_body(), "channel": CCP})
    assert refused.value.reason == ReasonCode.WRONG_CHANNEL
    with pytest.raises(BalizaError) as refused:
        await gye.api("admin").post(f"/api/v1/channels/{JIT}/join", {"owner": ctg.agency})
    assert "not_found" in str(refused.value)
    # An owner asking itself is refused before any request leaves (it once
    # relayed its own refusal as a peer's: 502).
    with pytest.raises(BalizaError) as refused:
        await ctg.api("admin").post(f"/api/v1/channels/{JIT}/join", {"owner": ctg.agency})
    assert (refused.value.reason, refused.value.path) == (ReasonCode.INCONSISTENT, "owner")


async def test_a_case_notice_pushed_outside_a_jit_is_refused_by_the_receiver(
    five: list[TestNode],
) -> None:
    gye, ctg, *_ = five
    envelope = seal(
        notice_from_json(case_body(gye.agency)["notice"]),
        sender=gye.keys,
        recipients=[ctg.keys.public(), gye.keys.public()],
        handling=Handling(tlp=Tlp.AMBER),
        envelope_id=new_envelope_id(),
        created_ms=now_ms(),
    )
    [result] = await ingest_batch(ctg.ctx, gye.agency, [envelope.raw])
    assert (result.outcome, result.reason) == (Outcome.REFUSED, ReasonCode.WRONG_CHANNEL)


async def test_a_programme_channel_admits_on_request_and_approval(five: list[TestNode]) -> None:
    gye, ctg, _, mad, _ = five
    await found_ccp(gye, ctg)
    asked = await mad.api("admin").post(
        f"/api/v1/channels/{CCP}/join", {"owner": gye.agency, "note": "Madrid airport unit"}
    )
    assert asked["state"] == "pending"
    listed = await gye.api("analyst").get("/api/v1/channels", {})
    [ccp] = [c for c in listed["items"] if c["channel"] == CCP]
    assert [(j["agency"], j["state"]) for j in ccp["joins"]] == [(mad.agency, "pending")]
    # Only an administrator decides.
    with pytest.raises(BalizaError) as refused:
        await gye.api("publisher").post(
            f"/api/v1/channels/{CCP}/joins/{mad.agency}", {"decision": "approve"}
        )
    assert refused.value.reason == ReasonCode.FORBIDDEN
    decided = await gye.api("admin").post(
        f"/api/v1/channels/{CCP}/joins/{mad.agency}", {"decision": "approve"}
    )
    assert (decided["applied"], decided["version"]) == (True, 2)
    await everyone_at([ctg, mad], CCP, 2)


async def test_a_member_that_missed_the_membership_gets_it_with_the_notice(
    five: list[TestNode],
) -> None:
    gye, ctg, alg, _, _ = five
    await alg.stop()
    await found_ccp(gye, ctg, alg)
    body = {**publish_body(gye.agency, []), "channel": CCP}
    del body["recipients"]
    result = await gye.api().post("/api/v1/notices", body)
    await alg.start()
    # Algeciras first answers membership_unknown; the courier pushes the chain, retries.

    async def arrived() -> bool:
        return result["id"] in await received(alg)

    await wait_for(arrived, limit_s=30)
    assert await channel_version(alg, CCP) == 1


async def test_an_envelope_sealed_to_a_version_that_a_later_one_narrowed_is_stale(
    five: list[TestNode],
) -> None:
    gye, ctg, alg, mad, _ = five
    await found_ccp(gye, ctg, alg, mad)
    await everyone_at([ctg, alg, mad], CCP, 1)
    await gye.api("admin").post(f"/api/v1/channels/{CCP}/members", {"remove": [mad.agency]})
    await everyone_at([ctg, alg], CCP, 2)
    # Cartagena seals to version 1 as a node that missed version 2 would.
    envelope = seal(
        notice_from_json(seizure(ctg.agency)),
        sender=ctg.keys,
        recipients=[n.keys.public() for n in (gye, ctg, alg, mad)],
        handling=Handling(tlp=Tlp.AMBER),
        envelope_id=new_envelope_id(),
        created_ms=now_ms(),
        channel=ChannelId(CCP),
        membership_version=1,
    )
    [result] = await ingest_batch(alg.ctx, ctg.agency, [envelope.raw])
    assert (result.outcome, result.reason) == (Outcome.REFUSED, ReasonCode.MEMBERSHIP_STALE)
    # A version that only added someone is not stale: nobody could read more.
    await gye.api("admin").post(f"/api/v1/channels/{CCP}/members", {"add": [mad.agency]})
    await everyone_at([ctg, alg], CCP, 3)
    fresh = seal(
        notice_from_json(seizure(ctg.agency)),
        sender=ctg.keys,
        recipients=[n.keys.public() for n in (gye, ctg, alg)],
        handling=Handling(tlp=Tlp.AMBER),
        envelope_id=new_envelope_id(),
        created_ms=now_ms(),
        channel=ChannelId(CCP),
        membership_version=2,
    )
    [result] = await ingest_batch(alg.ctx, ctg.agency, [fresh.raw])
    assert result.outcome == Outcome.ACCEPTED


async def test_a_stale_refusal_makes_the_sender_reseal_for_the_current_members(
    five: list[TestNode],
) -> None:
    gye, ctg, alg, mad, _ = five
    await found_ccp(gye, ctg, alg, mad)
    await everyone_at([ctg, alg, mad], CCP, 1)
    await ctg.stop()  # Cartagena misses the removal of Madrid ...
    await gye.api("admin").post(f"/api/v1/channels/{CCP}/members", {"remove": [mad.agency]})
    await everyone_at([alg, mad], CCP, 2)
    await gye.stop()  # ... and cannot catch up from the owner when it is back: it posts to v1.
    await ctg.start()
    held = await ctg.ctx.db.run(partial(channel_rows.latest, channel=CCP), write=False)
    assert held is not None and held.version == 1
    body = {**publish_body(ctg.agency, []), "channel": CCP}
    del body["recipients"]
    first = await ctg.api().post("/api/v1/notices", body)

    async def resealed() -> bool:
        ids = await received(alg)
        return any(i != first["id"] for i in ids)

    await wait_for(resealed, limit_s=30)
    [copy] = [i for i in await received(alg) if i != first["id"]]
    raw = await alg.api("analyst").get_bytes(f"/api/v1/notices/{copy}/envelope")
    envelope = parse_envelope(raw)
    assert envelope.header.membership_version == 2
    with pytest.raises(BalizaError):
        open_envelope(envelope, recipient=mad.keys, sender=ctg.keys.public())
    opened = open_envelope(envelope, recipient=alg.keys, sender=ctg.keys.public())
    assert notice_to_json(opened)["conveyance"]["container"] == "MSCU1234566"
    assert await channel_version(ctg, CCP) == 2


async def test_membership_pushed_to_a_stranger_or_short_of_owners_is_refused(
    five: list[TestNode],
) -> None:
    gye, ctg, _, _, pty = five
    founded = await found_ccp(gye, ctg)
    assert founded["applied"]
    versions = await gye.ctx.db.run(
        partial(channel_rows.after, channel=CCP, version=0, limit=10), write=False
    )
    chain = [m.raw for m in versions]
    # Gossip sends Tocumen nothing of a channel it is in no version of ...
    await gye.delivery.channels.share(pty.peer, [CCP])
    # ... and pushed to it anyway, the chain is refused: it will not store it.
    with pytest.raises(BalizaError) as refused:
        await push_memberships(gye.delivery.session, gye.keys, pty.peer, chain)
    assert "not_a_recipient" in str(refused.value)
    assert await channel_version(pty, CCP) is None
    # A proposal nobody signed cannot be slipped in as a version.
    proposal = base64.b64decode(
        (
            await ctg.api("admin").post(
                "/api/v1/channels",
                {"id": "ccp.other", "kind": "programme", "name": "x", "members": []}
                | {"owners": [ctg.agency, gye.agency], "threshold": 2},
            )
        )["proposal"]
    )
    with pytest.raises(BalizaError) as refused:
        await gye.delivery.channels.apply_and_gossip([proposal], actor="test")
    assert refused.value.reason == ReasonCode.MEMBERSHIP_THRESHOLD
