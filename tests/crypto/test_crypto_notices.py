"""The notice layer over seal/open: encode, check the kind, decode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from crypto_support import HANDLING, NOW_MS, PLAINTEXT, eid, keys, public

import baliza.protocol
from baliza.crypto import Suite, open_envelope, seal, seal_bytes
from baliza.crypto.seal import open_notice
from baliza.protocol.envelope import MessageKind, parse_envelope
from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.notices import Receipt, Retraction, decode_notice, encode_notice
from baliza.protocol.notices.lifecycle import ReceiptStatus

RECEIPT = Receipt(envelope=eid(9), status=ReceiptStatus.READ, at_ms=NOW_MS)


@pytest.mark.parametrize("suite", list(Suite))
def test_a_notice_round_trips_and_sets_the_header_kind(suite: Suite) -> None:
    envelope = seal(
        RECEIPT,
        sender=keys("alice", suite),
        recipients=[public("bob", suite)],
        handling=HANDLING,
        envelope_id=eid(),
        created_ms=NOW_MS,
    )
    assert envelope.header.kind is MessageKind.RECEIPT
    opened = open_envelope(
        parse_envelope(envelope.raw), recipient=keys("bob", suite), sender=public("alice", suite)
    )
    assert opened == RECEIPT


def test_open_notice_returns_the_canonical_bytes_it_decoded() -> None:
    # A receiver hashes these instead of encoding the notice again.
    envelope = seal(
        RECEIPT,
        sender=keys("alice"),
        recipients=[public("bob")],
        handling=HANDLING,
        envelope_id=eid(),
        created_ms=NOW_MS,
    )
    notice, plaintext = open_notice(envelope, recipient=keys("bob"), sender=public("alice"))
    assert notice == RECEIPT
    assert plaintext == encode_notice(RECEIPT)


def test_supersedes_travels_in_the_header() -> None:
    retraction = Retraction(supersedes=eid(7), reason="sent to the wrong unit")
    envelope = seal(
        retraction,
        sender=keys("alice"),
        recipients=[public("bob")],
        handling=HANDLING,
        envelope_id=eid(),
        created_ms=NOW_MS,
        supersedes=eid(7),
    )
    assert envelope.header.supersedes == eid(7)
    assert open_envelope(envelope, recipient=keys("bob"), sender=public("alice")) == retraction


def test_a_notice_of_another_kind_than_the_header_is_refused() -> None:
    # The header says seizure (nodes route on it without decrypting); the body is a receipt.
    envelope = seal_bytes(
        encode_notice(RECEIPT),
        kind=MessageKind.SEIZURE,
        sender=keys("alice"),
        recipients=[public("bob")],
        handling=HANDLING,
        envelope_id=eid(),
        created_ms=NOW_MS,
    )
    with pytest.raises(InputError) as info:
        open_envelope(envelope, recipient=keys("bob"), sender=public("alice"))
    assert info.value.reason is ReasonCode.KIND_MISMATCH


def test_a_plaintext_that_is_not_a_notice_is_refused_under_body() -> None:
    envelope = seal_bytes(
        PLAINTEXT,
        kind=MessageKind.SEIZURE,
        sender=keys("alice"),
        recipients=[public("bob")],
        handling=HANDLING,
        envelope_id=eid(),
        created_ms=NOW_MS,
    )
    with pytest.raises(InputError) as info:
        open_envelope(envelope, recipient=keys("bob"), sender=public("alice"))
    assert info.value.path.startswith("body")


NOTICE_VECTORS = [
    v
    for v in json.loads(
        (Path(baliza.protocol.__file__).parent / "vectors" / "notices.json").read_text()
    )
    if v["expect"] == "ok"
]


@pytest.mark.parametrize("vector", NOTICE_VECTORS, ids=lambda v: str(v["name"]))
def test_every_kind_of_notice_round_trips(vector: dict[str, str]) -> None:
    notice = decode_notice(bytes.fromhex(vector["hex"]))
    envelope = seal(
        notice,
        sender=keys("alice"),
        recipients=[public("bob")],
        handling=HANDLING,
        envelope_id=eid(),
        created_ms=NOW_MS,
    )
    assert envelope.header.kind is notice.kind
    received = parse_envelope(envelope.raw)
    assert open_envelope(received, recipient=keys("bob"), sender=public("alice")) == notice
