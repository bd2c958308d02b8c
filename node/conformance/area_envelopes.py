"""Envelopes pushed to the inbox (chapter 05 §2, chapter 02): accepted, receipted, refused.

Every refusal is one envelope in a batch the target must answer with 200
and a result per envelope; the check reads the reason code of that result.
The receipt is the target's audit log (chapter 11): a bundle proving that it
logged the very bytes it accepted, under a tree head it signed with the key
the directory lists for it.
"""

from __future__ import annotations

from baliza.crypto import AgencyKeys
from baliza.crypto.audit import verify_bundle, verify_tree_head
from baliza.node.conformance.checks import Run, check
from baliza.node.conformance.inbox import INBOX, describe, expect_outcome, push
from baliza.node.conformance.target import signed_headers
from baliza.node.conformance.verdict import Failed
from baliza.node.core.clock import now_ms
from baliza.protocol.audit import EntryKind, InclusionBundle, SignedTreeHead, content_digest
from baliza.protocol.canonical import decode, encode
from baliza.protocol.envelope import Envelope, MessageKind
from baliza.protocol.errors import BalizaError
from baliza.protocol.federation import MEDIA_TYPE, Outcome, decode_results, encode_batch
from baliza.protocol.notices import encode_notice

SECTION = "05 §2"
# Further from now than any node's replay_window_ms may be (the default is 7 days).
WINDOW_MS = 30 * 24 * 3600 * 1000
# The canonical ending of an envelope's outer map: the key "v" and the integer 1.
_OUTER_V = b"\xa1v\x01"


async def _accepted(run: Run) -> Envelope:
    """An envelope the target accepted from A in this run (pushing one if none yet)."""
    envelope = run.facts.get("accepted")
    if isinstance(envelope, Envelope):
        return envelope
    envelope = run.kit.to_target("a")
    await expect_outcome(run, "a", envelope.raw, Outcome.ACCEPTED)
    run.facts["accepted"] = envelope
    return envelope


@check("envelopes", "accepted", SECTION, "a valid envelope from a member is accepted")
async def accepted(run: Run) -> None:
    envelope = run.kit.to_target("a")
    (result,) = await push(run, "a", [envelope.raw])
    if result.outcome is not Outcome.ACCEPTED or result.id != envelope.id:
        raise Failed(f"expected accepted for {envelope.id}, got {describe(result)} for {result.id}")
    run.facts["accepted"] = envelope


@check("envelopes", "duplicate", SECTION, "the same bytes again: duplicate, with no reason")
async def duplicate(run: Run) -> None:
    envelope = await _accepted(run)
    await expect_outcome(run, "a", envelope.raw, Outcome.DUPLICATE)


@check("envelopes", "duplicate-in-batch", SECTION, "one envelope twice in a batch: then duplicate")
async def duplicate_in_batch(run: Run) -> None:
    envelope = run.kit.to_target("a")
    results = await push(run, "a", [envelope.raw, envelope.raw])
    got = [r.outcome for r in results]
    if got != [Outcome.ACCEPTED, Outcome.DUPLICATE]:
        raise Failed(f"expected accepted, duplicate; got {', '.join(map(describe, results))}")


@check("envelopes", "replayed-request", "05 §1", "a captured push replayed: 200, duplicate")
async def replayed_request(run: Run) -> None:
    body = encode_batch([run.kit.to_target("a").raw])
    headers = signed_headers(
        run.kit["a"], method="POST", path=INBOX, destination=run.target.agency, body=body
    )
    headers["Content-Type"] = MEDIA_TYPE
    outcomes = []
    for _ in range(2):  # the same signed request, byte for byte, within the skew
        answer = await run.target.send("POST", INBOX, body=body, headers=headers)
        (result,) = decode_results(answer.expect_msgpack("POST /fed/v1/inbox"), 1)
        outcomes.append(result.outcome)
    if outcomes != [Outcome.ACCEPTED, Outcome.DUPLICATE]:
        raise Failed(f"expected accepted then duplicate, got {[o.value for o in outcomes]}")


