"""A member's channel, subscription and permission requests pay for the work they cause.

Issue 17, item 6, on a real node (Algeciras) with a small budget (5 requests a
second, bursts of 10). Guayaquil and Cartagena are members whose keys the
tests push with, as their nodes or a thief of their keys would. The work a
push causes is read from the node's own counter of owner-signature checks
(``baliza_channel_signature_checks_total``), not from timings.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from hardening_kit import AGENCIES, call
from node_harness import Cluster, TestNode

from baliza.crypto import AgencyKeys
from baliza.crypto.channels import parse_membership, propose_membership, sign_membership
from baliza.node.core.clock import new_envelope_id, now_ms
from baliza.node.services.channel_push import (
    MAX_PUSH_SIGNATURES,
    Held,
    RefusedChains,
    read_push,
)
from baliza.node.services.fedclient import (
    new_session,
    post_message,
    push_memberships,
    request_join,
)
from baliza.protocol.channels import (
    ChannelKind,
    Membership,
    OwnerSignature,
    SignedMembership,
    founding_digest,
)
from baliza.protocol.errors import BalizaError, InputError, ReasonCode, TrustError
from baliza.protocol.ids import AgencyId, ChannelId, KeyId
from baliza.protocol.subscriptions import SubscriptionFilter, SubscriptionRequest

DAY_MS = 24 * 3600 * 1000
CHECKS = "baliza_channel_signature_checks_total"


@pytest.fixture
async def members(
    cluster: Cluster, database_engine: str
) -> AsyncIterator[tuple[TestNode, TestNode, TestNode]]:
    gye, alg, ctg = await cluster(
        AGENCIES, database_engine, start=False, peer_requests_per_s=5, peer_concurrent_bodies=2
    )
    await alg.start()
    yield gye, alg, ctg
    await alg.stop()


def heavy_chain(
    owner: AgencyKeys, other: AgencyKeys, receiver: str, *, entries: int, name: str
) -> list[bytes]:
    """50 versions a member signs alone, each padded with ``entries - 1`` forged entries.

    The other owner's real key id under signatures it never made comes
    first (each costs a failed check), then key ids nobody holds; the
    owner's own valid signature lets every version pass, and the last one
    has expired, so the whole chain is checked and then refused.
    """
    now = now_ms()
    owners = tuple(sorted((AgencyId(owner.agency), AgencyId(other.agency))))
    chain = []
    founding: bytes | None = None
    for version in range(1, 51):
        issued = now - 3 * DAY_MS
        membership = Membership(
            channel=ChannelId(name),
            kind=ChannelKind.PROGRAMME,
            name="flood",
            owners=owners,
            threshold=1,
            members=tuple(sorted({*owners, AgencyId(receiver)})),
            version=version,
            issued_ms=issued,
            expires_ms=now - DAY_MS if version == 50 else now + DAY_MS,
            founding=founding,
        )
        if version == 1:
            founding = founding_digest(membership.to_bytes())
        document = parse_membership(sign_membership(propose_membership(membership), owner))
        genuine = document.signatures[0]
        forged = {alg: bytes(b ^ 0x55 for b in sig) for alg, sig in genuine.sigs.items()}
        real_kid = other.public().signing_key_id
        kids = [real_kid, *(KeyId(bytes([i]) * 16) for i in range(1, entries - 1))]
        padding = [
            OwnerSignature(agency=AgencyId(other.agency), key_id=k, sigs=forged) for k in kids
        ]
        ordered = sorted([genuine, *padding], key=lambda s: (s.agency, bytes(s.key_id)))
        chain.append(SignedMembership(signed=document.signed, signatures=tuple(ordered)).to_bytes())
    return chain


async def pushed(sender: TestNode, receiver: TestNode, chain: list[bytes]) -> str:
    """The reason the receiver refused the push with (the client reports it in its text)."""
    async with new_session() as session:
        try:
            await push_memberships(session, sender.keys, receiver.peer, chain)
        except BalizaError as err:
            return str(err)
    return "accepted"


async def test_a_flood_of_maximal_chains_is_charged_and_refused_chains_are_not_checked_again(
    members: tuple[TestNode, TestNode, TestNode],
) -> None:
    gye, alg, ctg = members

    def checks() -> int:
        return alg.ctx.metrics.get(CHECKS, 0)

    # Over the bound per request: refused before a single check.
    huge = heavy_chain(gye.keys, ctg.keys, alg.agency, entries=5, name="ccp.flood-huge")
    assert "too_large" in await pushed(gye, alg, huge)
    assert checks() == 0
    # A maximal chain within the bounds is checked once, on a worker thread,
    # while the health check keeps answering; then the member is in debt.
    heavy = heavy_chain(gye.keys, ctg.keys, alg.agency, entries=4, name="ccp.flood")
    assert sum(len(parse_membership(r).signatures) for r in heavy) == MAX_PUSH_SIGNATURES
    floods = [
        heavy,
        *(
            heavy_chain(gye.keys, ctg.keys, alg.agency, entries=4, name=f"ccp.flood-{i}")
            for i in range(12)
        ),
    ]
    latencies: list[float] = []

    async def probe() -> None:
        for _ in range(20):
            started = time.monotonic()
            status, _ = await call(alg, "GET", "/healthz", role=None)
            latencies.append(time.monotonic() - started)
            assert status == 200
            await asyncio.sleep(0.02)

    outcomes, _ = await asyncio.gather(
        asyncio.gather(*(pushed(gye, alg, chain) for chain in floods)), probe()
    )
    refused = [o for o in outcomes if "membership_expired" in o]
    busy = [o for o in outcomes if "busy" in o]
    assert len(refused) == 1 and len(busy) == len(floods) - 1, outcomes
    paid = checks()
    # One chain checked: its 50 versions, no more than the 200 entries it paid for.
    assert 50 <= paid <= MAX_PUSH_SIGNATURES
    assert max(latencies) < 2.0, latencies  # a sanity bound, not a benchmark
    # Guayaquil owes the node the checks it caused: refused before its body is read.
    for chain in floods[1:4]:
        assert "busy" in await pushed(gye, alg, chain)
    assert checks() == paid
    # The same bytes again, even from another member with tokens to spend:
    # the remembered refusal, and not one more check.
    [first] = [chain for chain, o in zip(floods, outcomes, strict=True) if "expired" in o]
    again = await pushed(ctg, alg, first)
    assert "membership_expired" in again and "refused before" in again
    assert checks() == paid


async def test_joins_and_subscriptions_pay_for_their_work(
    members: tuple[TestNode, TestNode, TestNode],
) -> None:
    gye, alg, ctg = members
    outcomes = []
    async with new_session() as session:
        for _ in range(5):
            try:
                await request_join(session, gye.keys, alg.peer, "ccp.nowhere", "")
                outcomes.append("accepted")
            except BalizaError as err:
                outcomes.append("busy" if "busy" in str(err) else "answered")
    # Three tokens each (the request and a write) out of a burst of ten:
    # three answers, then busy; one token each would have answered all five.
    assert outcomes == ["answered"] * 3 + ["busy"] * 2, outcomes
    answered = []
    async with new_session() as session:
        for _ in range(3):
            request = SubscriptionRequest(
                id=new_envelope_id(),
                subscriber=AgencyId(ctg.agency),
                publisher=AgencyId(alg.agency),
                filter=SubscriptionFilter(),
                created_ms=now_ms(),
            )
            path = "/fed/v1/subscriptions"
            try:
                await post_message(session, ctg.keys, alg.peer, path, request.to_bytes())
                answered.append(request.id)
            except BalizaError as err:
                assert "busy" in str(err)
    # Six tokens for a request stored and answered by a signed message: one in ten.
    assert len(answered) == 1
    status, listed = await call(alg, "GET", "/api/v1/subscriptions")
    assert status == 200
    assert [s["id"] for s in listed["items"]] == answered


# -- the bounds and the memory themselves, without a node --------------------------------

ME = "es.aduanas.alg"


def two_members() -> tuple[AgencyKeys, AgencyKeys]:
    now = now_ms()
    return tuple(  # type: ignore[return-value]
        AgencyKeys.generate(a, valid_from_ms=now - 30 * DAY_MS, valid_until_ms=now + 30 * DAY_MS)
        for a in ("ec.polnac.gye", "co.polfa.ctg")
    )


def test_work_counts_only_what_is_not_held() -> None:
    gye, ctg = two_members()
    chain = heavy_chain(gye, ctg, ME, entries=3, name="ccp.work")
    push = read_push(chain, AgencyId(ME))
    assert push.work(Held(version=None, signed=None)) == 150
    held = parse_membership(chain[47])
    assert push.work(Held(version=48, signed=held.signed)) == 6  # versions 49 and 50
    assert push.work(Held(version=48, signed=b"another")) == 9  # a fork at 48 is checked too
    with pytest.raises(InputError) as too_large:
        read_push(heavy_chain(gye, ctg, ME, entries=5, name="ccp.big"), AgencyId(ME))
    assert too_large.value.reason == ReasonCode.TOO_LARGE
    with pytest.raises(TrustError) as stranger:
        read_push(chain, AgencyId("pa.senan.pty"))
    assert stranger.value.reason == ReasonCode.NOT_A_RECIPIENT


def test_refusals_are_remembered_by_bytes_and_state_and_forgotten() -> None:
    gye, ctg = two_members()
    push = read_push(heavy_chain(gye, ctg, ME, entries=2, name="ccp.mem"), AgencyId(ME))
    memory = RefusedChains(capacity=2)
    nothing = Held(version=None, signed=None)
    key = memory.key(push, nothing, 7)
    memory.remember(key, TrustError(ReasonCode.MEMBERSHIP_EXPIRED, "expired"), now_ms=0)
    memory.remember(memory.key(push, nothing, 8), TrustError(ReasonCode.BUSY, "busy"), now_ms=0)
    with pytest.raises(TrustError) as recalled:
        memory.recall(key, now_ms=1)
    assert recalled.value.reason == ReasonCode.MEMBERSHIP_EXPIRED
    memory.recall(memory.key(push, nothing, 8), now_ms=1)  # busy says nothing of the bytes
    memory.recall(memory.key(push, Held(version=3, signed=b"x"), 7), now_ms=1)  # another state
    memory.recall(key, now_ms=10 * 60 * 1000)  # aged out
    memory.recall(key, now_ms=1)  # and gone
