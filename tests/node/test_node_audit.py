"""The audit log on real nodes, both engines: every kind of entry, proofs, heads, and attacks.

A notice goes from Cartagena to Algeciras (the engine of the run) and is
read there; a block is set. Each node's log then holds exactly the entries
spec chapter 11 lists, appended in the units that stored what they are
about. An auditor exports Algeciras' bundle for the delivered notice and
checks it offline with ``baliza audit verify``. The attacks are an intruder
with the database: a leaf rewritten in place (the bundle no longer
verifies), and the whole log rebuilt around a changed entry (its new head is
not consistent with the head it signed before). Concurrent units, on
PostgreSQL across connections, append one after the other into one tree.
"""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path

import pytest
from loopback_support import wait_for
from node_harness import Cluster, TestNode
from notice_json import seizure
from sqlalchemy import Connection, delete, select, update

from baliza.crypto.audit import verify_bundle, verify_tree_head
from baliza.node.cli.main import main
from baliza.node.services.audit import HeadSigner, LogState, export_bundle, sign_head
from baliza.node.storage import Database
from baliza.node.storage.models import AuditLeafRow, AuditNodeRow, AuditStateRow, table_of
from baliza.node.storage.sql import audit as audit_rows
from baliza.protocol import merkle
from baliza.protocol.audit import AuditEntry, EntryKind, InclusionBundle, content_digest
from baliza.protocol.errors import ReasonCode, TrustError
from baliza.protocol.ids import AgencyId

ALG = "es.aduanas.alg"
CTG = "co.polfa.ctg"


@pytest.fixture
async def pair(cluster: Cluster, database_engine: str) -> tuple[TestNode, TestNode]:
    alg, ctg = await cluster([ALG, CTG], [database_engine, "sqlite"])
    return alg, ctg


def _all_entries(connection: Connection) -> list[AuditEntry]:
    size, _ = audit_rows.size_and_root(connection)
    out = []
    for i in range(size):
        entry = audit_rows.entry_at(connection, i)
        assert entry is not None
        out.append(entry)
    return out


async def entries(node: TestNode) -> list[AuditEntry]:
    return await node.ctx.db.run(_all_entries, write=False)


async def kinds_about(node: TestNode, subject: str) -> list[tuple[EntryKind, str | None]]:
    return [(e.kind, e.peer) for e in await entries(node) if e.subject == subject]


async def deliver_and_read(alg: TestNode, ctg: TestNode) -> str:
    answer = await ctg.api("publisher").post(
        "/api/v1/notices", {"notice": seizure(CTG), "recipients": [ALG]}
    )
    eid = str(answer["id"])

    async def arrived() -> bool:
        return (EntryKind.ENVELOPE_RECEIVED, CTG) in await kinds_about(alg, eid)

    await wait_for(arrived)
    await alg.api("analyst").post(f"/api/v1/notices/{eid}/read", {})

    async def receipt_back() -> bool:
        return (EntryKind.RECEIPT_RECEIVED, ALG) in await kinds_about(ctg, eid)

    await wait_for(receipt_back)
    return eid


async def test_every_kind_of_entry_is_logged_with_hashes_never_content(
    pair: tuple[TestNode, TestNode],
) -> None:
    alg, ctg = pair
    eid = await deliver_and_read(alg, ctg)
    await alg.api("admin").post(f"/api/v1/admin/peers/{CTG}/block", {"reason": "audit test"})

    # Cartagena: sealed it, and accepted Algeciras' read receipt about it.
    assert await kinds_about(ctg, eid) == [
        (EntryKind.ENVELOPE_SENT, None),
        (EntryKind.RECEIPT_RECEIVED, ALG),
    ]
    # Algeciras: received it from Cartagena, and a person read it.
    assert await kinds_about(alg, eid) == [
        (EntryKind.ENVELOPE_RECEIVED, CTG),
        (EntryKind.READ, CTG),
    ]
    logged = await entries(alg)
    # The read receipt envelope Algeciras sealed is logged as sent, and every
    # trust change (the directory applied when the federation was founded, the block).
    assert any(e.kind is EntryKind.ENVELOPE_SENT for e in logged)
    trust = [e.subject for e in logged if e.kind is EntryKind.TRUST]
    assert "directory.applied" in trust and trust[-1] == "peer.block"
    # The received entry's digest is the hash of the exact bytes stored as evidence.
    raw = await alg.api("analyst").get_bytes(f"/api/v1/notices/{eid}/envelope")
    received = next(e for e in logged if e.kind is EntryKind.ENVELOPE_RECEIVED and e.subject == eid)
    assert received.digest == content_digest(raw)
    # Leaves hold identifiers and digests only: no byte of the notice is in the log.
    rows = await alg.ctx.db.run(
        lambda c: c.execute(select(table_of(AuditLeafRow))).all(), write=False
    )
    assert "Holdalls" not in repr(rows) and "MSCU1234566" not in repr(rows)
    # The tree over those leaves is RFC 9162's, as the node's frontier says.
    size, root = await alg.ctx.db.run(audit_rows.size_and_root, write=False)
    assert size == len(logged)
    assert root == merkle.root_of([merkle.leaf_hash(e.to_bytes()) for e in logged])


