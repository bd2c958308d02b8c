"""Signed tree heads between real nodes, both engines: exchanged, checked, and attacked.

Cartagena delivers notices to Algeciras and, after its pushes, checks
Algeciras' signed head against the one it holds (spec chapter 11 §6). The
attacks are Algeciras' database in an intruder's hands (or restored from a
backup): its log rebuilt around a changed entry and signed again at the same
size (equivocation), rebuilt and grown (a consistency proof that fails),
truncated (rollback); and a head whose signature is forged. Each is refused
by Cartagena, kept as evidence and raised as an alarm. A sender's request
for an inclusion proof of the envelope it delivered is answered and
verified; a third agency asking about it learns nothing.
"""

from __future__ import annotations

from functools import partial

import aiohttp
import pytest
from loopback_support import wait_for
from node_harness import Cluster, TestNode
from notice_json import seizure
from sqlalchemy import Connection, delete, update
from test_node_audit import _rebuild, _rewrite_leaf

from baliza.crypto import AgencyKeys, Suite
from baliza.crypto.audit import sign_tree_head, verify_tree_head
from baliza.node.core.clock import now_ms
from baliza.node.http.appkeys import AUDIT_HEADS
from baliza.node.services.audit import HeadSigner, sign_head
from baliza.node.services.audit_peers import (
    EQUIVOCATION_EVENT,
    EQUIVOCATION_METRIC,
    check_peer_head,
    peer_heads,
    prove_delivered,
)
from baliza.node.services.fedclient import fetch_inclusion
from baliza.node.storage.models import AuditHeadRow, AuditLeafRow, AuditStateRow, table_of
from baliza.node.storage.sql import audit as audit_rows
from baliza.node.storage.sql import envelopes as envelope_rows
from baliza.node.storage.sql import trust as trust_rows
from baliza.protocol.audit import EntryKind, SignedTreeHead, TreeHead, content_digest
from baliza.protocol.errors import BalizaError, ReasonCode, TransportError, TrustError

ALG = "es.aduanas.alg"
CTG = "co.polfa.ctg"
GYE = "ec.polnac.gye"


@pytest.fixture
async def trio(cluster: Cluster, database_engine: str) -> tuple[TestNode, TestNode, TestNode]:
    # A head after every entry, and a check of the peer's head after every push.
    alg, ctg, gye = await cluster(
        [ALG, CTG, GYE], database_engine, audit_head_every=1, audit_peer_check_ms=0
    )
    return alg, ctg, gye


def signer(node: TestNode) -> HeadSigner:
    assert node.runner is not None
    return node.runner.app[AUDIT_HEADS]


async def deliver(sender: TestNode, recipient: TestNode) -> str:
    answer = await sender.api("publisher").post(
        "/api/v1/notices", {"notice": seizure(sender.agency), "recipients": [recipient.agency]}
    )
    eid = str(answer["id"])

    async def delivered() -> bool:
        got = await recipient.ctx.db.run(
            partial(envelope_rows.received_raw, sender=sender.agency, ids=[eid]), write=False
        )
        return eid in got

    await wait_for(delivered)
    return eid


async def held(node: TestNode, peer: str) -> list[dict[str, object]]:
    return [h for h in await peer_heads(node.ctx) if h["peer"] == peer]


async def served(node: TestNode, size: int, *, not_root: bytes = b"") -> None:
    """Wait until ``node`` serves a head of ``size`` it signed (its signer refreshed)."""

    async def fresh() -> bool:
        latest = signer(node).latest
        return latest is not None and latest.head.size == size and latest.head.root != not_root

    await wait_for(fresh, what=f"{node.agency} serving a head of size {size}")


async def settled(node: TestNode) -> int:
    """Sign a head of the log as it is now and wait until it is served; its size."""
    await sign_head(node.ctx)
    size, _ = await node.ctx.db.run(audit_rows.size_and_root, write=False)
    await served(node, size)
    return size


def _forget_heads_from(connection: Connection, size: int) -> None:
    """The intruder covers its traces: the heads the node signed from ``size`` on go."""
    heads = table_of(AuditHeadRow)
    connection.execute(delete(heads).where(heads.c.size >= size))


