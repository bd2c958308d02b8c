"""A notice's chain of custody on real nodes, both engines: the API, the console, and tampering.

Cartagena sends a notice to Algeciras (the engine of the run), which reads
it. Each node's ``GET /api/v1/notices/{id}/custody`` lists its own log's
entries about the notice, each proof checked here again, independently,
against the head the node signed (its signature checked with the keys the
directory vouches for). A leaf appended after the newest head shows as
awaiting one; a leaf an intruder rewrote in the database shows as not
verifying, in the API and on the console's notice page. The page shows the
section in the reader's language and offers the proofs as a download.
"""

from __future__ import annotations

import json
from functools import partial

import aiohttp
import pytest
from console_client import signed_in
from loopback_support import wait_for
from node_harness import Cluster, TestNode
from notice_json import seizure
from sqlalchemy import Connection, update

from baliza.crypto.audit import verify_tree_head
from baliza.node.services.audit import sign_head
from baliza.node.storage.models import AuditLeafRow, table_of
from baliza.node.storage.sql import audit as audit_rows
from baliza.protocol import merkle
from baliza.protocol.audit import AuditEntry, EntryKind, SignedTreeHead, content_digest
from baliza.protocol.errors import BalizaError, ReasonCode
from baliza.protocol.ids import AgencyId

ALG = "es.aduanas.alg"
CTG = "co.polfa.ctg"


@pytest.fixture
async def pair(cluster: Cluster, database_engine: str) -> tuple[TestNode, TestNode]:
    alg, ctg = await cluster([ALG, CTG], [database_engine, "sqlite"])
    return alg, ctg


def _kinds(connection: Connection, subject: str) -> list[tuple[EntryKind, str | None]]:
    return [(e.kind, e.peer) for _, e in audit_rows.entries_about(connection, subject)]


async def kinds(node: TestNode, subject: str) -> list[tuple[EntryKind, str | None]]:
    return await node.ctx.db.run(partial(_kinds, subject=subject), write=False)


async def deliver_and_read(alg: TestNode, ctg: TestNode) -> str:
    answer = await ctg.api("publisher").post(
        "/api/v1/notices", {"notice": seizure(CTG), "recipients": [ALG]}
    )
    eid = str(answer["id"])

    async def arrived() -> bool:
        return (EntryKind.ENVELOPE_RECEIVED, CTG) in await kinds(alg, eid)

    await wait_for(arrived)
    await alg.api("analyst").post(f"/api/v1/notices/{eid}/read", {})

    async def read_receipt_back() -> bool:
        return (EntryKind.RECEIPT_RECEIVED, ALG) in await kinds(ctg, eid)

    await wait_for(read_receipt_back)
    return eid


def check_independently(node: TestNode, chain: dict[str, object]) -> SignedTreeHead:
    """Check every proof of a custody answer again, from the wire form alone."""
    head_json = chain["head"]
    assert isinstance(head_json, dict)
    signed = SignedTreeHead.from_bytes(bytes.fromhex(head_json["signed_head"]))
    head = verify_tree_head(node.keys.public(), signed)
    assert (head.size, head.root.hex()) == (head_json["size"], head_json["root"])
    entries = chain["entries"]
    assert isinstance(entries, list)
    for e in entries:
        entry = AuditEntry(
            kind=EntryKind(e["kind"]),
            at_ms=e["at_ms"],
            subject=e["envelope_id"],
            peer=None if e["peer"] is None else AgencyId(e["peer"]),
            digest=bytes.fromhex(e["digest"]),
        )
        leaf = merkle.leaf_hash(entry.to_bytes())
        assert leaf.hex() == e["leaf_hash"]
        if e["index"] >= head.size:
            assert e["proof"] is None and e["verified"] is False  # awaiting the next head
            continue
        proof = [bytes.fromhex(p) for p in e["proof"]]
        merkle.verify_inclusion(leaf, e["index"], head.size, proof, head.root)
        assert e["verified"] is True
    return signed


def _rewrite(connection: Connection, subject: str, kind: EntryKind) -> None:
    leaves = table_of(AuditLeafRow)
    connection.execute(
        update(leaves)
        .where(leaves.c.subject == subject, leaves.c.kind == kind.value)
        .values(digest=content_digest(b"other bytes"))
    )