async def test_a_delivered_notice_is_proven_in_the_recipients_log_offline(
    pair: tuple[TestNode, TestNode], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alg, ctg = pair
    eid = await deliver_and_read(alg, ctg)
    data = await alg.api("admin").get_bytes(
        f"/api/v1/admin/audit/entries/{eid}/bundle?kind=envelope.received"
    )
    bundle = tmp_path / "bundle.bin"
    bundle.write_bytes(data)
    fingerprint = alg.keys.public().fingerprint()
    assert main(["audit", "verify", str(bundle), "--fingerprint", fingerprint]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"YES: envelope.received {eid} peer {CTG}")
    assert "its SHA-256 is the entry's digest" in out
    # Another agency's fingerprint: no.
    assert main(["audit", "verify", str(bundle), "--fingerprint", "00" * 20]) == 1
    assert capsys.readouterr().out.startswith("NO: signed by the key with fingerprint")
    # The head in the bundle is also the newest head Algeciras lists.
    heads = await alg.api("admin").get("/api/v1/admin/audit/heads", {})
    parsed = InclusionBundle.from_bytes(data)
    assert heads["heads"][0]["signed_head"] == parsed.head.hex()
    # A bundle that lies about its content is refused.
    lie = InclusionBundle(
        head=parsed.head,
        entry=parsed.entry,
        index=parsed.index,
        proof=parsed.proof,
        keys=parsed.keys,
        content=b"another envelope",
    )
    bundle.write_bytes(lie.to_bytes())
    assert main(["audit", "verify", str(bundle)]) == 1
    assert capsys.readouterr().out.startswith("NO: audit_proof_failed")


def _rewrite_leaf(connection: Connection, index: int, digest: bytes) -> None:
    leaves = table_of(AuditLeafRow)
    connection.execute(update(leaves).where(leaves.c.idx == index).values(digest=digest))


def _rebuild(connection: Connection) -> None:
    """An intruder recomputes every cached hash and the frontier from the leaves as they are now."""
    found = _all_entries(connection)
    connection.execute(delete(table_of(AuditNodeRow)))
    leaves = table_of(AuditLeafRow)
    hashes = [merkle.leaf_hash(e.to_bytes()) for e in found]
    for index, leaf in enumerate(hashes):
        connection.execute(update(leaves).where(leaves.c.idx == index).values(hash=leaf))
    size, frontier, completed = merkle.append(0, [], hashes)
    for t, h in completed:
        if t.level >= audit_rows.KEPT_FROM:
            connection.execute(
                table_of(AuditNodeRow).insert(), {"level": t.level, "idx": t.index, "hash": h}
            )
    connection.execute(
        update(table_of(AuditStateRow)).values(size=size, frontier=b"".join(frontier))
    )


async def test_an_intruder_rewriting_the_log_is_caught_by_the_heads_it_signed(
    pair: tuple[TestNode, TestNode],
) -> None:
    alg, ctg = pair
    eid = await deliver_and_read(alg, ctg)
    before = await export_bundle(alg.ctx, eid, kind=EntryKind.ENVELOPE_RECEIVED)
    first = verify_bundle(before)
    # The intruder swaps the received envelope's digest (as if other bytes had arrived).
    forged = content_digest(b"a different envelope")
    await alg.ctx.db.run(partial(_rewrite_leaf, index=first.index, digest=forged), write=True)
    # In place, the cached tree still holds the true leaf: the proof cannot lead to the head.
    tampered = await export_bundle(alg.ctx, eid, kind=EntryKind.ENVELOPE_RECEIVED)
    with pytest.raises(TrustError) as info:
        verify_bundle(tampered)
    assert info.value.reason is ReasonCode.AUDIT_PROOF_FAILED
    # Rebuilt whole, the log verifies against a new head, but that head does not
    # extend the one the node signed before: whoever kept the old head sees it.
    await alg.ctx.db.run(_rebuild, write=True)
    new_head = await sign_head(alg.ctx, force=True)
    assert new_head is not None
    public = alg.keys.public()
    new = verify_tree_head(public, new_head)
    old = first.head
    proof = await alg.ctx.db.run(
        partial(audit_rows.consistency_proof, old=old.size, new=new.size), write=False
    )
    with pytest.raises(TrustError) as info:
        merkle.verify_consistency(old.size, new.size, old.root, new.root, proof)
    assert info.value.reason is ReasonCode.AUDIT_PROOF_FAILED
    # The auditor's bundle from before the rewrite still proves what was received.
    assert verify_bundle(before).entry.digest != forged


def _entry(n: int) -> AuditEntry:
    return AuditEntry(
        kind=EntryKind.TRUST,
        at_ms=1_700_000_000_000 + n,
        subject=f"test.{n}",
        peer=AgencyId(CTG) if n % 2 else None,
        digest=content_digest(str(n).encode()),
    )


async def test_concurrent_units_append_into_one_tree(database: Database) -> None:
    async def unit(batch: int) -> None:
        entries = [_entry(batch * 10 + i) for i in range(1 + batch % 4)]
        await database.run(partial(audit_rows.append, entries=entries), write=True)

    await asyncio.gather(*(unit(b) for b in range(24)))
    found = await database.run(_all_entries, write=False)
    assert sorted(e.subject for e in found) == sorted(
        f"test.{b * 10 + i}" for b in range(24) for i in range(1 + b % 4)
    )
    size, root = await database.run(audit_rows.size_and_root, write=False)
    hashes = [merkle.leaf_hash(e.to_bytes()) for e in found]
    assert size == len(found) and root == merkle.root_of(hashes)
    for index in range(size):
        proof = await database.run(
            partial(audit_rows.inclusion_proof, index=index, size=size), write=False
        )
        merkle.verify_inclusion(hashes[index], index, size, proof, root)
    for old in range(1, size):
        proof = await database.run(
            partial(audit_rows.consistency_proof, old=old, new=size), write=False
        )
        merkle.verify_consistency(old, size, merkle.root_of(hashes[:old]), root, proof)
    # Proofs at every earlier size too: the last block of 16 leaves is partial in most.
    for earlier in range(1, size):
        expected = merkle.root_of(hashes[:earlier])
        assert await database.run(partial(audit_rows.root_at, size=earlier), write=False) == (
            expected
        )
        for index in {0, earlier // 3, earlier - 1}:
            proof = await database.run(
                partial(audit_rows.inclusion_proof, index=index, size=earlier), write=False
            )
            merkle.verify_inclusion(hashes[index], index, earlier, proof, expected)
    # What is stored: the subtrees of 16 leaves and more, exactly; the rest is recomputed.
    kept = await database.run(_kept_rows, write=False)
    _, _, completed = merkle.append(0, [], hashes)
    assert kept == {t: h for t, h in completed if t.level >= audit_rows.KEPT_FROM}
    assert len(kept) < size // 8 + 1


async def test_one_statement_reads_the_same_entry_root_and_proofs_as_three(
    database: Database,
) -> None:
    # ``inclusion`` and ``consistency`` read entry, roots and proof in one
    # statement; they must hand back exactly what the separate reads do, at
    # every size (a partial last block in most) and for leaves in either block.
    entries = [_entry(n) for n in range(53)]
    for start in range(0, len(entries), 7):
        await database.run(
            partial(audit_rows.append, entries=entries[start : start + 7]), write=True
        )
    hashes = [merkle.leaf_hash(e.to_bytes()) for e in entries]

    def both(
        connection: Connection, index: int, size: int
    ) -> tuple[
        tuple[AuditEntry, bytes, list[bytes]] | None, tuple[AuditEntry | None, bytes, list[bytes]]
    ]:
        one = audit_rows.inclusion(connection, index, size)
        three = (
            audit_rows.entry_at(connection, index),
            audit_rows.root_at(connection, size),
            audit_rows.inclusion_proof(connection, index, size),
        )
        return one, three

    for size in range(1, len(entries) + 1):
        for index in sorted({0, size // 2, size - 1, min(17, size - 1)}):
            one, three = await database.run(partial(both, index=index, size=size), write=False)
            assert one == three
            assert one is not None and one[0] == entries[index]
            assert one[1] == merkle.root_of(hashes[:size])
        for old in sorted({0, 1, size // 2, size - 1, size}):
            old_root, new_root, proof = await database.run(
                partial(audit_rows.consistency, old=old, new=size), write=False
            )
            assert old_root == merkle.root_of(hashes[:old])
            assert new_root == merkle.root_of(hashes[:size])
            assert proof == await database.run(
                partial(audit_rows.consistency_proof, old=old, new=size), write=False
            )
            merkle.verify_consistency(old, size, old_root, new_root, proof)
    # A leaf the log does not hold: no entry, rather than a proof of nothing.
    beyond = len(entries)
    assert (
        await database.run(
            partial(audit_rows.inclusion, index=beyond, size=beyond + 1), write=False
        )
        is None
    )


def _kept_rows(connection: Connection) -> dict[merkle.Subtree, bytes]:
    nodes = table_of(AuditNodeRow)
    rows = connection.execute(select(nodes.c.level, nodes.c.idx, nodes.c.hash))
    return {merkle.Subtree(int(lv), int(ix)): bytes(h) for lv, ix, h in rows}


def test_a_head_is_due_every_n_entries_or_after_the_interval() -> None:
    signer = HeadSigner.__new__(HeadSigner)
    signer._every, signer._interval_ms = 10, 1000

    def state(size: int, head_size: int | None, head_ms: int | None) -> LogState:
        return LogState(size=size, root=merkle.EMPTY_ROOT, head_size=head_size, head_ms=head_ms)

    assert signer.due(state(0, None, None), 0)  # the first head, even of an empty log
    assert not signer.due(state(5, 5, 0), 10_000)  # nothing new
    assert not signer.due(state(9, 0, 0), 999)
    assert signer.due(state(10, 0, 0), 999)  # every 10 entries
    assert signer.due(state(1, 0, 0), 1000)  # or a second after the last head
