"""Attacks on ``POST /fed/v1/inbox``: each is refused with its reason code and stores nothing."""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
from functools import partial
from pathlib import Path

import aiohttp
import pytest
from node_harness import Cluster, TestNode
from notice_json import seizure

from baliza.crypto import AgencyKeys, seal, seal_bytes, sign_detached
from baliza.crypto.seal import content_key
from baliza.node.core.clock import new_envelope_id, now_ms
from baliza.node.services.fedauth import signed_headers
from baliza.node.services.fedclient import new_session, push_batch
from baliza.node.storage.sql import envelopes as envelope_rows
from baliza.node.storage.sql import notice_pages
from baliza.protocol.canonical import encode
from baliza.protocol.envelope import Envelope
from baliza.protocol.federation import (
    MEDIA_TYPE,
    OLD_REQUEST_SCHEME,
    Outcome,
    SignedRequest,
    encode_batch,
)
from baliza.protocol.handling import Handling, Tlp
from baliza.protocol.ids import AgencyId, EnvelopeId
from baliza.protocol.notices import (
    Notice,
    encode_notice,
    notice_from_json,
    notice_from_written_json,
)
from baliza.protocol.sharing import SharedOriginal


@pytest.fixture
async def pair(cluster: Cluster) -> tuple[TestNode, TestNode, TestNode]:
    """A sender, a receiver and a third agency that both know."""
    gye, alg, ctg = await cluster(
        ("ec.polnac.gye", "es.aduanas.alg", "co.polfa.ctg"), start=["es.aduanas.alg"]
    )
    return gye, alg, ctg


def sealed(
    sender: AgencyKeys,
    to: list[AgencyKeys],
    *,
    created_ms: int | None = None,
    envelope_id: EnvelopeId | None = None,
) -> Envelope:
    return seal(
        notice_from_json(seizure(sender.agency)),
        sender=sender,
        recipients=[k.public() for k in to],
        handling=Handling(tlp=Tlp.AMBER),
        envelope_id=envelope_id or new_envelope_id(),
        created_ms=created_ms if created_ms is not None else now_ms(),
    )


async def push(
    sender: TestNode, receiver: TestNode, envelopes: list[bytes]
) -> list[tuple[str, str | None]]:
    async with new_session() as session:
        results = await push_batch(session, sender.keys, receiver.peer, envelopes)
    return [(r.outcome.value, r.reason) for r in results]


async def stored_count(node: TestNode) -> int:
    return len(await node.ctx.db.run(partial(notice_pages.list_page, limit=1000), write=False))


async def test_valid_envelope_is_accepted_once_then_duplicate(pair: tuple[TestNode, ...]) -> None:
    gye, alg, _ = pair
    env = sealed(gye.keys, [alg.keys])
    assert await push(gye, alg, [env.raw, env.raw]) == [
        (Outcome.ACCEPTED, None),
        (Outcome.DUPLICATE, None),
    ]
    assert await push(gye, alg, [env.raw]) == [(Outcome.DUPLICATE, None)]  # replay later
    assert await stored_count(alg) == 1
    received = await alg.ctx.db.run(
        partial(envelope_rows.received, envelope_id=env.id), write=False
    )
    assert received.raw == env.raw  # as received


