"""A channel is its founding: squats of its id and forks of its chain, attacked on real nodes.

Each attack is the one of issue 17, item 1: the member removed from a JIT
signs its own versions of the JIT's id (itself sole owner) and pushes them,
to a node not yet in the channel, to a co-founder before the second
signature, to a node holding an older version, and as a programme channel
of another kind; an owner signs a second history (a fork at a version the
node holds). Each is refused with its reason code and raised as an alarm:
a ``channel.conflict`` trust event, the status endpoint, the administrator's
console and the metrics. Item 12: a removed member receives the chain only up
to the version that removed it, by gossip and by pull.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

import pytest
from console_client import signed_in
from loopback_support import wait_for
from node_harness import Cluster, TestNode

from baliza.crypto.channels import parse_membership, propose_membership, sign_membership
from baliza.node.core.clock import now_ms
from baliza.node.services.fedclient import fetch_memberships, push_memberships
from baliza.node.storage.sql import channels as channel_rows
from baliza.protocol.channels import ChannelKind, Membership, founding_digest
from baliza.protocol.errors import BalizaError, ReasonCode
from baliza.protocol.ids import AgencyId, ChannelId

AGENCIES = ("ec.polnac.gye", "co.polfa.ctg", "es.aduanas.alg", "es.gc.mad", "pa.senan.pty")
JIT = "jit.co-es-2026-07"
CCP = "ccp.pacific-europe"
DAY_MS = 86_400_000


@pytest.fixture
async def five(cluster: Cluster, database_engine: str) -> list[TestNode]:
    return await cluster(AGENCIES, database_engine)


async def version_at(node: TestNode, channel: str) -> int | None:
    latest = await node.ctx.db.run(partial(channel_rows.latest, channel=channel), write=False)
    return latest.version if latest else None


async def held_versions(node: TestNode, channel: str) -> list[int]:
    held = await node.ctx.db.run(
        partial(channel_rows.after, channel=channel, version=0, limit=100), write=False
    )
    return [m.version for m in held]


async def everyone_at(nodes: list[TestNode], channel: str, version: int) -> None:
    async def there() -> bool:
        return all([await version_at(n, channel) == version for n in nodes])

    await wait_for(there)


async def found_jit(ctg: TestNode, alg: TestNode, *members: TestNode) -> None:
    """Cartagena and Algeciras found the JIT; one owner's signature suffices (threshold 1)."""
    body = {
        "id": JIT,
        "kind": "jit",
        "name": "JIT Colombia-Spain 2026/07",
        "programme": "jit",
        "owners": [ctg.agency, alg.agency],
        "threshold": 1,
        "members": [m.agency for m in members],
    }
    founded = await ctg.api("admin").post("/api/v1/channels", body)
    assert founded["applied"] is True


async def change(owner: TestNode, channel: str, **body: list[str]) -> int:
    changed = await owner.api("admin").post(f"/api/v1/channels/{channel}/members", body)
    assert changed["applied"] is True
    version: int = changed["version"]
    return version


def own_chain(
    attacker: TestNode,
    channel: str,
    members: list[TestNode],
    *,
    versions: tuple[int, ...] = (1,),
    kind: ChannelKind = ChannelKind.JIT,
    founding: bytes | None = None,
) -> list[bytes]:
    """The attacker's own versions of ``channel``, itself sole owner, listing ``members``.

    Founded by the attacker's own version 1 unless ``founding`` names another
    (the genuine one, copied).
    """
    now = now_ms()
    listed = tuple(sorted({AgencyId(attacker.agency), *(AgencyId(m.agency) for m in members)}))

    def version(n: int, founded: bytes | None) -> Membership:
        return Membership(
            channel=ChannelId(channel),
            kind=kind,
            name="JIT Colombia-Spain 2026/07",
            owners=(AgencyId(attacker.agency),),
            threshold=1,
            members=listed,
            version=n,
            issued_ms=now,
            expires_ms=now + 30 * DAY_MS,
            founding=None if n == 1 else founded,
        )

    own_founding = founding or founding_digest(version(1, None).to_bytes())
    return [
        sign_membership(propose_membership(version(n, own_founding)), attacker.keys)
        for n in versions
    ]


