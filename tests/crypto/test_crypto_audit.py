"""Signed tree heads: hybrid signatures of the log's agency, refused when anything is off."""

from __future__ import annotations

import dataclasses

import pytest
from crypto_support import NOW_MS, VALID_UNTIL_MS, keys, public, reason_of

from baliza.crypto.audit import sign_tree_head, verify_bundle, verify_tree_head
from baliza.crypto.signing import sign_detached
from baliza.protocol.audit import (
    AuditEntry,
    EntryKind,
    InclusionBundle,
    SignedTreeHead,
    TreeHead,
    content_digest,
)
from baliza.protocol.errors import BalizaError, InputError, ReasonCode
from baliza.protocol.ids import AgencyId
from baliza.protocol.merkle import leaf_hash, root_of

BOB = AgencyId("es.aduanas.alg")
ROOT = root_of([b"\x07" * 32])


def head(**changes: object) -> TreeHead:
    fields: dict[str, object] = {"log": BOB, "size": 1, "root": ROOT, "at_ms": NOW_MS}
    fields.update(changes)
    return TreeHead(**fields)  # type: ignore[arg-type]


def test_a_hybrid_head_carries_both_signatures_and_verifies() -> None:
    signed = sign_tree_head(keys("bob"), head())
    assert set(signed.sigs) == {"ed25519", "ml-dsa-65"}
    again = SignedTreeHead.from_bytes(signed.to_bytes())
    assert verify_tree_head(public("bob"), again) == head()


def test_a_node_cannot_sign_another_agencys_log() -> None:
    with pytest.raises(InputError):
        sign_tree_head(keys("alice"), head())


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ("drop-ml-dsa", ReasonCode.MISSING_SIGNATURE),
        ("flip-ml-dsa", ReasonCode.BAD_SIGNATURE),
        ("other-root", ReasonCode.BAD_SIGNATURE),
        ("as-a-membership", ReasonCode.BAD_SIGNATURE),
        ("other-agency-keys", ReasonCode.KEY_ID_MISMATCH),
        ("after-key-expiry", ReasonCode.KEY_EXPIRED),
    ],
)
def test_a_head_is_refused_when_anything_is_off(tamper: str, reason: ReasonCode) -> None:
    signed = sign_tree_head(keys("bob"), head())
    checker = public("bob")
    sigs = dict(signed.sigs)
    body = signed.signed
    if tamper == "drop-ml-dsa":
        del sigs["ml-dsa-65"]
    elif tamper == "flip-ml-dsa":
        sigs["ml-dsa-65"] = bytes([sigs["ml-dsa-65"][0] ^ 1]) + sigs["ml-dsa-65"][1:]
    elif tamper == "other-root":
        body = head(root=b"\x01" * 32).to_bytes()
    elif tamper == "as-a-membership":
        # Bob's valid signature over the same bytes for another purpose.
        sigs = sign_detached(keys("bob"), "baliza-channel-membership-v1", body)
    elif tamper == "other-agency-keys":
        checker = public("alice")
    elif tamper == "after-key-expiry":
        body = head(at_ms=VALID_UNTIL_MS + 1).to_bytes()
        sigs = dict(sign_tree_head(keys("bob"), head(at_ms=VALID_UNTIL_MS + 1)).sigs)
    forged = dataclasses.replace(signed, signed=body, sigs=sigs)
    with pytest.raises(BalizaError) as info:
        verify_tree_head(checker, forged)
    assert reason_of(info.value) is reason


def test_a_bundle_proves_an_entry_and_its_content() -> None:
    content = b"envelope bytes"
    entry = AuditEntry(
        kind=EntryKind.ENVELOPE_RECEIVED,
        at_ms=NOW_MS,
        subject="0190d9a0-0000-7000-8000-000000000001",
        peer=AgencyId("co.polfa.ctg"),
        digest=content_digest(content),
    )
    signed = sign_tree_head(keys("bob"), head(root=leaf_hash(entry.to_bytes())))
    bundle = InclusionBundle(
        head=signed.to_bytes(),
        entry=entry.to_bytes(),
        index=0,
        proof=(),
        keys=public("bob").to_bytes(),
        content=content,
    )
    again = InclusionBundle.from_bytes(bundle.to_bytes())
    verified = verify_bundle(again)
    assert verified.entry == entry and verified.content_checked
    assert verified.fingerprint == public("bob").fingerprint()


def test_entries_hold_no_content_only_a_32_byte_digest() -> None:
    with pytest.raises(InputError) as info:
        AuditEntry(kind=EntryKind.TRUST, at_ms=0, subject="block.set", digest=b"seized cocaine")
    assert info.value.path == "digest"
