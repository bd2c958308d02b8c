"""protocol/vectors/channel-review.json: reproduced by its generator, and every case holds."""

from __future__ import annotations

import json
from typing import Any

import pytest
from make_channel_review_vectors import OUT, deterministic

from baliza.crypto.channel_review import (
    change_lines,
    membership_changes,
    membership_fingerprint,
)
from baliza.protocol.channels import Membership

VECTORS: dict[str, Any] = json.loads(OUT.read_text(encoding="utf-8"))


def test_the_generator_reproduces_the_file() -> None:
    assert deterministic() == VECTORS


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: str(c["name"]))
def test_each_case_reads_as_listed(case: dict[str, Any]) -> None:
    old = Membership.from_bytes(bytes.fromhex(case["in_force"])) if case["in_force"] else None
    raw = bytes.fromhex(case["proposal"])
    assert membership_fingerprint(raw) == case["fingerprint"]
    assert membership_changes(old, Membership.from_bytes(raw)).to_json() == case["changes"]


def test_the_takeover_reads_loudly() -> None:
    [case] = [c for c in VECTORS["cases"] if c["name"] == "takeover"]
    old = Membership.from_bytes(bytes.fromhex(case["in_force"]))
    lines = change_lines(
        membership_changes(old, Membership.from_bytes(bytes.fromhex(case["proposal"])))
    )
    assert lines[:3] == [
        "version 2 → 3",
        "THRESHOLD LOWERED: 2 → 1 owner signatures",
        "OWNER REMOVED: es.aduanas.alg",
    ]
    assert "member added: es.gc.mad" in lines


def test_the_fingerprint_is_of_the_membership_only() -> None:
    raw = bytes.fromhex(VECTORS["cases"][0]["proposal"])
    assert membership_fingerprint(raw) != membership_fingerprint(raw + b"\x00")
    assert len(membership_fingerprint(raw).replace(" ", "")) == 32


@pytest.mark.parametrize(
    "signing", VECTORS["signing"], ids=lambda s: f"{s['case']}:{s['signer']}:{s['expect']}"
)
def test_each_signing_request_decides_as_listed(signing: dict[str, Any]) -> None:
    from baliza.node.services.rules.channel_signing import NamedChange, check_signing
    from baliza.protocol.errors import BalizaError

    case = next(c for c in VECTORS["cases"] if c["name"] == signing["case"])
    old = (
        None if case["in_force"] is None else Membership.from_bytes(bytes.fromhex(case["in_force"]))
    )
    new = Membership.from_bytes(bytes.fromhex(case["proposal"]))
    try:
        check_signing(
            membership_changes(old, new),
            case["fingerprint"],
            signing["signer"],
            confirm=signing["confirm"],
            accept=[NamedChange(a) for a in signing["accept"]],
        )
    except BalizaError as err:
        assert (err.reason.value, err.path) == (signing["expect"], signing["path"])
    else:
        assert signing["expect"] == "ok"