async def test_tampered_envelope_is_refused(pair: tuple[TestNode, ...]) -> None:
    gye, alg, _ = pair
    raw = bytearray(sealed(gye.keys, [alg.keys]).raw)
    raw[-40] ^= 0x01  # inside a signature
    body_flip = bytearray(sealed(gye.keys, [alg.keys]).raw)
    body_flip[len(body_flip) // 2] ^= 0x80  # somewhere in the signed part
    results = await push(gye, alg, [bytes(raw), bytes(body_flip)])
    assert all(outcome == Outcome.REFUSED for outcome, _ in results)
    assert results[0][1] == "bad_signature"
    assert results[1][1] in {"bad_signature", "malformed", "non_canonical", "wrong_type"}
    assert await stored_count(alg) == 0


async def test_forged_sender_is_refused(pair: tuple[TestNode, ...]) -> None:
    gye, alg, ctg = pair
    # Cartagena seals an envelope and pushes it as if it came from Guayaquil's node.
    forged = sealed(ctg.keys, [alg.keys])
    assert await push(gye, alg, [forged.raw]) == [(Outcome.REFUSED, "unknown_sender")]
    # An envelope naming Guayaquil as sender, signed by a key the directory does not list.
    impostor = AgencyKeys.generate(
        gye.agency, valid_from_ms=now_ms() - 1000, valid_until_ms=now_ms() + 10**9
    )
    results = await push(gye, alg, [sealed(impostor, [alg.keys]).raw])
    assert results == [(Outcome.REFUSED, "unknown_key")]
    assert await stored_count(alg) == 0


async def test_wrongly_addressed_envelope_is_refused(pair: tuple[TestNode, ...]) -> None:
    gye, alg, ctg = pair
    to_ctg = sealed(gye.keys, [ctg.keys])
    assert await push(gye, alg, [to_ctg.raw]) == [(Outcome.REFUSED, "not_a_recipient")]
    assert await stored_count(alg) == 0


async def test_stale_envelope_is_refused_but_good_ones_in_batch_accepted(
    pair: tuple[TestNode, ...],
) -> None:
    gye, alg, _ = pair
    old = sealed(gye.keys, [alg.keys], created_ms=now_ms() - 30 * 24 * 3600 * 1000)
    fresh = sealed(gye.keys, [alg.keys])
    assert await push(gye, alg, [old.raw, b"\x93\x01", fresh.raw]) == [
        (Outcome.REFUSED, "stale"),
        (Outcome.REFUSED, "malformed"),
        (Outcome.ACCEPTED, None),
    ]
    assert await stored_count(alg) == 1


async def raw_post(
    receiver: TestNode, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, object]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(receiver.url + "/fed/v1/inbox", data=body, headers=headers) as resp,
    ):
        return resp.status, await resp.json()


async def test_unsigned_request_is_refused(pair: tuple[TestNode, ...]) -> None:
    gye, alg, _ = pair
    body = encode_batch([sealed(gye.keys, [alg.keys]).raw])
    status, answer = await raw_post(alg, body, {"Content-Type": MEDIA_TYPE})
    assert status == 401
    assert answer["error"]["reason"] == "unauthenticated"  # type: ignore[index]
    assert await stored_count(alg) == 0


async def test_request_signature_attacks_are_refused(pair: tuple[TestNode, ...]) -> None:
    gye, alg, ctg = pair
    body = encode_batch([sealed(gye.keys, [alg.keys]).raw])
    other_body = encode_batch([sealed(gye.keys, [alg.keys]).raw])

    def headers(
        keys: AgencyKeys,
        *,
        destination: str = alg.agency,
        time_ms: int | None = None,
        path: str = "/fed/v1/inbox",
        signed_body: bytes = body,
    ) -> dict[str, str]:
        h = signed_headers(
            keys,
            method="POST",
            path=path,
            destination=AgencyId(destination),
            time_ms=time_ms if time_ms is not None else now_ms(),
            body=signed_body,
        )
        h["Content-Type"] = MEDIA_TYPE
        return h

    cases = {
        "wrong_destination": headers(gye.keys, destination=ctg.agency),
        "stale": headers(gye.keys, time_ms=now_ms() - 3_600_000),
        "bad_signature": headers(gye.keys, signed_body=other_body),  # body swapped
        "bad_signature:path": headers(gye.keys, path="/fed/v1/outbox"),
    }
    for expected, h in cases.items():
        status, answer = await raw_post(alg, body, h)
        assert (status, answer["error"]["reason"]) == (  # type: ignore[index]
            403 if expected != "stale" else 422,
            expected.split(":")[0],
        ), expected
    # Cartagena signs with its own keys but claims to be Guayaquil.
    impersonation = headers(ctg.keys)
    impersonation["Baliza-Origin"] = gye.agency
    status, answer = await raw_post(alg, body, impersonation)
    assert (status, answer["error"]["reason"]) == (403, "bad_signature")  # type: ignore[index]
    # An agency that is not a partner at all.
    stranger = AgencyKeys.generate(
        AgencyId("fr.douane.leh"), valid_from_ms=now_ms() - 1000, valid_until_ms=now_ms() + 10**9
    )
    status, answer = await raw_post(alg, body, headers(stranger))
    assert (status, answer["error"]["reason"]) == (403, "unknown_sender")  # type: ignore[index]
    assert await stored_count(alg) == 0


