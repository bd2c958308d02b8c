"""Attachments fetched and refused (chapter 10 §2–3).

A fetches the attachment of the notice the operator sent it, opens the
records with the key derived from the envelope's content key, and checks
the hash and size the signed notice lists. Everyone else, and every other
name, is answered ``not_found`` (or refused before that).
"""

from __future__ import annotations

import hashlib
import os

from baliza.crypto.attachments import RecordOpener, attachment_key, sealed_size
from baliza.crypto.seal import content_key
from baliza.node.conformance.checks import Run, check
from baliza.node.conformance.outbox import Delivered, operators_notice
from baliza.node.conformance.verdict import Failed
from baliza.node.core.clock import new_envelope_id
from baliza.protocol.errors import BalizaError

SECTION = "10 §3"


def _first(item: Delivered) -> tuple[bytes, int]:
    attachment = item.attachments[0]
    return attachment.sha256, attachment.size


def _path(envelope_id: str, sha256_hex: str) -> str:
    return f"/fed/v1/attachments/{envelope_id}/{sha256_hex}"


@check("attachments", "fetched", SECTION, "a recipient fetches it; it opens to the listed bytes")
async def fetched(run: Run) -> None:
    item = await operators_notice(run)
    sha256, size = _first(item)
    path = _path(item.envelope.id, sha256.hex())
    answer = await run.target.call(run.kit["a"], "GET", path)
    answer.expect_msgpack(f"GET {path}")  # labelled as every federation answer (05, 10 §3)
    if len(answer.body) != sealed_size(size):
        raise Failed(f"{len(answer.body)} bytes sealed, expected {sealed_size(size)} (10 §1)")
    ck = content_key(item.envelope, recipient=run.kit["a"], sender=run.kit.target.keys)
    opener = RecordOpener(attachment_key(ck, item.envelope.id, sha256), size)
    try:
        content = b"".join(opener.feed(answer.body))
        opener.finish()
    except BalizaError as err:
        raise Failed(f"the records do not open: {err.reason.value}: {err}") from None
    if hashlib.sha256(content).digest() != sha256 or len(content) != size:
        raise Failed("the content opened is not what the signed notice lists")


@check("attachments", "other-member", SECTION, "a member it was not sent to: 404 not_found")
async def other_member(run: Run) -> None:
    item = await operators_notice(run)
    sha256, _ = _first(item)
    answer = await run.target.call(run.kit["b"], "GET", _path(item.envelope.id, sha256.hex()))
    answer.expect_refusal("not_found", 404)


@check("attachments", "unlisted-hash", SECTION, "a hash the notice does not list: 404 not_found")
async def unlisted_hash(run: Run) -> None:
    item = await operators_notice(run)
    answer = await run.target.call(
        run.kit["a"], "GET", _path(item.envelope.id, os.urandom(32).hex())
    )
    answer.expect_refusal("not_found", 404)


@check("attachments", "unknown-envelope", SECTION, "an envelope id never sent: 404 not_found")
async def unknown_envelope(run: Run) -> None:
    item = await operators_notice(run)
    sha256, _ = _first(item)
    answer = await run.target.call(run.kit["a"], "GET", _path(new_envelope_id(), sha256.hex()))
    answer.expect_refusal("not_found", 404)


@check("attachments", "bad-hash", SECTION, "a hash that is not 64 lower-case hex: 422 bad_format")
async def bad_hash(run: Run) -> None:
    item = await operators_notice(run)
    sha256, _ = _first(item)
    answer = await run.target.call(
        run.kit["a"], "GET", _path(item.envelope.id, sha256.hex().upper())
    )
    answer.expect_refusal("bad_format", 422)


@check("attachments", "not-a-member", SECTION, "an agency outside the directory: unknown_sender")
async def not_a_member(run: Run) -> None:
    item = await operators_notice(run)
    sha256, _ = _first(item)
    answer = await run.target.call(run.kit["x"], "GET", _path(item.envelope.id, sha256.hex()))
    answer.expect_refusal("unknown_sender", 403)