async def push(attacker: TestNode, target: TestNode, chain: list[bytes]) -> str:
    """Push ``chain`` as ``attacker``; return the refusal the target answers (it must refuse)."""
    with pytest.raises(BalizaError) as refused:
        await push_memberships(attacker.delivery.session, attacker.keys, target.peer, chain)
    return str(refused.value)


async def alarms(node: TestNode) -> list[dict[str, Any]]:
    status = await node.api("analyst").get("/api/v1/status", {})
    found: list[dict[str, Any]] = status["channel_alarms"]
    return found


async def assert_alarm(node: TestNode, channel: str, reason: str, by: TestNode) -> None:
    """The refusal is raised everywhere an operator looks: status, events, console, metrics."""
    raised = [a for a in await alarms(node) if (a["channel"], a["reason"]) == (channel, reason)]
    assert raised, await alarms(node)
    assert any(by.agency in a["actor"] for a in raised)
    events = await node.api("admin").get("/api/v1/admin/events", {})
    wanted = ("channel.conflict", channel, reason)
    assert any((e["action"], e["subject"], e["detail"].get("reason")) == wanted for e in events)
    client, _ = await signed_in(node, "admin")
    async with client:
        async with client.get(node.url + "/console/admin/keys") as resp:
            page = await resp.text()
        async with client.get(node.url + "/metrics") as resp:
            metrics = await resp.text()
    assert 'role="alert"' in page and f"<code>{channel}</code>" in page
    assert f"<code>{reason}</code>" in page
    counted = re.search(r"^baliza_channel_conflicts_total\{[^}]*\} (\d+)$", metrics, re.M)
    assert counted is not None and int(counted.group(1)) >= 1


async def test_a_removed_member_squatting_a_jit_before_the_target_joins_is_refused_and_alarmed(
    five: list[TestNode],
) -> None:
    gye, ctg, alg, mad, pty = five
    await found_jit(ctg, alg, mad, gye)
    await everyone_at([ctg, alg, mad, gye], JIT, 1)
    assert await change(ctg, JIT, remove=[mad.agency]) == 2
    await everyone_at([ctg, alg, mad, gye], JIT, 2)
    # Madrid's "version 1000" of the JIT: itself sole owner, listing the real
    # members and Tocumen, pushed to Tocumen, which is not yet a member.
    squat = own_chain(mad, JIT, [ctg, alg, gye, pty], versions=(1000,))
    assert "channel_unfounded" in await push(mad, pty, squat)
    assert await version_at(pty, JIT) is None
    await assert_alarm(pty, JIT, "channel_unfounded", by=mad)
    # The real owners add Tocumen: it takes their chain, from version 1.
    assert await change(alg, JIT, add=[pty.agency]) == 3
    await everyone_at([ctg, alg, gye, pty], JIT, 3)
    held = await pty.ctx.db.run(partial(channel_rows.latest, channel=JIT), write=False)
    assert held is not None and held.owners == tuple(sorted((ctg.agency, alg.agency)))
    # Madrid's own founding of the id, now against a node holding the real chain.
    founded = own_chain(mad, JIT, [ctg, alg, gye, pty], versions=(1, 1000))
    assert "channel_conflict" in await push(mad, pty, founded)
    assert "channel_conflict" in await push(mad, alg, founded)
    await assert_alarm(pty, JIT, "channel_conflict", by=mad)
    await assert_alarm(alg, JIT, "channel_conflict", by=mad)
    assert await version_at(pty, JIT) == 3 and await version_at(alg, JIT) == 3
    # Copying the genuine founding does not make Madrid an owner.
    genuine = parse_membership((await held_chain(ctg, JIT))[0]).founding
    copied = own_chain(mad, JIT, [ctg, alg, pty], versions=(1000,), founding=genuine)
    assert "not_an_owner" in await push(mad, pty, copied)
    await assert_alarm(pty, JIT, "not_an_owner", by=mad)


