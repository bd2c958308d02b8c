"""Signed but implausible: a member's key cannot make the node record what cannot be true.

A notice in another agency's name, a creation time in the future, a read
receipt dated before the notice reached its reader, an administrator
blocking the node's own agency, control characters in the trust log. And
reads keep working while another connection holds the database's write lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import pytest
from hardening_kit import call, push, reason, sealed, three_members
from node_harness import Cluster, TestNode, sqlite_file
from notice_json import publish_body, seizure

from baliza.node.core.clock import now_ms
from baliza.node.storage.sql import receipts as receipt_rows
from baliza.protocol.ids import EnvelopeId
from baliza.protocol.notices import Receipt, ReceiptStatus, notice_from_json

DAY_MS = 24 * 3600 * 1000


@pytest.fixture
async def trio(cluster: Cluster) -> AsyncIterator[tuple[TestNode, TestNode, TestNode]]:
    gye, alg, ctg = await three_members(cluster)
    await alg.start()
    yield gye, alg, ctg
    await alg.stop()


async def test_a_notice_in_another_agencys_name_is_refused(
    trio: tuple[TestNode, TestNode, TestNode],
) -> None:
    gye, alg, ctg = trio
    in_ctg_name = notice_from_json(seizure(ctg.agency))
    envelope = sealed(gye.keys, [alg.keys], notice=in_ctg_name)
    assert await push(gye, alg, [envelope.raw]) == [("refused", "inconsistent")]
    own_unit = notice_from_json(seizure(f"{gye.agency}.antinarc"))
    assert await push(gye, alg, [sealed(gye.keys, [alg.keys], notice=own_unit).raw]) == [
        ("accepted", None)
    ]
    # A publisher cannot make its own node sign in another agency's name either
    # (another seizure than the one received: a copy of that is a re-publication).
    body = publish_body(gye.agency, [ctg.agency], container="CSQU3054383")
    status, answer = await call(alg, "POST", "/api/v1/notices", json=body)
    assert (status, reason(answer), answer["error"]["path"]) == (
        422,
        "inconsistent",
        "unit.agency",
    )


async def test_a_notice_created_in_the_future_is_refused(
    trio: tuple[TestNode, TestNode, TestNode],
) -> None:
    gye, alg, _ = trio
    future = sealed(gye.keys, [alg.keys], created_ms=now_ms() + 6 * DAY_MS)
    slightly = sealed(gye.keys, [alg.keys], created_ms=now_ms() + 60_000)  # within the skew
    assert await push(gye, alg, [future.raw, slightly.raw]) == [
        ("refused", "stale"),
        ("accepted", None),
    ]


async def test_a_receipt_dated_before_delivery_or_in_the_future_is_refused(
    trio: tuple[TestNode, TestNode, TestNode],
) -> None:
    gye, alg, _ = trio
    status, published = await call(
        alg, "POST", "/api/v1/notices", json=publish_body(alg.agency, [gye.agency])
    )
    assert status == 201
    y = EnvelopeId(published["id"])

    def receipt(at_ms: int) -> bytes:
        notice = Receipt(envelope=y, status=ReceiptStatus.READ, at_ms=at_ms)
        return sealed(gye.keys, [alg.keys], notice=notice).raw

    assert await push(gye, alg, [receipt(now_ms() - 11 * DAY_MS)]) == [("refused", "inconsistent")]
    assert await push(gye, alg, [receipt(now_ms() + DAY_MS)]) == [("refused", "inconsistent")]
    receipts = partial(receipt_rows.for_envelope, envelope_id=y)
    assert await alg.ctx.db.run(receipts, write=False) == []
    assert await push(gye, alg, [receipt(now_ms())]) == [("accepted", None)]


async def test_an_administrator_cannot_block_its_own_agency_or_log_control_characters(
    trio: tuple[TestNode, TestNode, TestNode],
) -> None:
    gye, alg, _ = trio
    path = f"/api/v1/admin/peers/{alg.agency}/block"
    status, answer = await call(alg, "POST", path, json={"reason": "oops"})
    assert (status, reason(answer), answer["error"]["path"]) == (422, "inconsistent", "agency")
    path = f"/api/v1/admin/peers/{gye.agency}/block"
    for text in ("line\nforged: entry", "bell\x07", "esc\x1b[2J", "rtl\u202eevil"):
        status, answer = await call(alg, "POST", path, json={"reason": text})
        assert (status, reason(answer), answer["error"]["path"]) == (422, "bad_format", "reason")
    status, answer = await call(
        alg, "POST", "/api/v1/admin/tokens", json={"name": "a\rb", "role": "analyst"}
    )
    assert (status, reason(answer)) == (422, "bad_format")
    status, events = await call(alg, "GET", "/api/v1/admin/events")
    assert status == 200
    assert not any(e["action"] == "peer.block" for e in events)
    status, _ = await call(alg, "POST", path, json={"reason": "under review"})
    assert status == 200


async def test_reads_answer_while_another_connection_holds_the_write_lock(
    trio: tuple[TestNode, TestNode, TestNode], tmp_path: Path
) -> None:
    gye, alg, _ = trio
    status, published = await call(
        alg, "POST", "/api/v1/notices", json=publish_body(alg.agency, [gye.agency])
    )
    assert status == 201
    writer = sqlite3.connect(sqlite_file(alg), isolation_level=None)
    try:
        writer.execute("PRAGMA busy_timeout=0")
        writer.execute("BEGIN IMMEDIATE")  # a long write elsewhere holds the lock
        nid = published["id"]
        for path in (
            "/api/v1/notices",
            f"/api/v1/notices/{nid}",
            f"/api/v1/notices/{nid}/delivery",
            f"/api/v1/notices/{nid}/envelope",
            "/api/v1/status",
            "/api/v1/admin/peers",
            "/api/v1/admin/events",
            "/api/v1/admin/directory/history",
        ):
            status, _ = await call(alg, "GET", path)
            assert status == 200, path
    finally:
        writer.execute("ROLLBACK")
        writer.close()
