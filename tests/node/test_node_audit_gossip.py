"""Heads passed on between members (spec 11 §5), three real nodes, both engines.

Algeciras equivocates: Cartagena holds its genuine head, then an intruder
rewrites Algeciras' log and has it sign the same size again, and Guayaquil
takes that second head. Neither asks the other about Algeciras, yet each
catches it from the heads the other passes on: Guayaquil by asking
Cartagena directly, Cartagena after an ordinary push to Guayaquil. A head
passed on that its claimed signer did not sign is refused, kept nowhere and
raises no alarm.
"""

from __future__ import annotations

from functools import partial

import pytest
from loopback_support import wait_for
from node_harness import Cluster, TestNode
from sqlalchemy import Connection
from test_node_audit import _rebuild, _rewrite_leaf
from test_node_audit_peers import (
    _forget_heads_from,
    alarms_of,
    deliver,
    held,
    served,
    settled,
    signer,
)

from baliza.crypto import AgencyKeys, Suite
from baliza.crypto.audit import sign_tree_head
from baliza.node.core.clock import now_ms
from baliza.node.services.audit_peers import check_peer_head, gossip_from, held_heads
from baliza.node.storage.sql import audit as audit_rows
from baliza.protocol.audit import SignedTreeHead, TreeHead, content_digest
from baliza.protocol.errors import ReasonCode

ALG = "es.aduanas.alg"
CTG = "co.polfa.ctg"
GYE = "ec.polnac.gye"


@pytest.fixture
async def trio(cluster: Cluster, database_engine: str) -> tuple[TestNode, TestNode, TestNode]:
    alg, ctg, gye = await cluster(
        [ALG, CTG, GYE], database_engine, audit_head_every=1, audit_peer_check_ms=0
    )
    return alg, ctg, gye


async def equivocate(alg: TestNode, ctg: TestNode, gye: TestNode) -> tuple[bytes, bytes]:
    """Cartagena takes Algeciras' genuine head, Guayaquil a second one of the same size."""
    await deliver(ctg, alg)
    size = await settled(alg)
    genuine = await check_peer_head(ctg.ctx, ctg.delivery.session, alg.peer)
    assert genuine.size == size
    forged = content_digest(b"another envelope")
    await alg.ctx.db.run(partial(_rewrite_leaf, index=0, digest=forged), write=True)
    await alg.ctx.db.run(_rebuild, write=True)
    await alg.ctx.db.run(partial(_forget_heads_from, size=size), write=True)
    await served(alg, size, not_root=genuine.root)
    second = await check_peer_head(gye.ctx, gye.delivery.session, alg.peer)
    assert second.size == size and second.root != genuine.root
    return genuine.root, second.root


async def test_an_equivocation_to_two_partners_is_caught_from_the_heads_they_pass_on(
    trio: tuple[TestNode, TestNode, TestNode],
) -> None:
    alg, ctg, gye = trio
    genuine, second = await equivocate(alg, ctg, gye)
    # Each holds one of Algeciras' two heads, accepted, and no alarm yet.
    assert not await alarms_of(ctg) and not await alarms_of(gye)
    # What Cartagena passes on to Guayaquil: its head of Algeciras' log, as signed.
    passed = await held_heads(ctg.ctx, caller=GYE)
    logs = {str(SignedTreeHead.from_bytes(h).head.log): h for h in passed.heads}
    assert SignedTreeHead.from_bytes(logs[ALG]).head.root == genuine
    assert GYE not in logs  # not the caller's own head
    # Guayaquil asks Cartagena (never Algeciras) and catches the equivocation.
    results = await gossip_from(gye.ctx, gye.delivery.session, ctg.peer)
    assert [(r.log, r.refused) for r in results if r.log == ALG] == [
        (ALG, ReasonCode.AUDIT_EQUIVOCATION)
    ]
    (alarm,) = await alarms_of(gye)
    assert alarm["subject"] == ALG and alarm["reason"] == "audit_equivocation"
    assert (alarm["held_root"], alarm["offered_root"]) == (second.hex(), genuine.hex())
    kept = await held(gye, ALG)
    assert {(h["root"], h["accepted"]) for h in kept} == {
        (second.hex(), True),
        (genuine.hex(), False),
    }
    # Cartagena catches it too, with nothing but an ordinary push to Guayaquil:
    # after the push it checks Guayaquil's head and the heads Guayaquil holds.
    await deliver(ctg, gye)

    async def raised() -> bool:
        return bool(await alarms_of(ctg))

    await wait_for(raised, what="Cartagena's alarm about Algeciras")
    (alarm,) = await alarms_of(ctg)
    assert alarm["subject"] == ALG and alarm["reason"] == "audit_equivocation"


def _plant(connection: Connection, signed: SignedTreeHead) -> None:
    """An intruder at Cartagena plants a head among those it passes on."""
    audit_rows.keep_peer_head(
        connection,
        peer=signed.head.log,
        size=signed.head.size,
        root=signed.head.root,
        at_ms=signed.head.at_ms,
        seen_ms=now_ms(),
        accepted=True,
        signed=signed.to_bytes(),
    )


async def test_a_head_passed_on_that_its_signer_did_not_sign_is_refused(
    trio: tuple[TestNode, TestNode, TestNode],
) -> None:
    alg, ctg, gye = trio
    await deliver(ctg, alg)
    size = await settled(alg)
    genuine = signer(alg).latest
    assert genuine is not None
    held_before = await check_peer_head(gye.ctx, gye.delivery.session, alg.peer)
    impostor = AgencyKeys.generate(
        alg.agency,
        Suite.HYBRID,
        valid_from_ms=alg.keys.public().valid_from_ms,
        valid_until_ms=alg.keys.public().valid_until_ms,
    )
    lie = TreeHead(log=alg.agency, size=size + 5, root=b"\x02" * 32, at_ms=genuine.head.at_ms)
    await ctg.ctx.db.run(partial(_plant, signed=sign_tree_head(impostor, lie)), write=True)
    results = await gossip_from(gye.ctx, gye.delivery.session, ctg.peer)
    refused = [r.refused for r in results if r.log == ALG]
    assert refused and all(
        r in (ReasonCode.KEY_ID_MISMATCH, ReasonCode.UNKNOWN_KEY, ReasonCode.BAD_SIGNATURE)
        for r in refused
    )
    # Kept nowhere, no alarm: a head its signer did not sign is nobody's evidence.
    assert not await alarms_of(gye)
    assert {int(str(h["size"])) for h in await held(gye, ALG)} == {held_before.size}