async def held_chain(node: TestNode, channel: str) -> list[bytes]:
    held = await node.ctx.db.run(
        partial(channel_rows.after, channel=channel, version=0, limit=100), write=False
    )
    return [m.raw for m in held]


async def test_a_squat_in_the_co_founders_window_is_refused_and_alarmed(
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
        "members": [mad.agency, gye.agency],
    }
    proposed = await ctg.api("admin").post("/api/v1/channels", body)
    assert proposed["applied"] is False  # waiting for Algeciras's signature
    # Madrid saw the proposal: it pushes its own "version 1000" to Algeciras ...
    squat = own_chain(mad, JIT, [ctg, alg, gye], versions=(1000,))
    assert "channel_unfounded" in await push(mad, alg, squat)
    await assert_alarm(alg, JIT, "channel_unfounded", by=mad)
    assert await version_at(alg, JIT) is None
    # ... and, that failing, founds the id itself and gets in first at Algeciras.
    founded = own_chain(mad, JIT, [ctg, alg, gye], versions=(1,))
    await push_memberships(mad.delivery.session, mad.keys, alg.peer, founded)
    # Algeciras's signature completes the genuine version 1: it contradicts the
    # chain held, so it is refused by its reason, and raised, not skipped.
    with pytest.raises(BalizaError) as refused:
        await alg.api("admin").post(
            f"/api/v1/channels/{JIT}/proposals", {"proposal": proposed["proposal"]}
        )
    assert refused.value.reason == ReasonCode.CHANNEL_CONFLICT
    await assert_alarm(alg, JIT, "channel_conflict", by=alg)
    held = await alg.ctx.db.run(partial(channel_rows.latest, channel=JIT), write=False)
    assert held is not None and held.owners == (mad.agency,)


async def test_a_node_holding_an_older_version_refuses_a_squat_and_raises_it(
    five: list[TestNode],
) -> None:
    gye, ctg, alg, mad, _ = five
    body = {
        "id": CCP,
        "kind": "programme",
        "name": "Container programme, Pacific to Europe",
        "programme": "ccp",
        "members": [ctg.agency, alg.agency, mad.agency],
    }
    await gye.api("admin").post("/api/v1/channels", body)
    await everyone_at([ctg, alg, mad], CCP, 1)
    # Cartagena is down (or restored from a backup) while Madrid is removed,
    # and the owner is down when it comes back: it holds version 1 only.
    await ctg.stop()
    assert await change(gye, CCP, remove=[mad.agency]) == 2
    await everyone_at([alg], CCP, 2)
    await gye.stop()
    await ctg.start()
    assert await version_at(ctg, CCP) == 1
    genuine = parse_membership((await held_chain(ctg, CCP))[0]).founding
    # Madrid, still a member at the version Cartagena holds, signs a next version.
    copied = own_chain(
        mad, CCP, [ctg, alg], versions=(2,), kind=ChannelKind.PROGRAMME, founding=genuine
    )
    assert "not_an_owner" in await push(mad, ctg, copied)
    await assert_alarm(ctg, CCP, "not_an_owner", by=mad)
    own = own_chain(mad, CCP, [ctg, alg], versions=(1, 1000), kind=ChannelKind.PROGRAMME)
    assert "channel_conflict" in await push(mad, ctg, own)
    await assert_alarm(ctg, CCP, "channel_conflict", by=mad)
    assert await version_at(ctg, CCP) == 1


