"""Notices reach exactly their recipients, survive a receiver's outage, and are never duplicated."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path

import pytest
from conftest import FreshDatabases
from loopback_support import wait_for
from node_harness import Cluster, TestNode, introduce, make_node
from notice_json import publish_body
from sqlalchemy import Connection

from baliza.crypto import open_envelope, seal
from baliza.node.core.clock import new_envelope_id, now_ms
from baliza.node.services.ingest import ingest_batch
from baliza.node.services.trust_admin import BlockKind, block_agency
from baliza.node.storage.envelopes import ReceivedEnvelope, Via
from baliza.node.storage.sql import delivery as outbox_rows
from baliza.node.storage.sql import envelopes as envelope_rows
from baliza.node.storage.sql import notice_pages
from baliza.node.storage.sql import receipts as receipt_rows
from baliza.protocol.envelope import parse_envelope
from baliza.protocol.errors import BalizaError, ReasonCode
from baliza.protocol.handling import Handling, Tlp
from baliza.protocol.notices import Receipt as ReceiptNotice
from baliza.protocol.notices import ReceiptStatus


async def stored_ids(node: TestNode, direction: str = "in") -> list[str]:
    page = await node.api("analyst").get(
        "/api/v1/notices", {"direction": direction, "limit": "200"}
    )
    return [item["id"] for item in page["items"]]


@pytest.fixture
async def trio(cluster: Cluster, database_engine: str) -> list[TestNode]:
    return await cluster(("ec.polnac.gye", "co.polfa.ctg", "es.aduanas.alg"), database_engine)


async def test_notice_reaches_exactly_its_recipients(trio: list[TestNode]) -> None:
    gye, ctg, alg = trio
    result = await gye.api().post("/api/v1/notices", publish_body(gye.agency, [alg.agency]))
    eid = result["id"]

    async def arrived() -> bool:
        return eid in await stored_ids(alg)

    await wait_for(arrived)
    notice = await alg.api("analyst").get(f"/api/v1/notices/{eid}", {})
    assert notice["sender"] == gye.agency
    assert notice["notice"]["conveyance"]["container"] == "MSCU1234566"

    delivery = await gye.api("analyst").get(f"/api/v1/notices/{eid}/delivery", {})
    assert [(r["destination"], r["state"]) for r in delivery["recipients"]] == [
        (alg.agency, "delivered")
    ]
    # Cartagena was not addressed: it holds nothing, and the envelope is closed to it.
    assert await stored_ids(ctg) == []
    raw = await gye.api("analyst").get_bytes(f"/api/v1/notices/{eid}/envelope")
    with pytest.raises(BalizaError) as refused:
        open_envelope(parse_envelope(raw), recipient=ctg.keys, sender=gye.keys.public())
    assert refused.value.reason == ReasonCode.NOT_A_RECIPIENT
    # The sender can read its own notice; the recipient's copy is the same envelope.
    assert open_envelope(parse_envelope(raw), recipient=gye.keys, sender=gye.keys.public())
    assert await alg.api("analyst").get_bytes(f"/api/v1/notices/{eid}/envelope") == raw


async def test_receiver_down_gets_everything_once_back(trio: list[TestNode]) -> None:
    gye, _, alg = trio
    await alg.stop()
    sent = []
    for i in range(25):
        body = publish_body(gye.agency, [alg.agency], grams=1000 + i)
        sent.append((await gye.api().post("/api/v1/notices", body))["id"])

    async def failing() -> bool:
        status = await gye.api("analyst").get("/api/v1/status", {})
        peer = next(p for p in status["peers"] if p["agency"] == alg.agency)
        return bool(peer["state"].startswith("failing since")) and peer["pending"] == 25

    await wait_for(failing)
    await alg.start()
    gye.ctx.wakeup(alg.agency).set()

    async def all_arrived() -> bool:
        return len(await stored_ids(alg)) >= 25

    await wait_for(all_arrived)
    received = await stored_ids(alg)
    assert sorted(received) == sorted(sent)  # every one, none twice
    # Oldest first: a peer back from an outage is caught up in order.
    assert received == sent
    status = await gye.api("analyst").get("/api/v1/status", {})
    peer = next(p for p in status["peers"] if p["agency"] == alg.agency)
    assert peer["pending"] == 0


async def test_sender_restart_loses_nothing(trio: list[TestNode]) -> None:
    gye, ctg, _ = trio
    await ctg.stop()
    first = await gye.api().post("/api/v1/notices", publish_body(gye.agency, [ctg.agency]))
    await gye.stop()
    await gye.start()
    await ctg.start()
    gye.ctx.wakeup(ctg.agency).set()

    async def arrived() -> bool:
        return first["id"] in await stored_ids(ctg)

    await wait_for(arrived)
    assert await stored_ids(ctg) == [first["id"]]


async def test_pull_catches_up_what_push_has_not_delivered(
    tmp_path: Path, database_engine: str, fresh_databases: FreshDatabases
) -> None:
    # The sender's courier backs off for a minute after the first failure, so
    # only the receiver's pull (at start, then on demand) can bring the notices.
    gye = make_node(
        tmp_path,
        "ec.polnac.gye",
        await fresh_databases.url(database_engine, migrated=True),
        backoff_base_ms=60_000,
        backoff_cap_ms=60_000,
    )
    ctg = make_node(
        tmp_path, "co.polfa.ctg", await fresh_databases.url(database_engine, migrated=True)
    )
    introduce(gye, ctg)
    await gye.start()
    try:
        ids = [
            (await gye.api().post("/api/v1/notices", publish_body(gye.agency, [ctg.agency])))["id"]
            for _ in range(3)
        ]
        await ctg.start()  # pulls what it missed as it starts
        await ctg.delivery.pull_once(gye.peer)
        assert sorted(await stored_ids(ctg)) == sorted(ids)

        def read(connection: Connection) -> list[ReceivedEnvelope]:
            return [envelope_rows.received(connection, eid) for eid in ids]

        received = await ctg.ctx.db.run(read, write=False)
        assert {r.via for r in received} == {Via.PULL}
        # The cursor is durable: pulling again brings nothing twice.
        assert await ctg.delivery.pull_once(gye.peer) == 0
    finally:
        await ctg.stop()
        await gye.stop()


async def test_sender_sees_the_receivers_refusal(trio: list[TestNode]) -> None:
    gye, _, alg = trio
    await block_agency(alg.ctx, gye.agency, BlockKind.BLOCK, "test", at_ms=0, actor="t")
    result = await gye.api().post("/api/v1/notices", publish_body(gye.agency, [alg.agency]))

    async def refused() -> bool:
        state = await gye.api("analyst").get(f"/api/v1/notices/{result['id']}/delivery", {})
        return bool(state["recipients"][0]["state"] == "refused")

    await wait_for(refused)
    state = await gye.api("analyst").get(f"/api/v1/notices/{result['id']}/delivery", {})
    assert state["recipients"][0]["refused_reason"] == "sender_blocked"
    assert await alg.ctx.db.run(notice_pages.list_page, write=False) == []


async def test_the_delivery_state_follows_what_happened_last(trio: list[TestNode]) -> None:
    """Refused while blocked, then unblocked, pulled and read: the sender shows it read."""
    gye, _, alg = trio
    await alg.api("admin").post(f"/api/v1/admin/peers/{gye.agency}/block", {"reason": "audit"})
    sent = await gye.api().post("/api/v1/notices", publish_body(gye.agency, [alg.agency]))
    path = f"/api/v1/notices/{sent['id']}/delivery"

    async def recipient() -> dict[str, object]:
        state = await gye.api("analyst").get(path, {})
        return dict(state["recipients"][0])

    async def refused() -> bool:
        return (await recipient())["state"] == "refused"

    await wait_for(refused)
    assert (await recipient())["refused_reason"] == "sender_blocked"
    # Algeciras lifts the block and takes the notice from Guayaquil's outbox.
    await alg.api("admin").delete(f"/api/v1/admin/peers/{gye.agency}/block")
    await alg.delivery.pull_once(gye.peer)
    assert sent["id"] in await stored_ids(alg)
    await alg.api("analyst").post(f"/api/v1/notices/{sent['id']}/read", {})

    async def read() -> bool:
        return (await recipient())["read_ms"] is not None

    await wait_for(read)
    now = await recipient()
    assert now["state"] == "delivered", now
    assert now["refused_reason"] is None and now["refused_detail"] is None, now
    delivered, read_at = now["delivered_ms"], now["read_ms"]
    assert isinstance(delivered, int) and isinstance(read_at, int), now
    assert delivered <= read_at, now
    # The notice page and the CLI read the same view.
    detail = await gye.api("analyst").get(f"/api/v1/notices/{sent['id']}", {})
    assert [d["state"] for d in detail["delivery"]] == ["delivered"]


async def test_hits_link_notices_naming_the_same_container(trio: list[TestNode]) -> None:
    gye, ctg, alg = trio
    a = await gye.api().post("/api/v1/notices", publish_body(gye.agency, [ctg.agency]))
    b = await alg.api().post("/api/v1/notices", publish_body(alg.agency, [ctg.agency]))
    other = await alg.api().post(
        "/api/v1/notices", publish_body(alg.agency, [ctg.agency], container="CSQU3054383")
    )

    async def all_there() -> bool:
        return len(await stored_ids(ctg)) == 3

    await wait_for(all_there)
    full = await ctg.api("analyst").get(f"/api/v1/notices/{a['id']}", {})
    assert [(h["id"], h["ref"]) for h in full["hits"]] == [(b["id"], ["container", "MSCU1234566"])]
    found = await ctg.api("analyst").get("/api/v1/notices", {"container": "CSQU3054383"})
    assert [i["id"] for i in found["items"]] == [other["id"]]


async def test_live_stream_delivers_new_notices(trio: list[TestNode]) -> None:
    gye, ctg, _ = trio
    seen: list[dict[str, object]] = []
    follower = asyncio.create_task(ctg.api("analyst").follow({}, seen.append, stop_after=1))
    await asyncio.sleep(0.3)
    result = await gye.api().post("/api/v1/notices", publish_body(gye.agency, [ctg.agency]))
    await asyncio.wait_for(follower, 20)
    assert seen[0]["id"] == result["id"]
    assert seen[0]["sender"] == gye.agency
    # The live event is the notice as stored: a follower resuming from before
    # it reads the same event back from storage.
    replayed: list[dict[str, object]] = []
    after = {"after": str(int(str(seen[0]["seq"])) - 1)}
    await asyncio.wait_for(ctg.api("analyst").follow(after, replayed.append, stop_after=1), 20)
    assert replayed == seen


async def test_a_peer_that_never_answers_delays_no_one_else(
    tmp_path: Path, fresh_databases: FreshDatabases
) -> None:
    # Madrid's "node" accepts connections and then says nothing, forever.
    hung: list[asyncio.StreamWriter] = []

    async def swallow(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hung.append(writer)

    black_hole = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = black_hole.sockets[0].getsockname()[1]
    gye = make_node(tmp_path, "ec.polnac.gye", await fresh_databases.url(migrated=True))
    alg = make_node(tmp_path, "es.aduanas.alg", await fresh_databases.url(migrated=True))
    mad = make_node(tmp_path, "es.gc.mad", await fresh_databases.url(migrated=True), port=port)
    introduce(gye, alg, mad)
    await gye.start()
    await alg.start()
    try:
        for _ in range(3):
            body = publish_body(gye.agency, [mad.agency, alg.agency])
            await gye.api().post("/api/v1/notices", body)

        async def all_at_algeciras() -> bool:
            return len(await stored_ids(alg)) == 3

        # Well inside the 30 s a request to the silent peer waits before timing out.
        await wait_for(all_at_algeciras, limit_s=10)
        status = await gye.api("analyst").get("/api/v1/status", {})
        pending = {p["agency"]: p["pending"] for p in status["peers"]}
        assert pending == {alg.agency: 0, mad.agency: 3}
    finally:
        await alg.stop()
        await gye.stop()
        for writer in hung:
            writer.close()
        black_hole.close()
        await black_hole.wait_closed()


async def test_the_sender_sees_when_a_person_read_the_notice(trio: list[TestNode]) -> None:
    gye, ctg, alg = trio
    sent = await gye.api().post("/api/v1/notices", publish_body(gye.agency, [alg.agency]))

    async def arrived() -> bool:
        return sent["id"] in await stored_ids(alg)

    await wait_for(arrived)
    delivery = await gye.api("analyst").get(f"/api/v1/notices/{sent['id']}/delivery", {})
    assert delivery["recipients"][0]["read_ms"] is None
    for _ in range(2):  # an analyst opens it, twice: reading writes nothing
        opened = await alg.api("analyst").get(f"/api/v1/notices/{sent['id']}", {})
        assert opened["read_here_ms"] is None
    assert (
        await alg.ctx.db.run(
            partial(receipt_rows.for_envelope, envelope_id=sent["id"]), write=False
        )
        == []
    )
    marks = [  # then marks it read, twice: one receipt
        await alg.api("analyst").post(f"/api/v1/notices/{sent['id']}/read", {}) for _ in range(2)
    ]
    assert [m["receipt_sent"] for m in marks] == [True, False]
    assert marks[0]["read_ms"] == marks[1]["read_ms"] is not None
    opened = await alg.api("analyst").get(f"/api/v1/notices/{sent['id']}", {})
    assert opened["read_here_ms"] == marks[0]["read_ms"]

    async def read() -> bool:
        state = await gye.api("analyst").get(f"/api/v1/notices/{sent['id']}/delivery", {})
        return state["recipients"][0]["read_ms"] is not None

    await wait_for(read)

    async def receipt_acknowledged() -> bool:
        # Guayaquil stores the receipt before Algeciras records its answer.
        backlog = await alg.ctx.db.run(outbox_rows.pending_counts, write=False)
        return backlog.get(gye.agency, 0) == 0

    await wait_for(receipt_acknowledged)
    # One receipt, however often it is opened; receipts are not listed as notices.
    receipts_sent = await alg.ctx.db.run(
        partial(receipt_rows.for_envelope, envelope_id=sent["id"]), write=False
    )
    assert [(r.from_agency, r.state.value) for r in receipts_sent] == [(alg.agency, "read")]
    assert await stored_ids(gye) == []

    # A forged "read" from an agency the notice was never sent to is refused.
    forged = seal(
        ReceiptNotice(envelope=sent["id"], status=ReceiptStatus.READ, at_ms=now_ms()),
        sender=ctg.keys,
        recipients=[gye.keys.public()],
        handling=Handling(tlp=Tlp.AMBER),
        envelope_id=new_envelope_id(),
        created_ms=now_ms(),
    )
    results = await ingest_batch(gye.ctx, ctg.agency, [forged.raw])
    assert [(r.outcome.value, r.reason) for r in results] == [("refused", "inconsistent")]
    received = await gye.ctx.db.run(
        partial(receipt_rows.for_envelope, envelope_id=sent["id"]), write=False
    )
    states = [(r.from_agency, r.state.value) for r in received]
    assert states == [(alg.agency, "read")]