def _truncate(connection: Connection, size: int) -> None:
    """A restored backup, or an intruder: every leaf from ``size`` on is gone."""
    leaves = table_of(AuditLeafRow)
    connection.execute(delete(leaves).where(leaves.c.idx >= size))
    connection.execute(update(table_of(AuditStateRow)).values(size=size))
    _rebuild(connection)  # the tree and frontier of the leaves left
    _forget_heads_from(connection, size)


async def alarms_of(node: TestNode) -> list[dict[str, object]]:
    events = await node.ctx.db.run(
        partial(trust_rows.events_of, action=EQUIVOCATION_EVENT, limit=20), write=False
    )
    return [{"subject": e.subject, **e.detail} for e in events]


async def test_heads_travel_with_pushes_and_each_new_one_extends_the_last(
    trio: tuple[TestNode, TestNode, TestNode],
) -> None:
    alg, ctg, _ = trio
    await deliver(ctg, alg)

    async def holds_a_head() -> bool:
        return bool(await held(ctg, ALG))

    await wait_for(holds_a_head)
    first = (await held(ctg, ALG))[0]
    assert first["accepted"] is True
    # Algeciras' log grows (a block is a trust change); Cartagena's next push
    # brings its newer head, kept only once its consistency proof verified.
    await alg.api("admin").post(f"/api/v1/admin/peers/{GYE}/block", {"reason": "audit test"})
    size = await settled(alg)
    assert size > int(str(first["size"]))
    await deliver(ctg, alg)

    async def holds_newer() -> bool:
        heads = await held(ctg, ALG)
        return bool(heads) and int(str(heads[0]["size"])) >= size

    await wait_for(holds_newer)
    heads = await held(ctg, ALG)
    assert all(h["accepted"] for h in heads)
    assert await alarms_of(ctg) == []
    # What Cartagena keeps is what Algeciras signed.
    newest = SignedTreeHead.from_bytes(bytes.fromhex(str(heads[0]["signed_head"])))
    verify_tree_head(alg.keys.public(), newest)


async def test_two_heads_of_the_same_size_from_one_node_raise_an_equivocation_alarm(
    trio: tuple[TestNode, TestNode, TestNode],
) -> None:
    alg, ctg, _ = trio
    await deliver(ctg, alg)
    size = await settled(alg)
    session = ctg.delivery.session
    genuine = await check_peer_head(ctg.ctx, session, alg.peer)
    assert genuine.size == size
    # The intruder swaps a leaf, rebuilds the tree and has the node sign its
    # log again: same size, another root, a valid signature.
    forged = content_digest(b"another envelope")
    await alg.ctx.db.run(partial(_rewrite_leaf, index=0, digest=forged), write=True)
    await alg.ctx.db.run(_rebuild, write=True)
    await alg.ctx.db.run(partial(_forget_heads_from, size=size), write=True)
    await served(alg, size, not_root=genuine.root)
    second = signer(alg).latest
    assert second is not None and second.head.root != genuine.root

    with pytest.raises(TrustError) as info:
        await check_peer_head(ctg.ctx, session, alg.peer)
    assert info.value.reason is ReasonCode.AUDIT_EQUIVOCATION
    # Both signed heads are kept as evidence, each verifying under Algeciras' key.
    (alarm,) = await alarms_of(ctg)
    assert alarm["subject"] == ALG and alarm["reason"] == "audit_equivocation"
    for name in ("held_signed_head", "offered_signed_head"):
        evidence = SignedTreeHead.from_bytes(bytes.fromhex(str(alarm[name])))
        assert verify_tree_head(alg.keys.public(), evidence).size == size
    kept = await held(ctg, ALG)
    assert {(h["root"], h["accepted"]) for h in kept if h["size"] == size} == {
        (genuine.root.hex(), True),
        (second.head.root.hex(), False),
    }
    # Raised to the administrators: the status endpoint and the metrics.
    status = await ctg.api("admin").get("/api/v1/status", {})
    assert [(a["peer"], a["reason"]) for a in status["audit_alarms"]] == [
        (ALG, "audit_equivocation")
    ]
    assert ctg.ctx.metrics[EQUIVOCATION_METRIC] == 1
    # The held head is not replaced: asked again, the same refusal, one alarm.
    with pytest.raises(TrustError):
        await check_peer_head(ctg.ctx, session, alg.peer)
    assert len(await alarms_of(ctg)) == 1
    # The log grows on the rewritten tree: its consistency proof from the
    # genuine head fails, which is equivocation too.
    await alg.api("admin").post(f"/api/v1/admin/peers/{GYE}/block", {"reason": "audit test"})
    await served(alg, size + 1)
    with pytest.raises(TrustError) as info:
        await check_peer_head(ctg.ctx, session, alg.peer)
    assert info.value.reason is ReasonCode.AUDIT_EQUIVOCATION
    assert "does not extend" in info.value.detail
    assert len(await alarms_of(ctg)) == 2


