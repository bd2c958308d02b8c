"""Write protocol/vectors/channels.json: membership documents, update decisions, a channel envelope.

Run ``.venv/bin/python tests/crypto/make_channel_vectors.py`` from the
repository root. The test agencies' keys are those of ``envelopes.json``
(classic suite, from fixed seeds); Ed25519 signatures are deterministic, so
the memberships and decisions are the same bytes on every run, and
``test_crypto_vectors_channels.py`` checks the file reproduces exactly. The
channel envelope is randomised (HPKE, content key, nonce): it is checked by
opening it, not by comparing bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from channel_support import ALICE, BOB, CAROL, DAY, MALLORY, admit, membership, signed
from crypto_support import AGENCIES, NOTICE_PLAINTEXT, NOW_MS, eid, keys, public

from baliza.crypto import Suite, seal_bytes
from baliza.crypto.channels import check_known, parse_membership
from baliza.protocol.canonical import decode, encode
from baliza.protocol.channels import ChannelKind, Membership, SignedMembership, founding_digest
from baliza.protocol.envelope import Header, MessageKind
from baliza.protocol.errors import BalizaError
from baliza.protocol.handling import Handling, Tlp
from baliza.protocol.ids import AgencyId, ChannelId, KeyId

OUT = Path(__file__).resolve().parents[2] / "protocol" / "vectors" / "channels.json"
STRANGER = AgencyId("fr.douane.leh")


def documents() -> dict[str, bytes]:
    """Named signed memberships: a history and the attempts the rules refuse."""
    v2_members = tuple(sorted((ALICE, BOB)))
    everyone = tuple(sorted((ALICE, BOB, CAROL, MALLORY)))
    # Mallory's own founding of the JIT's id (herself sole owner), and her
    # "version 1000" of it: the squat of docs/spec/06-channels.md §2.
    squat_v1 = membership(owners=(MALLORY,), threshold=1, members=everyone)
    squat_founding = founding_digest(squat_v1.to_bytes())

    def squat(version: int, **changes: Any) -> Membership:
        return membership(version, owners=(MALLORY,), threshold=1, members=everyone, **changes)

    return {
        "v1": signed(membership(), "alice", "bob"),
        "v1-one-owner": signed(membership(), "alice"),
        "v1-fork": signed(membership(name="Another JIT"), "alice", "bob"),
        "v2-remove-carol": signed(membership(2, members=v2_members), "alice", "bob"),
        "v2-signed-by-carol": signed(membership(2), "carol"),
        "v2-mallory-takes-over": signed(
            membership(2, owners=(MALLORY,), threshold=1, members=tuple(sorted((ALICE, MALLORY)))),
            "mallory",
        ),
        "v2-handover-old-owners-only": signed(
            membership(2, owners=tuple(sorted((ALICE, CAROL)))), "alice", "bob"
        ),
        "v2-handover": signed(
            membership(2, owners=tuple(sorted((ALICE, CAROL)))), "alice", "bob", "carol"
        ),
        "v2-stranger": signed(
            membership(2, members=tuple(sorted((ALICE, BOB, STRANGER)))), "alice", "bob"
        ),
        "v2-other-channel": signed(membership(2, channel=ChannelId("jit.other")), "alice", "bob"),
        "v2-fork": signed(membership(2, name="Another JIT"), "alice", "bob"),
        "v3-remove-carol": signed(membership(3, members=v2_members), "alice", "bob"),
        "v1-mallory-founds": signed(squat_v1, "mallory"),
        "v1000-mallory": signed(squat(1000, founding=squat_founding), "mallory"),
        "v1000-mallory-genuine-founding": signed(squat(1000), "mallory"),
        "v1-mallory-programme": signed(squat(1, kind=ChannelKind.PROGRAMME), "mallory"),
    }


TRANSITIONS = [
    (None, "v1", NOW_MS),
    (None, "v1-one-owner", NOW_MS),
    (None, "v1", NOW_MS + 31 * DAY),
    ("v1", "v2-remove-carol", NOW_MS),
    ("v1", "v1-fork", NOW_MS),
    ("v2-remove-carol", "v1", NOW_MS),
    ("v1", "v2-signed-by-carol", NOW_MS),
    ("v1", "v2-mallory-takes-over", NOW_MS),
    ("v1", "v2-handover-old-owners-only", NOW_MS),
    ("v1", "v2-handover", NOW_MS),
    ("v1", "v2-stranger", NOW_MS),
    ("v1", "v2-other-channel", NOW_MS),
    (None, "v2-remove-carol", NOW_MS),
    (None, "v1000-mallory", NOW_MS),
    (None, "v1-mallory-founds", NOW_MS),
    ("v1", "v1-mallory-founds", NOW_MS),
    ("v1", "v1000-mallory", NOW_MS),
    ("v2-remove-carol", "v1000-mallory", NOW_MS),
    ("v1", "v1000-mallory-genuine-founding", NOW_MS),
    ("v1", "v1-mallory-programme", NOW_MS),
    ("v2-remove-carol", "v2-fork", NOW_MS),
]

# (current, held at the candidate's version or None, candidate): a version not
# newer than the one in force, checked against the chain held.
KNOWN = [
    ("v2-remove-carol", "v1", "v1"),
    ("v2-remove-carol", None, "v1"),
    ("v2-remove-carol", "v1", "v1-mallory-founds"),
    ("v2-remove-carol", "v1", "v1-mallory-programme"),
    ("v3-remove-carol", "v2-remove-carol", "v2-fork"),
    ("v3-remove-carol", "v2-remove-carol", "v2-remove-carol"),
]


# One character of each UTF-8 length: names count characters, not bytes (06 §1).
WIDTHS = {1: "a", 2: "\u00e9", 3: "\u20ac", 4: "\U0001f6a2"}


def _edited(change: dict[str, Any], drop: tuple[str, ...] = ()) -> bytes:
    """Version 2 of the test JIT as a map, with fields replaced or dropped, encoded."""
    wire = dict(membership(2).to_wire())
    wire.update(change)
    for name in drop:
        del wire[name]
    return encode(wire)


def shape_cases() -> list[tuple[str, str, bytes]]:
    """(name, document, bytes): each shape rule of 06 §1 at its edge."""
    v2 = membership(2)
    cases: list[tuple[str, str, bytes]] = []
    for width, char in WIDTHS.items():
        cases.append(
            (f"name of 200 {width}-byte characters", "membership", _edited({"name": char * 200}))
        )
        cases.append(
            (f"name of 201 {width}-byte characters", "membership", _edited({"name": char * 201}))
        )
    members = sorted((ALICE, BOB, CAROL))
    cases += [
        ("empty name", "membership", _edited({"name": ""})),
        ("name with a line feed", "membership", _edited({"name": "JIT\nColombia"})),
        ("name with a trailing space", "membership", _edited({"name": "JIT "})),
        ("membership version 2 (inner v)", "membership", _edited({"v": 2})),
        ("channel id with upper case", "membership", _edited({"channel": "JIT.co"})),
        ("members not sorted", "membership", _edited({"members": members[::-1]})),
        ("a member twice", "membership", _edited({"members": [ALICE, ALICE, BOB, CAROL]})),
        ("an owner who is not a member", "membership", _edited({"members": [ALICE, CAROL]})),
        ("threshold 0", "membership", _edited({"threshold": 0})),
        ("threshold above the owners", "membership", _edited({"threshold": 3})),
        ("expires at issue", "membership", _edited({"expires_ms": v2.issued_ms})),
        ("version 2 without founding", "membership", _edited({}, drop=("founding",))),
        ("version 1 with a founding", "membership", _edited({"version": 1})),
        ("an unknown field", "membership", _edited({"colour": "red"})),
        (
            "201 members",
            "membership",
            _edited({"members": [f"es.unit{i:03d}" for i in range(201)]}),
        ),
        ("over 64 KiB", "membership", _edited({"name": "x"}) + bytes(64 * 1024)),
    ]
    good = signed(v2, "alice", "bob")
    entries = decode(good)
    assert isinstance(entries, dict) and isinstance(entries["signatures"], list)
    first = entries["signatures"][0]
    cases += [
        ("signed by two owners", "signed", good),
        ("outer version 2", "signed", encode({**entries, "v": 2})),
        ("one signature entry twice", "signed", encode({**entries, "signatures": [first, first]})),
        (
            "signature entries not sorted",
            "signed",
            encode({**entries, "signatures": entries["signatures"][::-1]}),
        ),
        ("signed bytes not a membership", "signed", encode({**entries, "signed": b"\x01"})),
    ]
    return cases


def shape_decision(document: str, data: bytes) -> tuple[str, str]:
    """``ok`` or the reason code, and the path at fault."""
    parse = Membership.from_bytes if document == "membership" else SignedMembership.from_bytes
    try:
        parse(data)
    except BalizaError as err:
        return err.reason.value, err.path
    return "ok", ""


# 06 §4-5 at a receiver, before opening: (name, header's sender, kind, membership
# version named, the versions this node holds of the channel (names in
# ``memberships``)).
RECEIVER = [
    ("a member sends to version 1, the one held", "alice", "notice.case", 1, ["v1"]),
    ("a version this node does not hold", "alice", "notice.case", 2, ["v1"]),
    ("a sender that is not a member of the version named", "mallory", "notice.case", 1, ["v1"]),
    (
        "sealed to version 1 while version 2 removed a member",
        "alice",
        "notice.case",
        1,
        ["v1", "v2-remove-carol"],
    ),
    ("a case notice in a programme channel", "mallory", "notice.case", 1, ["v1-mallory-programme"]),
]


def receiver_decision(
    docs: dict[str, bytes], sender: str, kind: str, version: int, held: list[str]
) -> dict[str, str]:
    """``ok`` or the reason code and path ``check_channel_envelope`` gives."""
    from dataclasses import replace

    from crypto_support import AGENCIES as NAMES

    from baliza.node.services.channels import ChannelView, check_channel_envelope, stored

    versions = [stored(parse_membership(docs[n]), docs[n], NOW_MS) for n in held]
    at = next((v for v in versions if v.version == version), None)
    view = ChannelView(at_version=at, later=tuple(v for v in versions if v.version > version))
    header = replace(
        _channel_header(),
        sender=AgencyId(NAMES[sender]),
        kind=MessageKind(kind),
        membership_version=version,
    )
    try:
        check_channel_envelope(header, view)
    except BalizaError as err:
        return {"expect": err.reason.value, "path": err.path}
    return {"expect": "ok", "path": ""}


def _channel_header() -> Header:
    return Header(
        id=eid(8),
        kind=MessageKind.CASE,
        sender=ALICE,
        sender_key=KeyId(bytes(16)),
        created_ms=NOW_MS,
        channel=ChannelId("jit.co-es-2026-07"),
        membership_version=1,
        handling=Handling(tlp=Tlp.AMBER),
        suite="classic-v1",
        key_commitment=bytes(32),
    )


def decision(docs: dict[str, bytes], current: str | None, candidate: str, now: int) -> str:
    """``accepted`` or the reason code of the refusal."""
    try:
        admit(None if current is None else docs[current], docs[candidate], now)
    except BalizaError as err:
        return err.reason.value
    return "accepted"


def known_decision(docs: dict[str, bytes], current: str, held: str | None, candidate: str) -> str:
    """``unchanged`` or the reason code of the refusal."""
    try:
        check_known(
            parse_membership(docs[current]),
            parse_membership(docs[candidate]),
            None if held is None else parse_membership(docs[held]).signed,
        )
    except BalizaError as err:
        return err.reason.value
    return "unchanged"


def deterministic() -> dict[str, Any]:
    """The part of the file that must reproduce byte for byte."""
    docs = documents()
    return {
        "comment": "Channel membership vectors (docs/spec/06-channels.md). Keys: the classic "
        "key sets of envelopes.json. A transition admits `candidate` over `current` "
        "(null: the node holds no version of the channel) at `now_ms`. A `known` entry "
        "checks a candidate not newer than `current` against the version `held` at its "
        "number (null: not held): `unchanged` or the reason code. A `shapes` entry is a "
        "`membership` (the signed bytes) or a `signed` document decoded alone: `ok` or the "
        "reason code and path of 06 §1. An `at_receiver` entry is a channel envelope's "
        "header (sender, kind, `membership_version`) checked before opening by a node "
        "holding the `held` versions: `ok` or the reason code (06 §4).",
        "agencies": {name: AGENCIES[name] for name in ("alice", "bob", "carol", "mallory")},
        "directory": {
            "comment": "The federation directory every transition is checked against: "
            "these four agencies are its members (no other agency is), each with one "
            "classic key set of envelopes.json (its signing key id below), valid at every "
            "`now_ms` here. An owner signature by any other key is `unknown_key`; a member "
            "not listed here is `not_a_member`.",
            "members": {
                AGENCIES[name]: bytes(public(name, Suite.CLASSIC).signing_key_id).hex()
                for name in ("alice", "bob", "carol", "mallory")
            },
        },
        "memberships": {name: raw.hex() for name, raw in docs.items()},
        "transitions": [
            {
                "current": current,
                "candidate": candidate,
                "now_ms": now,
                "expect": decision(docs, current, candidate, now),
            }
            for current, candidate, now in TRANSITIONS
        ],
        "shapes": [
            {
                "name": name,
                "document": document,
                "hex": data.hex(),
                "expect": shape_decision(document, data)[0],
                "path": shape_decision(document, data)[1],
            }
            for name, document, data in shape_cases()
        ],
        "at_receiver": [
            {
                "name": name,
                "sender": sender,
                "kind": kind,
                "membership_version": version,
                "held": held,
                **receiver_decision(docs, sender, kind, version, held),
            }
            for name, sender, kind, version, held in RECEIVER
        ],
        "known": [
            {
                "current": current,
                "held": held,
                "candidate": candidate,
                "expect": known_decision(docs, current, held, candidate),
            }
            for current, held, candidate in KNOWN
        ],
    }


def channel_envelope() -> dict[str, Any]:
    """An envelope from Alice to the channel at version 1 (members Alice, Bob, Carol)."""
    members = ("alice", "bob", "carol")
    envelope = seal_bytes(
        NOTICE_PLAINTEXT,
        kind=MessageKind.SEIZURE,
        sender=keys("alice", Suite.CLASSIC),
        recipients=[public(n, Suite.CLASSIC) for n in members],
        handling=Handling(tlp=Tlp.RED),
        envelope_id=eid(7),
        created_ms=NOW_MS,
        channel=ChannelId("jit.co-es-2026-07"),
        membership_version=1,
    )
    return {
        "envelope": envelope.raw.hex(),
        "sender": "alice",
        "readers": list(members),
        "not_readers": ["mallory"],
        "plaintext": NOTICE_PLAINTEXT.hex(),
    }


def main() -> None:
    # The envelope is random: keep the one on file, so regenerating changes
    # only what the rules decide.
    on_file = json.loads(OUT.read_text(encoding="utf-8")) if OUT.exists() else {}
    kept = on_file.get("channel_envelope")
    if kept is not None and kept.get("plaintext") != NOTICE_PLAINTEXT.hex():
        kept = None  # sealed over an older plaintext: seal the valid notice anew
    content = {**deterministic(), "channel_envelope": kept or channel_envelope()}
    OUT.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