async def test_request_signed_by_the_old_scheme_or_a_wrong_key_is_refused(
    pair: tuple[TestNode, ...],
) -> None:
    gye, alg, _ = pair
    envelope = sealed(gye.keys, [alg.keys])
    body = encode_batch([envelope.raw])

    def signed(keys: AgencyKeys) -> dict[str, str]:
        h = signed_headers(
            keys,
            method="POST",
            path="/fed/v1/inbox",
            destination=alg.agency,
            time_ms=now_ms(),
            body=body,
        )
        h["Content-Type"] = MEDIA_TYPE
        return h

    # A node still on scheme v1: a hybrid signature map over the same fields,
    # by the right key. It is told why, not that its signature is bad.
    old = signed(gye.keys)
    request = SignedRequest.for_body(
        method="POST",
        path="/fed/v1/inbox",
        origin=gye.agency,
        destination=alg.agency,
        time_ms=int(old["Baliza-Time"]),
        body=body,
    )
    sigs = sign_detached(gye.keys, OLD_REQUEST_SCHEME, request.signing_bytes())
    old["Baliza-Signature"] = base64.urlsafe_b64encode(encode(dict(sigs))).decode()
    status, answer = await raw_post(alg, body, old)
    assert (status, answer["error"]["reason"]) == (403, "request_scheme_unsupported")  # type: ignore[index]
    assert "baliza-fed-request-v2" in answer["error"]["detail"]  # type: ignore[index]
    # The v2 header with the v1 signature map's Ed25519 half: still not a request signature.
    half = base64.urlsafe_b64encode(sigs["ed25519"]).decode()
    old["Baliza-Signature"] = f"baliza-fed-request-v2 {half}"
    status, answer = await raw_post(alg, body, old)
    assert (status, answer["error"]["reason"]) == (403, "bad_signature")  # type: ignore[index]
    # The right scheme and origin, signed by a key the directory does not list
    # for Guayaquil (a thief with a key of its own making).
    wrong = AgencyKeys.generate(
        gye.agency, valid_from_ms=now_ms() - 1000, valid_until_ms=now_ms() + 10**9
    )
    status, answer = await raw_post(alg, body, signed(wrong))
    assert (status, answer["error"]["reason"]) == (403, "bad_signature")  # type: ignore[index]
    assert await stored_count(alg) == 0
    # The genuine request, for contrast, is accepted.
    assert await push(gye, alg, [envelope.raw]) == [(Outcome.ACCEPTED, None)]


async def test_compressed_request_is_refused(pair: tuple[TestNode, ...]) -> None:
    gye, alg, _ = pair
    body = gzip.compress(encode_batch([sealed(gye.keys, [alg.keys]).raw]))
    h = signed_headers(
        gye.keys,
        method="POST",
        path="/fed/v1/inbox",
        destination=alg.agency,
        time_ms=now_ms(),
        body=body,
    )
    h.update({"Content-Type": MEDIA_TYPE, "Content-Encoding": "gzip"})
    status, answer = await raw_post(alg, body, h)
    assert (status, answer["error"]["reason"]) == (415, "unsupported_media")  # type: ignore[index]
    assert await stored_count(alg) == 0