async def test_a_rolled_back_log_is_detected_by_its_peers_from_the_newer_head_they_hold(
    trio: tuple[TestNode, TestNode, TestNode],
) -> None:
    alg, ctg, _ = trio
    await deliver(ctg, alg)
    await deliver(ctg, alg)
    size = await settled(alg)
    session = ctg.delivery.session
    assert (await check_peer_head(ctg.ctx, session, alg.peer)).size == size
    # Algeciras' log loses its last two entries (a backup restored); it signs again.
    await alg.ctx.db.run(partial(_truncate, size=size - 2), write=True)
    await served(alg, size - 2)
    with pytest.raises(TrustError) as info:
        await check_peer_head(ctg.ctx, session, alg.peer)
    assert info.value.reason is ReasonCode.AUDIT_ROLLBACK
    (alarm,) = await alarms_of(ctg)
    assert (alarm["held_size"], alarm["offered_size"]) == (size, size - 2)
    status = await ctg.api("admin").get("/api/v1/status", {})
    assert status["audit_alarms"][0]["reason"] == "audit_rollback"
    # Cartagena still holds the newer head: the rolled-back log has to catch up
    # and prove it extends it, which it cannot.
    assert max(int(str(h["size"])) for h in await held(ctg, ALG) if h["accepted"]) == size


async def test_a_head_with_a_forged_signature_is_refused_and_kept_nowhere(
    trio: tuple[TestNode, TestNode, TestNode],
) -> None:
    alg, ctg, _ = trio
    await deliver(ctg, alg)
    size = await settled(alg)
    genuine = signer(alg).latest
    assert genuine is not None
    session = ctg.delivery.session
    # An impostor's key set for Algeciras' agency signs another root.
    impostor = AgencyKeys.generate(
        alg.agency,
        Suite.HYBRID,
        valid_from_ms=alg.keys.public().valid_from_ms,
        valid_until_ms=alg.keys.public().valid_until_ms,
    )
    other = TreeHead(log=alg.agency, size=size, root=b"\x01" * 32, at_ms=genuine.head.at_ms)
    with pytest.raises(TrustError) as info:
        await check_peer_head(ctg.ctx, session, alg.peer, sign_tree_head(impostor, other))
    assert info.value.reason in (ReasonCode.KEY_ID_MISMATCH, ReasonCode.UNKNOWN_KEY)
    # Algeciras' key id on the other root, its genuine signature bytes: the signature fails.
    borrowed = SignedTreeHead(signed=other.to_bytes(), key_id=genuine.key_id, sigs=genuine.sigs)
    with pytest.raises(TrustError) as info:
        await check_peer_head(ctg.ctx, session, alg.peer, borrowed)
    assert info.value.reason is ReasonCode.BAD_SIGNATURE
    # A head of another agency's log offered as Algeciras'.
    with pytest.raises(TrustError):
        await check_peer_head(
            ctg.ctx,
            session,
            alg.peer,
            sign_tree_head(
                ctg.keys,
                TreeHead(log=ctg.agency, size=1, root=b"\x02" * 32, at_ms=genuine.head.at_ms),
            ),
        )
    # Nothing was kept and no alarm raised: a forged head is nobody's evidence.
    forged_roots = {(b"\x01" * 32).hex(), (b"\x02" * 32).hex()}
    assert not [h for h in await held(ctg, ALG) if h["root"] in forged_roots]
    assert await alarms_of(ctg) == []
    # The genuine head is still taken.
    assert (await check_peer_head(ctg.ctx, session, alg.peer)).root == genuine.head.root