async def test_a_programme_channel_squatted_with_another_kind_is_refused_and_alarmed(
    five: list[TestNode],
) -> None:
    gye, ctg, alg, mad, pty = five
    body = {
        "id": CCP,
        "kind": "programme",
        "name": "Container programme, Pacific to Europe",
        "programme": "ccp",
        "members": [ctg.agency, alg.agency, mad.agency],
    }
    await gye.api("admin").post("/api/v1/channels", body)
    await everyone_at([ctg, alg, mad], CCP, 1)
    # Madrid's JIT under the programme's id: case notices of the real channel
    # would then be wrong_channel here.
    as_jit = own_chain(mad, CCP, [ctg, alg, pty], versions=(1, 2), kind=ChannelKind.JIT)
    assert "membership_mismatch" in await push(mad, ctg, as_jit)
    await assert_alarm(ctg, CCP, "membership_mismatch", by=mad)
    assert "channel_unfounded" in await push(mad, pty, as_jit[1:])
    await assert_alarm(pty, CCP, "channel_unfounded", by=mad)
    held = await ctg.ctx.db.run(partial(channel_rows.latest, channel=CCP), write=False)
    assert held is not None and held.kind == "programme"


async def test_a_fork_at_any_version_held_is_refused_and_alarmed(five: list[TestNode]) -> None:
    gye, ctg, alg, mad, _ = five
    body = {
        "id": CCP,
        "kind": "programme",
        "name": "Container programme, Pacific to Europe",
        "programme": "ccp",
        "members": [ctg.agency, alg.agency],
    }
    await gye.api("admin").post("/api/v1/channels", body)
    await everyone_at([ctg, alg], CCP, 1)
    assert await change(gye, CCP, add=[mad.agency]) == 2
    assert await change(gye, CCP, remove=[alg.agency]) == 3
    await everyone_at([ctg, mad], CCP, 3)
    chain = await held_chain(ctg, CCP)
    # The owner (say, its node restored from an old backup) signs another
    # version 2: the same founding, other members. Pushed behind the genuine
    # version 1, it is older than the version in force, and still refused.
    v1 = parse_membership(chain[0])
    other = Membership.from_bytes(parse_membership(chain[1]).signed)
    fork = Membership(
        channel=other.channel,
        kind=other.kind,
        name=other.name,
        programme=other.programme,
        owners=other.owners,
        threshold=other.threshold,
        members=tuple(sorted({*other.members, AgencyId("pa.senan.pty")})),
        version=2,
        issued_ms=other.issued_ms,
        expires_ms=other.expires_ms,
        founding=v1.founding,
    )
    forked = sign_membership(propose_membership(fork), gye.keys)
    assert "membership_fork" in await push(gye, ctg, [chain[0], forked])
    await assert_alarm(ctg, CCP, "membership_fork", by=gye)
    assert await held_versions(ctg, CCP) == [1, 2, 3]
    assert (await held_chain(ctg, CCP))[1] == chain[1]


async def test_a_removed_member_receives_only_the_version_that_removes_it(
    five: list[TestNode],
) -> None:
    gye, ctg, alg, mad, pty = five
    await found_jit(ctg, alg, mad, gye)
    await everyone_at([ctg, alg, mad, gye], JIT, 1)
    assert await change(ctg, JIT, remove=[mad.agency]) == 2
    await everyone_at([ctg, alg, mad, gye], JIT, 2)
    # Who joins the investigation after Madrid left is not Madrid's to know.
    assert await change(alg, JIT, add=[pty.agency]) == 3
    await everyone_at([ctg, alg, gye, pty], JIT, 3)
    # Madrid pulls from each owner and a member: it gets nothing past version 2.
    for source in (ctg, alg, gye):
        pulled = await fetch_memberships(mad.delivery.session, mad.keys, source.peer, JIT, 0)
        assert [parse_membership(raw).membership.version for raw in pulled] == [1, 2]
        assert await fetch_memberships(mad.delivery.session, mad.keys, source.peer, JIT, 2) == []
    # A push from any node that holds version 3 stops at version 2 for Madrid.
    await ctg.delivery.channels.share(mad.peer, [JIT])
    await mad.delivery.channels.catch_up(ctg.peer)
    assert await held_versions(mad, JIT) == [1, 2]
    # Tocumen, a member now, gets the whole chain; a stranger gets nothing.
    pulled = await fetch_memberships(pty.delivery.session, pty.keys, ctg.peer, JIT, 0)
    assert [parse_membership(raw).membership.version for raw in pulled] == [1, 2, 3]