async def test_another_members_envelope_under_the_same_id_is_its_own(
    pair: tuple[TestNode, ...],
) -> None:
    gye, alg, ctg = pair
    real = sealed(gye.keys, [alg.keys, ctg.keys])
    # Cartagena, a co-recipient, reads the id in the clear header and races
    # Guayaquil to Algeciras with an envelope of its own under the same id.
    squatter = sealed(ctg.keys, [alg.keys], envelope_id=real.id)
    assert await push(ctg, alg, [squatter.raw]) == [(Outcome.ACCEPTED, None)]
    # Ids are keyed by sender: the real one is stored too, nothing is suppressed.
    assert await push(gye, alg, [real.raw]) == [(Outcome.ACCEPTED, None)]
    assert await push(ctg, alg, [squatter.raw]) == [(Outcome.DUPLICATE, None)]


async def test_an_old_copy_of_something_received_is_a_duplicate_not_stale(
    pair: tuple[TestNode, ...],
) -> None:
    gye, alg, _ = pair
    env = sealed(gye.keys, [alg.keys])
    assert await push(gye, alg, [env.raw]) == [(Outcome.ACCEPTED, None)]
    alg.ctx.config = dataclasses.replace(alg.ctx.config, replay_window_ms=0)
    assert await push(gye, alg, [env.raw]) == [(Outcome.DUPLICATE, None)]


async def test_a_case_notice_wrapped_in_a_correction_outside_a_jit_is_refused(
    pair: tuple[TestNode, ...],
) -> None:
    # A member skips its own node's rules and pushes, to a named recipient,
    # a correction whose replacement is a case notice: the header says only
    # "correction", so the receiver must look at what it carries.
    gye, alg, _ = pair
    case = json.loads((Path(__file__).parents[2] / "examples" / "case.json").read_text())
    case["unit"]["agency"] = gye.agency
    case["linked"] = [str(new_envelope_id())]
    original = sealed(gye.keys, [alg.keys])
    assert await push(gye, alg, [original.raw]) == [("accepted", None)]
    target = original.id
    correction = notice_from_written_json(
        {
            "v": 1,
            "kind": "notice.correction",
            "supersedes": str(target),
            "reason": "status update",
            "notice": case,
        }
    )
    envelope = seal(
        correction,
        sender=gye.keys,
        recipients=[alg.keys.public(), gye.keys.public()],
        handling=Handling(tlp=Tlp.AMBER),
        envelope_id=new_envelope_id(),
        created_ms=now_ms(),
        supersedes=target,
    )
    assert await push(gye, alg, [envelope.raw]) == [("refused", "wrong_channel")]
    assert await stored_count(alg) == 1  # the original alone


# -- Third attack round, item 3: words put in another agency's mouth ---------------------


@pytest.fixture
async def trio(cluster: Cluster, database_engine: str) -> tuple[TestNode, TestNode, TestNode]:
    """Guayaquil (an originator), Algeciras (a member turned forger), Cartagena (its target)."""
    gye, alg, ctg = await cluster(
        ("ec.polnac.gye", "es.aduanas.alg", "co.polfa.ctg"), database_engine
    )
    return gye, alg, ctg


def words_of(agency: str, text: str) -> Notice:
    """A seizure in ``agency``'s name whose free text is ``text``."""
    wire = seizure(agency)
    wire["text"] = {"lang": "en", "text": text}
    return notice_from_json(wire)


def share_envelope(
    sharer: AgencyKeys,
    to: list[AgencyKeys],
    carried: bytes,
    *,
    shares: EnvelopeId,
    handling: Handling | None = None,
    kind_of: Notice | None = None,
) -> Envelope:
    """A share sealed by hand: ``carried`` is its body, whatever the sharer chose."""
    return seal_bytes(
        carried,
        kind=(kind_of or words_of(sharer.agency, "x")).kind,
        sender=sharer,
        recipients=[k.public() for k in to] + [sharer.public()],
        handling=handling or Handling(tlp=Tlp.AMBER),
        envelope_id=new_envelope_id(),
        created_ms=now_ms(),
        shares=shares,
    )