async def test_each_side_proves_its_chain_of_custody_of_a_delivered_notice(
    pair: tuple[TestNode, TestNode],
) -> None:
    alg, ctg = pair
    eid = await deliver_and_read(alg, ctg)
    # Before a head covers them, the entries are listed, awaiting one, never "verified".
    early = await ctg.api("analyst").get(f"/api/v1/notices/{eid}/custody", {})
    check_independently(ctg, early)
    for node in (alg, ctg):
        assert await sign_head(node.ctx) is not None
    sent = await ctg.api("analyst").get(f"/api/v1/notices/{eid}/custody", {})
    received = await alg.api("analyst").get(f"/api/v1/notices/{eid}/custody", {})
    for node, chain in ((ctg, sent), (alg, received)):
        check_independently(node, chain)
        assert chain["log"] == node.agency and chain["head"]["verified"] is True
        assert all(e["verified"] for e in chain["entries"])
        indices = [e["index"] for e in chain["entries"]]
        assert indices == sorted(indices)
    assert [(e["kind"], e["peer"]) for e in sent["entries"]] == [
        ("envelope.sent", None),
        ("receipt.received", ALG),  # the read receipt
    ]
    assert [(e["kind"], e["peer"]) for e in received["entries"]] == [
        ("envelope.received", CTG),
        ("read", CTG),
    ]
    # The bytes logged are the bytes each side holds.
    raw = await ctg.api("analyst").get_bytes(f"/api/v1/notices/{eid}/envelope")
    assert sent["entries"][0]["digest"] == content_digest(raw).hex()
    assert received["entries"][0]["digest"] == content_digest(raw).hex()


async def test_a_rewritten_entry_shows_as_not_verifying_in_the_api_and_the_console(
    pair: tuple[TestNode, TestNode],
) -> None:
    alg, ctg = pair
    eid = await deliver_and_read(alg, ctg)
    await sign_head(alg.ctx)
    # An intruder at Algeciras changes what the log says arrived.
    await alg.ctx.db.run(
        partial(_rewrite, subject=eid, kind=EntryKind.ENVELOPE_RECEIVED), write=True
    )
    chain = await alg.api("analyst").get(f"/api/v1/notices/{eid}/custody", {})
    by_kind = {e["kind"]: e for e in chain["entries"]}
    assert by_kind["envelope.received"]["verified"] is False
    assert by_kind["read"]["verified"] is True  # the others still prove
    with pytest.raises(BalizaError):
        check_independently(alg, chain)
    client, _ = await signed_in(alg, "analyst")
    async with client:
        async with client.get(f"{alg.url}/console/notices/{eid}") as resp:
            page = await resp.text()
        assert resp.status == 200
        assert "Chain of custody" in page
        assert 'data-state="failed"' in page and "does not verify" in page
        assert 'data-state="verified"' in page
        async with client.get(f"{alg.url}/console/notices/{eid}/custody") as resp:
            assert resp.status == 200
            assert "attachment" in resp.headers["Content-Disposition"]
            downloaded = json.loads(await resp.text())
        assert downloaded["entries"] == chain["entries"]


async def test_the_console_shows_the_chain_in_the_readers_language(
    cluster: Cluster,
) -> None:
    alg, ctg = await cluster([ALG, CTG])
    eid = await deliver_and_read(alg, ctg)
    await sign_head(ctg.ctx)
    client, _ = await signed_in(ctg, "analyst", lang="es")
    async with client, client.get(f"{ctg.url}/console/notices/{eid}") as resp:
        page = await resp.text()
    assert "Cadena de custodia" in page and "Sellado y enviado desde aquí" in page
    assert page.count('data-state="verified"') == 2


async def test_custody_is_for_analysts_of_notices_held_here(cluster: Cluster) -> None:
    alg, ctg = await cluster([ALG, CTG])
    eid = await deliver_and_read(alg, ctg)
    async with (
        aiohttp.ClientSession() as anonymous,
        anonymous.get(f"{alg.url}/api/v1/notices/{eid}/custody") as resp,
    ):
        assert resp.status == 401
    unknown = eid[:-4] + ("0000" if not eid.endswith("0000") else "1111")
    with pytest.raises(BalizaError) as info:
        await alg.api("analyst").get(f"/api/v1/notices/{unknown}/custody", {})
    assert info.value.reason is ReasonCode.NOT_FOUND
