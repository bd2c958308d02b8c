"""protocol/vectors/channels.json: reproduced by its generator, and every vector holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from crypto_support import AGENCIES, public
from make_channel_vectors import OUT, decision, deterministic, known_decision

from baliza.crypto import Suite, open_bytes
from baliza.crypto.channels import parse_membership
from baliza.protocol.channels import Membership, SignedMembership
from baliza.protocol.envelope import parse_envelope
from baliza.protocol.errors import BalizaError
from baliza.protocol.notices import decode_notice

VECTORS: dict[str, Any] = json.loads(Path(OUT).read_text(encoding="utf-8"))
DOCS = {name: bytes.fromhex(raw) for name, raw in VECTORS["memberships"].items()}


def test_the_directory_of_the_transitions_is_the_test_one() -> None:
    assert VECTORS["directory"]["members"] == {
        AGENCIES[n]: bytes(public(n, Suite.CLASSIC).signing_key_id).hex() for n in AGENCIES
    }


def test_the_generator_reproduces_the_file() -> None:
    assert {k: v for k, v in VECTORS.items() if k != "channel_envelope"} == deterministic()


@pytest.mark.parametrize("name", sorted(DOCS))
def test_memberships_are_canonical(name: str) -> None:
    assert parse_membership(DOCS[name]).to_bytes() == DOCS[name]


@pytest.mark.parametrize(
    "transition", VECTORS["transitions"], ids=lambda t: f"{t['current']}->{t['candidate']}"
)
def test_each_transition_decides_as_listed(transition: dict[str, Any]) -> None:
    got = decision(DOCS, transition["current"], transition["candidate"], transition["now_ms"])
    assert got == transition["expect"]


@pytest.mark.parametrize(
    "known", VECTORS["known"], ids=lambda k: f"{k['current']}:{k['held']}<-{k['candidate']}"
)
def test_each_known_version_decides_as_listed(known: dict[str, Any]) -> None:
    got = known_decision(DOCS, known["current"], known["held"], known["candidate"])
    assert got == known["expect"]


def test_the_squats_of_the_spec_are_refused_as_listed() -> None:
    expect = {(t["current"], t["candidate"]): t["expect"] for t in VECTORS["transitions"]}
    assert expect[(None, "v1000-mallory")] == "channel_unfounded"
    assert expect[("v1", "v1000-mallory")] == "channel_conflict"
    assert expect[("v1", "v1-mallory-founds")] == "channel_conflict"
    assert expect[("v1", "v1-mallory-programme")] == "membership_mismatch"
    assert expect[("v2-remove-carol", "v2-fork")] == "membership_fork"
    held = {(k["held"], k["candidate"]): k["expect"] for k in VECTORS["known"]}
    assert held[("v2-remove-carol", "v2-fork")] == "membership_fork"
    assert held[("v1", "v1-mallory-founds")] == "channel_conflict"


def test_the_channel_envelope_opens_for_members_only() -> None:
    from crypto_support import keys

    vector = VECTORS["channel_envelope"]
    envelope = parse_envelope(bytes.fromhex(vector["envelope"]))
    assert envelope.header.channel == "jit.co-es-2026-07"
    assert envelope.header.membership_version == 1
    sender = public(vector["sender"], Suite.CLASSIC)
    for reader in vector["readers"]:
        plaintext = open_bytes(envelope, recipient=keys(reader, Suite.CLASSIC), sender=sender)
        assert plaintext == bytes.fromhex(vector["plaintext"])
    # Chapter 02 §7 steps 16-17: what a member opens is a notice of the header's kind.
    assert decode_notice(plaintext).kind == envelope.header.kind
    for outsider in vector["not_readers"]:
        with pytest.raises(BalizaError):
            open_bytes(envelope, recipient=keys(outsider, Suite.CLASSIC), sender=sender)


@pytest.mark.parametrize("shape", VECTORS["shapes"], ids=lambda s: s["name"])
def test_each_shape_decodes_as_listed(shape: dict[str, Any]) -> None:
    data = bytes.fromhex(shape["hex"])
    parse = (
        Membership.from_bytes if shape["document"] == "membership" else SignedMembership.from_bytes
    )
    if shape["expect"] == "ok":
        assert parse(data).to_bytes() == data
        return
    with pytest.raises(BalizaError) as caught:
        parse(data)
    assert (caught.value.reason.value, caught.value.path) == (shape["expect"], shape["path"])


def test_a_name_is_counted_in_characters_in_every_utf8_width() -> None:
    """200 characters pass in 1-, 2-, 3- and 4-byte UTF-8; 201 never do (06 §1)."""
    by_name = {s["name"]: s for s in VECTORS["shapes"]}
    for width in (1, 2, 3, 4):
        assert by_name[f"name of 200 {width}-byte characters"]["expect"] == "ok"
        assert by_name[f"name of 201 {width}-byte characters"]["expect"] != "ok"


@pytest.mark.parametrize("case", VECTORS["at_receiver"], ids=lambda c: c["name"])
def test_each_channel_envelope_at_a_receiver_decides_as_listed(case: dict[str, Any]) -> None:
    from make_channel_vectors import receiver_decision

    got = receiver_decision(
        DOCS, case["sender"], case["kind"], case["membership_version"], case["held"]
    )
    assert got == {"expect": case["expect"], "path": case["path"]}