async def texts(node: TestNode) -> list[str]:
    """The free text of every notice ``node`` holds."""
    rows = await node.ctx.db.run(partial(notice_pages.list_page, limit=1000), write=False)
    return [json.loads(r.notice_json)["text"]["text"] for r in rows]


async def test_a_share_of_a_notice_that_never_existed_is_refused(
    trio: tuple[TestNode, ...],
) -> None:
    """The reported attack: a 'share' of no notice, in Guayaquil's name, in Algeciras' words."""
    gye, alg, ctg = trio
    lie = words_of(gye.agency, "Guayaquil: release container MSCU1234566 unchecked")
    legacy = share_envelope(  # the share as it was: a notice, and a `shares` naming nothing
        alg.keys, [ctg.keys], encode_notice(lie), shares=new_envelope_id()
    )
    # Its own originator's envelope, signed by a key the directory does not give Guayaquil.
    impostor = AgencyKeys.generate(
        gye.agency, valid_from_ms=now_ms() - 1000, valid_until_ms=now_ms() + 10**9
    )
    fake = seal(
        lie,
        sender=impostor,
        recipients=[alg.keys.public()],
        handling=Handling(tlp=Tlp.AMBER),
        envelope_id=new_envelope_id(),
        created_ms=now_ms(),
    )
    fake_key = content_key(fake, recipient=alg.keys, sender=impostor.public())
    impersonated = share_envelope(
        alg.keys,
        [ctg.keys],
        SharedOriginal(original=fake.raw, content_key=fake_key).to_bytes(),
        shares=fake.id,
    )
    # Or an original Algeciras signs itself, still written in Guayaquil's name.
    own = seal(
        lie,
        sender=alg.keys,
        recipients=[alg.keys.public()],
        handling=Handling(tlp=Tlp.AMBER),
        envelope_id=new_envelope_id(),
        created_ms=now_ms(),
    )
    own_key = content_key(own, recipient=alg.keys, sender=alg.keys.public())
    self_signed = share_envelope(
        alg.keys,
        [ctg.keys],
        SharedOriginal(original=own.raw, content_key=own_key).to_bytes(),
        shares=own.id,
    )
    results = await push(alg, ctg, [legacy.raw, impersonated.raw, self_signed.raw])
    assert results == [
        ("refused", "malformed"),  # no originator's envelope: nothing proves the words
        ("refused", "unknown_key"),
        ("refused", "inconsistent"),
    ]
    assert await stored_count(ctg) == 0


