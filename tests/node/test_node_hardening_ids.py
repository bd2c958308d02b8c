"""Envelope ids cannot be used against their owner: no substitution, probing or squatting.

Ids are chosen by senders and travel in clear headers, so every member of a
notice's audience knows them. Each test here is an attack with such an id,
on a real node over loopback, and the node refusing it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

import pytest
from hardening_kit import call, push, reason, sealed, tampered, three_members
from node_harness import Cluster, TestNode
from notice_json import publish_body

from baliza.node.core.clock import now_ms
from baliza.node.storage.envelopes import ReceivedEnvelope, Via
from baliza.node.storage.sql import envelopes as envelope_rows
from baliza.node.storage.sql import notices as notice_rows
from baliza.protocol.ids import EnvelopeId
from baliza.protocol.notices import Receipt, ReceiptStatus


@pytest.fixture
async def trio(cluster: Cluster) -> AsyncIterator[tuple[TestNode, TestNode, TestNode]]:
    gye, alg, ctg = await three_members(cluster)
    await alg.start()
    yield gye, alg, ctg
    await alg.stop()


async def test_a_co_recipient_cannot_substitute_the_senders_evidence(
    trio: tuple[TestNode, TestNode, TestNode],
) -> None:
    gye, alg, ctg = trio
    # Algeciras publishes Y to Guayaquil and Cartagena (their nodes are down: it stays queued).
    status, published = await call(
        alg, "POST", "/api/v1/notices", json=publish_body(alg.agency, [gye.agency, ctg.agency])
    )
    assert status == 201
    y = EnvelopeId(published["id"])
    own = await alg.ctx.db.run(partial(envelope_rows.sent_raw, envelope_id=y), write=False)
    # Cartagena sends Algeciras a receipt envelope under the id Y.
    fake = sealed(
        ctg.keys,
        [alg.keys],
        notice=Receipt(envelope=y, status=ReceiptStatus.READ, at_ms=now_ms()),
        envelope_id=y,
    )
    assert await push(ctg, alg, [fake.raw]) == [("refused", "conflict")]
    status, evidence = await call(alg, "GET", f"/api/v1/notices/{y}/envelope", role="analyst")
    assert (status, evidence) == (200, own)
    # Even were such an envelope stored, the evidence of a sent notice is the sent envelope.
    await alg.ctx.db.run(
        partial(
            envelope_rows.insert_received,
            envelopes=[
                ReceivedEnvelope(
                    id=y,
                    sender=ctg.agency,
                    sender_key=bytes(fake.header.sender_key),
                    kind=fake.header.kind.value,
                    created_ms=fake.header.created_ms,
                    received_ms=now_ms(),
                    via=Via.PUSH,
                    raw=fake.raw,
                )
            ],
        ),
        write=True,
    )
    status, evidence = await call(alg, "GET", f"/api/v1/notices/{y}/envelope", role="analyst")
    assert (status, evidence) == (200, own)


async def test_an_id_probe_gets_the_same_answer_whether_the_id_is_held_or_not(
    trio: tuple[TestNode, TestNode, TestNode],
) -> None:
    gye, alg, ctg = trio
    held = sealed(gye.keys, [alg.keys])
    assert await push(gye, alg, [held.raw]) == [("accepted", None)]
    # Cartagena is not a recipient of `held` but read its id; it probes with bad signatures.
    probe_held = tampered(sealed(ctg.keys, [alg.keys], envelope_id=held.id))
    probe_free = tampered(sealed(ctg.keys, [alg.keys]))
    assert await push(ctg, alg, [probe_held, probe_free]) == [
        ("refused", "bad_signature"),
        ("refused", "bad_signature"),
    ]
    # Even the owner's own id with a bad signature is a bad signature, not a conflict.
    forged = tampered(sealed(gye.keys, [alg.keys], envelope_id=held.id))
    assert await push(gye, alg, [forged]) == [("refused", "bad_signature")]
    # With a valid signature, another sender's id is simply another envelope.
    assert await push(ctg, alg, [sealed(ctg.keys, [alg.keys], envelope_id=held.id).raw]) == [
        ("accepted", None)
    ]
    # Only the owner reusing its own id with other bytes is a conflict, after verification.
    again = sealed(gye.keys, [alg.keys], envelope_id=held.id)
    assert await push(gye, alg, [again.raw]) == [("refused", "conflict")]


async def test_a_member_pushing_first_under_anothers_id_blocks_nothing(
    trio: tuple[TestNode, TestNode, TestNode],
) -> None:
    gye, alg, ctg = trio
    real = sealed(gye.keys, [alg.keys, ctg.keys])
    # Cartagena, a co-recipient, reads the id in the clear header and races
    # Guayaquil to Algeciras with an envelope of its own under the same id.
    squatter = sealed(ctg.keys, [alg.keys], envelope_id=real.id)
    assert await push(ctg, alg, [squatter.raw]) == [("accepted", None)]
    assert await push(gye, alg, [real.raw]) == [("accepted", None)]
    assert await push(gye, alg, [real.raw]) == [("duplicate", None)]
    assert await push(ctg, alg, [squatter.raw]) == [("duplicate", None)]
    senders = await alg.ctx.db.run(
        partial(notice_rows.senders_of, envelope_id=real.id), write=False
    )
    assert senders == [ctg.agency, gye.agency]
    received = await alg.ctx.db.run(
        partial(envelope_rows.received, envelope_id=real.id, sender=gye.agency), write=False
    )
    assert received.raw == real.raw
    status, listed = await call(alg, "GET", "/api/v1/notices", role="analyst")
    assert sorted((i["id"], i["sender"]) for i in listed["items"]) == sorted(
        [(real.id, gye.agency), (real.id, ctg.agency)]
    )
    path = f"/api/v1/notices/{real.id}"
    status, shown = await call(alg, "GET", path, role="analyst", params={"sender": gye.agency})
    assert (status, shown["sender"]) == (200, gye.agency)
    status, shown = await call(alg, "GET", path, role="analyst")
    assert shown["same_id_from"] == [gye.agency]  # the analyst is told, and can ask for it
    status, evidence = await call(
        alg, "GET", f"{path}/envelope", role="analyst", params={"sender": gye.agency}
    )
    assert (status, evidence) == (200, real.raw)
    status, answer = await call(
        alg, "GET", path, role="analyst", params={"sender": "fr.douane.leh"}
    )
    assert (status, reason(answer)) == (404, "not_found")
