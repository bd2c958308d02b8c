"""The recipient resolver: one answer to "who receives this", for sending and receiving."""

from __future__ import annotations

from dataclasses import replace

import pytest
from node_harness import Cluster, TestNode

from baliza.node.core.clock import now_ms
from baliza.node.services.recipients import (
    Audience,
    ChannelRoster,
    Via,
    check_addressed,
    header_recipients,
    resolve,
)
from baliza.protocol.envelope import Header, MessageKind
from baliza.protocol.errors import InputError, ReasonCode, TrustError
from baliza.protocol.handling import Handling, Tlp
from baliza.protocol.ids import AgencyId, ChannelId, EnvelopeId, KeyId

GYE, CTG, ALG, MAD = (
    AgencyId(a) for a in ("ec.polnac.gye", "co.polfa.ctg", "es.aduanas.alg", "es.gc.mad")
)
STRANGER = AgencyId("fr.douane.leh")
CHANNEL = ChannelId("ccp-pacific")


@pytest.fixture
async def gye(cluster: Cluster) -> TestNode:
    nodes = await cluster((GYE, CTG, ALG, MAD), start=[GYE])
    return nodes[0]


def roster(*members: AgencyId, version: int = 3) -> ChannelRoster:
    return ChannelRoster(channel=CHANNEL, version=version, members=frozenset(members))


async def test_named_channel_and_subscribers_each_once_with_why(gye: TestNode) -> None:
    audience = Audience(agencies=(CTG,), channel=roster(GYE, CTG, ALG), subscribers=(ALG, MAD))
    resolution = resolve(gye.ctx.trust, audience, me=GYE, now_ms=now_ms())
    assert [(r.agency, r.via) for r in resolution.recipients] == [
        (CTG, Via.NAMED),  # named wins over channel membership
        (ALG, Via.CHANNEL),  # channel wins over subscription
        (MAD, Via.SUBSCRIPTION),
    ]
    assert (resolution.channel, resolution.membership_version) == (CHANNEL, 3)
    own = gye.keys.public()
    assert resolution.sealing_keys(own)[-1] == own
    assert {r.url for r in resolution.recipients} == {
        p.url for p in gye.ctx.peers() if p.agency != GYE
    }


@pytest.mark.parametrize(
    ("audience", "reason", "path"),
    [
        (Audience(agencies=(GYE,)), ReasonCode.INCONSISTENT, "recipients[0]"),
        (Audience(agencies=(CTG, STRANGER)), ReasonCode.NOT_FOUND, "recipients[1]"),
        (Audience(), ReasonCode.MISSING_FIELD, "recipients"),
        (Audience(channel=roster(CTG, ALG)), ReasonCode.NOT_A_MEMBER, "channel"),
    ],
)
async def test_refusals_name_the_field(
    gye: TestNode, audience: Audience, reason: ReasonCode, path: str
) -> None:
    with pytest.raises(InputError) as caught:
        resolve(gye.ctx.trust, audience, me=GYE, now_ms=now_ms())
    assert (caught.value.reason, caught.value.path) == (reason, path)


async def test_a_stranger_in_a_roster_or_subscription_is_left_out(gye: TestNode) -> None:
    audience = Audience(channel=roster(GYE, CTG, STRANGER), subscribers=(STRANGER,))
    resolution = resolve(gye.ctx.trust, audience, me=GYE, now_ms=now_ms())
    assert resolution.agencies == (CTG,)


HEADER = Header(
    id=EnvelopeId("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"),
    kind=MessageKind.ALERT,
    sender=GYE,
    sender_key=KeyId(bytes(16)),
    created_ms=1,
    recipients=(GYE, ALG),
    handling=Handling(tlp=Tlp.AMBER),
    suite="hybrid-v1",
    key_commitment=bytes(32),
)
IN_CHANNEL = replace(HEADER, recipients=(), channel=CHANNEL, membership_version=3)


def test_a_named_recipient_is_addressed_and_others_are_not() -> None:
    check_addressed(HEADER, me=ALG, roster=None)
    with pytest.raises(TrustError) as caught:
        check_addressed(HEADER, me=CTG, roster=None)
    assert caught.value.reason == ReasonCode.NOT_A_RECIPIENT
    assert header_recipients(HEADER, None) == (ALG,)


def test_a_channel_envelope_is_for_members_at_its_version_only() -> None:
    check_addressed(IN_CHANNEL, me=ALG, roster=roster(GYE, ALG))
    assert header_recipients(IN_CHANNEL, roster(GYE, ALG, CTG)) == (CTG, ALG)
    refused = [
        (ALG, None),  # this node does not know that version
        (ALG, roster(GYE, CTG)),  # not a member at that version
        (ALG, roster(ALG, CTG)),  # the sender is not a member
    ]
    for me, known in refused:
        with pytest.raises(TrustError):
            check_addressed(IN_CHANNEL, me=me, roster=known)