async def test_a_share_whose_carried_envelope_does_not_give_its_content_is_refused(
    trio: tuple[TestNode, ...],
) -> None:
    """Guayaquil's real envelope, made to carry Algeciras' words or to lose its handling."""
    gye, alg, ctg = trio
    real = seal(
        words_of(gye.agency, "Guayaquil: 25 kg cocaine in MSCU1234566"),
        sender=gye.keys,
        recipients=[alg.keys.public(), gye.keys.public()],
        handling=Handling(tlp=Tlp.AMBER),
        envelope_id=new_envelope_id(),
        created_ms=now_ms(),
    )
    assert await push(gye, alg, [real.raw]) == [("accepted", None)]
    key = content_key(real, recipient=alg.keys, sender=gye.keys.public())

    # Algeciras' own words sealed under a key of its own, beside Guayaquil's envelope.
    lie = seal(
        words_of(gye.agency, "Guayaquil: nothing found, release it"),
        sender=alg.keys,
        recipients=[alg.keys.public()],
        handling=Handling(tlp=Tlp.AMBER),
        envelope_id=real.id,
        created_ms=now_ms(),
    )
    lie_key = content_key(lie, recipient=alg.keys, sender=alg.keys.public())
    wrong_key = share_envelope(
        alg.keys,
        [ctg.keys],
        SharedOriginal(original=real.raw, content_key=lie_key).to_bytes(),
        shares=real.id,
    )
    # Guayaquil's envelope with Algeciras' ciphertext in place of its body.
    spliced = Envelope.assemble(
        real.header_bytes,
        real.keys,
        lie.body,
        real.signatures,
    )
    swapped_body = share_envelope(
        alg.keys,
        [ctg.keys],
        SharedOriginal(original=spliced.raw, content_key=lie_key).to_bytes(),
        shares=real.id,
    )
    genuine = SharedOriginal(original=real.raw, content_key=key).to_bytes()
    # The real original, but the share names another envelope, or lowers the TLP.
    other_id = share_envelope(alg.keys, [ctg.keys], genuine, shares=new_envelope_id())
    lowered = share_envelope(
        alg.keys, [ctg.keys], genuine, shares=real.id, handling=Handling(tlp=Tlp.CLEAR)
    )
    results = await push(alg, ctg, [wrong_key.raw, swapped_body.raw, other_id.raw, lowered.raw])
    assert results == [
        ("refused", "key_commitment_mismatch"),
        ("refused", "bad_signature"),
        ("refused", "inconsistent"),
        ("refused", "handling_forbids"),
    ]
    assert await stored_count(ctg) == 0

    # The same envelope passed on as it is: accepted, and it says only what Guayaquil said.
    honest = share_envelope(alg.keys, [ctg.keys], genuine, shares=real.id)
    assert await push(alg, ctg, [honest.raw]) == [("accepted", None)]
    assert await texts(ctg) == ["Guayaquil: 25 kg cocaine in MSCU1234566"]


async def test_a_correction_of_what_its_sender_never_sent_here_is_refused(
    trio: tuple[TestNode, ...],
) -> None:
    """`supersedes` naming nothing, or an envelope the sender sent to someone else."""
    gye, alg, ctg = trio
    elsewhere = sealed(alg.keys, [gye.keys])  # Algeciras' notice, sent to Guayaquil only
    assert await push(alg, gye, [elsewhere.raw]) == [("accepted", None)]

    def retraction_of(target: EnvelopeId) -> Envelope:
        wire = {"v": 1, "kind": "notice.retraction", "supersedes": str(target), "reason": "x"}
        return seal(
            notice_from_written_json(wire),
            sender=alg.keys,
            recipients=[ctg.keys.public(), alg.keys.public()],
            handling=Handling(tlp=Tlp.AMBER),
            envelope_id=new_envelope_id(),
            created_ms=now_ms(),
            supersedes=target,
        )

    results = await push(
        alg, ctg, [retraction_of(new_envelope_id()).raw, retraction_of(elsewhere.id).raw]
    )
    assert results == [("refused", "foreign_supersedes"), ("refused", "foreign_supersedes")]
    assert await stored_count(ctg) == 0


async def test_an_original_and_its_correction_may_travel_in_one_batch(
    trio: tuple[TestNode, ...],
) -> None:
    """In one batch the correction counts its original, unless that one is refused."""
    _, alg, ctg = trio
    first = sealed(alg.keys, [ctg.keys])
    wire = seizure(alg.agency, grams=24_000)
    correction = {"v": 1, "kind": "notice.correction", "supersedes": str(first.id)}
    fixed = seal(
        notice_from_written_json(correction | {"reason": "weighed again", "notice": wire}),
        sender=alg.keys,
        recipients=[ctg.keys.public(), alg.keys.public()],
        handling=Handling(tlp=Tlp.AMBER),
        envelope_id=new_envelope_id(),
        created_ms=now_ms(),
        supersedes=first.id,
    )
    broken = bytearray(first.raw)
    broken[-40] ^= 0x01  # the original's signature no longer verifies
    assert await push(alg, ctg, [bytes(broken), fixed.raw]) == [
        ("refused", "bad_signature"),
        ("refused", "foreign_supersedes"),
    ]
    assert await push(alg, ctg, [first.raw, fixed.raw]) == [
        ("accepted", None),
        ("accepted", None),
    ]