@check("envelopes", "receipt", "11 §5", "the target proves it logged the envelope, signed")
async def receipt(run: Run) -> None:
    envelope = await _accepted(run)
    path = f"/fed/v1/audit/inclusion?envelope={envelope.id}"
    answer = await run.target.call(run.kit["a"], "GET", path)
    bundle = InclusionBundle.from_bytes(answer.expect_msgpack(f"GET {path}"))
    try:
        verified = verify_bundle(bundle)
    except BalizaError as err:
        raise Failed(f"the bundle does not verify: {err.reason.value}: {err}") from None
    target_keys = run.kit.target.keys
    if verified.fingerprint != target_keys.fingerprint():
        raise Failed(
            "the tree head is signed with a key the directory does not list for the target"
        )
    entry = verified.entry
    if entry.kind is not EntryKind.ENVELOPE_RECEIVED or entry.subject != envelope.id:
        raise Failed(f"the entry is {entry.kind.value} of {entry.subject}, not this envelope")
    if entry.peer != run.kit["a"].agency or entry.digest != content_digest(envelope.raw):
        raise Failed("the entry does not name A and the digest of the bytes pushed")


@check("envelopes", "head-signed", "11 §5", "the target's audit head is signed by its listed key")
async def head_signed(run: Run) -> None:
    answer = await run.target.call(run.kit["a"], "GET", "/fed/v1/audit/head")
    signed = SignedTreeHead.from_bytes(answer.expect_msgpack("GET /fed/v1/audit/head"))
    try:
        head = verify_tree_head(run.kit.target.keys, signed)
    except BalizaError as err:
        raise Failed(f"the head does not verify: {err.reason.value}: {err}") from None
    if head.log != run.kit.target.agency or head.size < 1:
        raise Failed(f"a head of {head.log}'s log of {head.size} entries")


@check("envelopes", "receipt-for-others", "11 §5", "no proof for an envelope A did not send")
async def receipt_for_others(run: Run) -> None:
    envelope = await _accepted(run)
    path = f"/fed/v1/audit/inclusion?envelope={envelope.id}"
    answer = await run.target.call(run.kit["b"], "GET", path)
    answer.expect_refusal("not_found", 404)


@check("envelopes", "conflict", SECTION, "an id reused with other bytes: refused conflict")
async def conflict(run: Run) -> None:
    envelope = await _accepted(run)
    other = run.kit.to_target("a", envelope_id=envelope.id)
    await expect_outcome(run, "a", other.raw, Outcome.REFUSED, "conflict")