async def test_a_sender_verifies_the_recipients_inclusion_proof_of_its_envelope(
    trio: tuple[TestNode, TestNode, TestNode],
) -> None:
    alg, ctg, gye = trio
    eid = await deliver(ctg, alg)
    session = ctg.delivery.session
    proven = await prove_delivered(ctg.ctx, session, alg.peer, eid)
    sent = await ctg.ctx.db.run(
        partial(envelope_rows.sent_raw_or_none, envelope_id=eid), write=False
    )
    assert sent is not None
    assert proven.entry.kind is EntryKind.ENVELOPE_RECEIVED and proven.entry.peer == CTG
    assert proven.entry.digest == content_digest(sent)
    assert proven.index < proven.head.size
    # The head of the proof is now one Cartagena holds from Algeciras.
    assert any(h["root"] == proven.head.root.hex() for h in await held(ctg, ALG))
    # A third member asking about the envelope learns nothing, not even that it exists.
    with pytest.raises(TransportError) as refused:
        await fetch_inclusion(gye.delivery.session, gye.ctx.signing_keys(), alg.peer, eid)
    assert "not_found" in refused.value.detail
    # Algeciras rewrites the entry in place: the sender's check fails.
    index = proven.index
    await alg.ctx.db.run(
        partial(_rewrite_leaf, index=index, digest=content_digest(b"x")), write=True
    )
    with pytest.raises(TrustError) as info:
        await prove_delivered(ctg.ctx, session, alg.peer, eid)
    assert info.value.reason is ReasonCode.AUDIT_PROOF_FAILED


async def test_audit_routes_answer_members_only(
    trio: tuple[TestNode, TestNode, TestNode],
) -> None:
    alg, _, _ = trio
    async with aiohttp.ClientSession() as plain:
        for path in (
            "/fed/v1/audit/head",
            "/fed/v1/audit/consistency?first=0&second=1",
            f"/fed/v1/audit/inclusion?envelope={'0' * 26}",
        ):
            async with plain.get(alg.url + path) as resp:
                assert resp.status == 401, path
                body = await resp.json()
                assert body["error"]["reason"] in ("unauthenticated", "malformed"), body


async def test_an_administrator_hands_in_a_second_head_and_checks_a_delivery(
    trio: tuple[TestNode, TestNode, TestNode],
) -> None:
    alg, ctg, _ = trio
    eid = await deliver(ctg, alg)
    admin = ctg.api("admin")
    proof = await admin.get(f"/api/v1/admin/audit/delivered/{eid}", {"peer": ALG})
    assert proof["verified"] is True and proof["index"] < proof["size"]
    held_now = await admin.post(f"/api/v1/admin/audit/peers/{ALG}/check", {})
    # A second head of the same size, signed with Algeciras' own key, obtained
    # elsewhere (an auditor, another member) and handed in.
    second = sign_tree_head(
        alg.keys,
        TreeHead(log=alg.agency, size=int(held_now["size"]), root=b"\x03" * 32, at_ms=now_ms()),
    )
    with pytest.raises(TrustError) as info:
        await admin.post(
            f"/api/v1/admin/audit/peers/{ALG}/check", {"signed_head": second.to_bytes().hex()}
        )
    assert info.value.reason is ReasonCode.AUDIT_EQUIVOCATION
    listed = await admin.get("/api/v1/admin/audit/peers", {})
    assert [a["reason"] for a in listed["alarms"]] == ["audit_equivocation"]
    assert any(h["root"] == (b"\x03" * 32).hex() and not h["accepted"] for h in listed["heads"])
    # Only administrators may.
    with pytest.raises(BalizaError):
        await ctg.api("analyst").get("/api/v1/admin/audit/peers", {})


async def test_a_check_of_a_peer_that_is_down_says_so_and_keeps_nothing(
    trio: tuple[TestNode, TestNode, TestNode],
) -> None:
    alg, ctg, _ = trio
    before = await ctg.api("admin").get("/api/v1/admin/audit/peers", {})
    await alg.stop()
    found = await ctg.api("admin").post(f"/api/v1/admin/audit/peers/{ALG}/check", {})
    assert (found["checked"], found["reason"]) == (False, "peer_unreachable")
    after = await ctg.api("admin").get("/api/v1/admin/audit/peers", {})
    assert after == before and after["alarms"] == []