@check("envelopes", "bad-signature", "02 §6", "a signature byte flipped: refused bad_signature")
async def bad_signature(run: Run) -> None:
    envelope = run.kit.to_target("a")
    sigs = dict(envelope.signatures)
    alg = sorted(sigs)[0]
    flipped = bytearray(sigs[alg])
    flipped[len(flipped) // 2] ^= 0x01
    sigs[alg] = bytes(flipped)
    raw = encode({"v": 1, "signed": envelope.signed_bytes, "sig": sigs})
    await expect_outcome(run, "a", raw, Outcome.REFUSED, "bad_signature")


@check("envelopes", "not-a-recipient", SECTION, "an envelope for B only: refused not_a_recipient")
async def not_a_recipient(run: Run) -> None:
    envelope = run.kit.seal("a", [run.kit.public("b")])
    await expect_outcome(run, "a", envelope.raw, Outcome.REFUSED, "not_a_recipient")


@check("envelopes", "sender-not-origin", SECTION, "B's envelope pushed by A: unknown_sender")
async def sender_not_origin(run: Run) -> None:
    envelope = run.kit.to_target("b")
    await expect_outcome(run, "a", envelope.raw, Outcome.REFUSED, "unknown_sender")


@check("envelopes", "unknown-key", "04 §5", "signed by a key the directory lacks: unknown_key")
async def unknown_key(run: Run) -> None:
    a = run.kit["a"]
    impostor = AgencyKeys.generate(
        a.agency,
        a.suite,
        valid_from_ms=a.public().valid_from_ms,
        valid_until_ms=a.public().valid_until_ms,
    )
    envelope = run.kit.to_target("a", keys=impostor)
    await expect_outcome(run, "a", envelope.raw, Outcome.REFUSED, "unknown_key")


@check("envelopes", "stale", SECTION, "created 30 days ahead, pushed now: refused stale")
async def stale(run: Run) -> None:
    envelope = run.kit.to_target("a", created_ms=now_ms() + WINDOW_MS)
    await expect_outcome(run, "a", envelope.raw, Outcome.REFUSED, "stale")


@check("envelopes", "kind-mismatch", "02 §7", "header kind alert, a seizure inside: kind_mismatch")
async def kind_mismatch(run: Run) -> None:
    plaintext = encode_notice(run.kit.notice("a"))
    envelope = run.kit.seal_plaintext("a", plaintext, MessageKind.ALERT)
    await expect_outcome(run, "a", envelope.raw, Outcome.REFUSED, "kind_mismatch")


@check("envelopes", "invalid-notice", "03", "a seizure without seized_ms inside: missing_field")
async def invalid_notice(run: Run) -> None:
    fields = decode(encode_notice(run.kit.notice("a")))
    assert isinstance(fields, dict)
    del fields["seized_ms"]
    envelope = run.kit.seal_plaintext("a", encode(fields), MessageKind.SEIZURE)
    await expect_outcome(run, "a", envelope.raw, Outcome.REFUSED, "missing_field")


@check("envelopes", "unknown-version", "01", "an envelope of version 2: refused unknown_version")
async def unknown_version(run: Run) -> None:
    raw = run.kit.to_target("a").raw
    if not raw.endswith(_OUTER_V):
        raise Failed("the reference encoder's envelope does not end with v: 1")
    bumped = raw[:-1] + b"\x02"
    await expect_outcome(run, "a", bumped, Outcome.REFUSED, "unknown_version")


@check("envelopes", "non-canonical", "01", "an over-long integer encoding: refused non_canonical")
async def non_canonical(run: Run) -> None:
    raw = run.kit.to_target("a").raw
    longer = raw[:-1] + b"\xcc\x01"  # 1 as uint8: valid msgpack, not canonical
    await expect_outcome(run, "a", longer, Outcome.REFUSED, "non_canonical")


@check("envelopes", "unknown-field", "01", "an envelope with an extra field: unknown_field")
async def unknown_field(run: Run) -> None:
    envelope = run.kit.to_target("a")
    extra = encode(
        {"v": 1, "signed": envelope.signed_bytes, "sig": dict(envelope.signatures), "x": 1}
    )
    await expect_outcome(run, "a", extra, Outcome.REFUSED, "unknown_field")


@check("envelopes", "malformed", "01", "bytes that are no envelope: refused malformed")
async def malformed(run: Run) -> None:
    await expect_outcome(run, "a", b"\x93\x01", Outcome.REFUSED, "malformed")


@check("envelopes", "mixed-batch", SECTION, "refusals in a batch do not stop the good envelopes")
async def mixed_batch(run: Run) -> None:
    good = run.kit.to_target("a")
    stranger = run.kit.seal("a", [run.kit.public("b")])
    results = await push(run, "a", [b"\x93\x01", good.raw, stranger.raw])
    got = [(r.outcome, r.reason) for r in results]
    want = [
        (Outcome.REFUSED, "malformed"),
        (Outcome.ACCEPTED, None),
        (Outcome.REFUSED, "not_a_recipient"),
    ]
    if got != want:
        raise Failed(f"expected malformed, accepted, not_a_recipient; got {got}")


@check("envelopes", "empty-batch", SECTION, "a batch of no envelopes: refused whole, 422")
async def empty_batch(run: Run) -> None:
    body = encode({"envelopes": []})
    answer = await run.target.call(run.kit["a"], "POST", INBOX, body)
    answer.expect_refusal("bad_length", 422)


@check("envelopes", "batch-over-100", SECTION, "101 envelopes in a batch: refused whole, 422")
async def batch_over_100(run: Run) -> None:
    one = b"\x93\x01"
    body = encode({"envelopes": [one] * 101})
    answer = await run.target.call(run.kit["a"], "POST", INBOX, body)
    answer.expect_refusal("too_many_items", 422)


@check("envelopes", "batch-non-canonical", "01", "a batch with an over-long bin header: 422")
async def batch_non_canonical(run: Run) -> None:
    raw = run.kit.to_target("a").raw
    if not 256 <= len(raw) < 65_536:
        raise Failed(f"the reference envelope is {len(raw)} bytes, outside bin16")
    # bin32 (0xc6) for a length that bin16 holds: valid msgpack, not canonical.
    body = b"\x81\xa9envelopes\x91\xc6" + len(raw).to_bytes(4, "big") + raw
    answer = await run.target.call(run.kit["a"], "POST", INBOX, body)
    answer.expect_refusal("non_canonical", 422)


@check("envelopes", "batch-unknown-field", SECTION, "an unknown field in the batch: 422")
async def batch_unknown_field(run: Run) -> None:
    body = encode({"envelopes": [run.kit.to_target("a").raw], "relay": True})
    answer = await run.target.call(run.kit["a"], "POST", INBOX, body)
    answer.expect_refusal("unknown_field", 422)
