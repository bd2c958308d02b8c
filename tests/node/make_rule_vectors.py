"""Write protocol/vectors/rules.json: the handling, sharing and channel rules of chapter 07.

Run ``.venv/bin/python tests/node/make_rule_vectors.py`` from the repository
root. Each vector is what a node holds (signed headers as canonical bytes,
and the few facts it keeps about an earlier envelope or its policy, in JSON)
and the outcome the rule gives: ``ok`` or the reason code and path.
The rules are the node's pure ones (``node/services/rules``); another
implementation runs the same inputs through its own. Nothing is random:
``test_rule_vectors.py`` checks the file reproduces and each outcome holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from baliza.node.services.recipients import ChannelRoster
from baliza.node.services.rules.audience import (
    check_jit_kind,
    check_not_from_jit,
    nominal_allowed,
    refuse_nominal,
)
from baliza.node.services.rules.decide import _channel, republished
from baliza.node.services.rules.facts import ChannelFacts, Policy, ReceivedCopy, Superseded
from baliza.node.services.rules.identity import notice_identity
from baliza.node.services.rules.lifecycle import (
    check_handling_kept,
    check_same_channel,
    check_supersedes_owner,
)
from baliza.node.services.rules.shares import check_share_of
from baliza.node.services.subscriptions import check_change
from baliza.node.storage.subscriptions import Subscription
from baliza.protocol.envelope import Header, MessageKind
from baliza.protocol.errors import BalizaError
from baliza.protocol.handling import Handling, HandlingCode, Tlp
from baliza.protocol.ids import AgencyId, ChannelId, EnvelopeId, KeyId, make_envelope_id
from baliza.protocol.notices import decode_notice, encode_notice
from baliza.protocol.subscriptions import SubscriptionState

OUT = Path(__file__).resolve().parents[2] / "protocol" / "vectors" / "rules.json"
T0 = 1_767_225_600_000
CTG, ALG, RTM = AgencyId("co.polfa.ctg"), AgencyId("es.aduanas.alg"), AgencyId("nl.douane.rtm")
JIT = ChannelId("jit.co-es-2026-07")
AMBER = Handling(tlp=Tlp.AMBER, codes=(HandlingCode.H0, HandlingCode.H2))


def eid(n: int) -> EnvelopeId:
    return make_envelope_id(T0, n.to_bytes(10, "big"))


BASE = Header(
    id=eid(1),
    kind=MessageKind.SEIZURE,
    sender=CTG,
    sender_key=KeyId(bytes(range(16))),
    created_ms=T0,
    recipients=(ALG, RTM),
    handling=AMBER,
    suite="hybrid-v1",
    key_commitment=bytes(32),
)


def header(**changes: Any) -> Header:
    return replace(BASE, **changes)


def _outcome(run: Callable[[], object]) -> dict[str, str]:
    try:
        run()
    except BalizaError as err:
        return {"expect": err.reason.value, "path": err.path}
    return {"expect": "ok", "path": ""}


# 07 §6 checks 3-8 at the share's receiver: (name, share header, original header).
ORIGINAL = header(id=eid(2), sender=CTG, recipients=(ALG,))
SHARE = header(id=eid(3), sender=ALG, recipients=(RTM,), shares=eid(2))
SHARES: list[tuple[str, Header, Header]] = [
    ("a share of another agency's notice", SHARE, ORIGINAL),
    ("shares names another envelope", replace(SHARE, shares=eid(9)), ORIGINAL),
    ("the original is itself a share", SHARE, replace(ORIGINAL, shares=eid(8))),
    ("one's own notice", replace(SHARE, sender=CTG, recipients=(RTM,)), ORIGINAL),
    ("another kind", replace(SHARE, kind=MessageKind.ALERT), ORIGINAL),
    (
        "a receipt",
        replace(SHARE, kind=MessageKind.RECEIPT),
        replace(ORIGINAL, kind=MessageKind.RECEIPT),
    ),
    (
        "the original is TLP:RED",
        replace(SHARE, handling=Handling(tlp=Tlp.RED)),
        replace(ORIGINAL, handling=Handling(tlp=Tlp.RED)),
    ),
    (
        "the original is TLP:AMBER+STRICT",
        replace(SHARE, handling=Handling(tlp=Tlp.AMBER_STRICT)),
        replace(ORIGINAL, handling=Handling(tlp=Tlp.AMBER_STRICT)),
    ),
    (
        "the share lowers TLP",
        replace(SHARE, handling=Handling(tlp=Tlp.GREEN, codes=AMBER.codes)),
        ORIGINAL,
    ),
    (
        "the share drops H2",
        replace(SHARE, handling=Handling(tlp=Tlp.AMBER, codes=(HandlingCode.H0,))),
        ORIGINAL,
    ),
    (
        "the share raises TLP",
        replace(SHARE, handling=Handling(tlp=Tlp.RED, codes=AMBER.codes)),
        ORIGINAL,
    ),
]


def _superseded(facts: dict[str, Any]) -> Superseded:
    return Superseded(
        id=EnvelopeId(facts["id"]),
        sender=AgencyId(facts["sender"]),
        kind=facts["kind"],
        handling=Handling.from_wire(facts["handling"]),
        channel=None if facts["channel"] is None else ChannelId(facts["channel"]),
    )


def held(sender: str, *, handling: Handling = AMBER, channel: str | None = None) -> dict[str, Any]:
    """What a node holds of the superseded envelope ``eid(2)``."""
    return {
        "id": eid(2),
        "sender": sender,
        "kind": MessageKind.SEIZURE.value,
        "handling": handling.to_wire(),
        "channel": channel,
    }


CORRECTION = header(id=eid(4), kind=MessageKind.CORRECTION, supersedes=eid(2))
# 07 §4 at the publisher: (name, the superseding header, what it holds of the superseded).
SUPERSEDES: list[tuple[str, Header, dict[str, Any] | None]] = [
    ("a correction of one's own notice", CORRECTION, held(CTG)),
    ("a correction of a notice this node does not hold", CORRECTION, None),
    ("a correction of another agency's notice", CORRECTION, held(ALG)),
    (
        "a correction at a lower TLP",
        replace(CORRECTION, handling=Handling(tlp=Tlp.GREEN, codes=AMBER.codes)),
        held(CTG),
    ),
    (
        "a correction changing the restrictions",
        replace(
            CORRECTION,
            handling=Handling(
                tlp=Tlp.AMBER, codes=(HandlingCode.H3,), restrictions="Court use only."
            ),
        ),
        held(
            CTG,
            handling=Handling(
                tlp=Tlp.AMBER, codes=(HandlingCode.H3,), restrictions="No court use."
            ),
        ),
    ),
    ("a correction outside the channel of the original", CORRECTION, held(CTG, channel=JIT)),
]

# 05 §2 / 07 §4 at a receiver: (name, header, sender of the superseded envelope as held, or None).
RECEIVED: list[tuple[str, Header, str | None]] = [
    ("superseding what its sender sent here", CORRECTION, CTG),
    ("superseding what this node never received", CORRECTION, None),
    ("superseding another sender's envelope", CORRECTION, ALG),
]

# 06 §5: (name, kind, kind of the channel it travels in or None).
JIT_KINDS: list[tuple[str, MessageKind, str | None]] = [
    ("a case notice in a JIT", MessageKind.CASE, "jit"),
    ("a case notice to named recipients", MessageKind.CASE, None),
    ("a case notice in a programme channel", MessageKind.CASE, "programme"),
    ("a seizure in a programme channel", MessageKind.SEIZURE, "programme"),
]

# 07 §6: (name, channel the notice was received in or None, that channel's kind).
SHARED_FROM: list[tuple[str, str | None, str | None]] = [
    ("shared from named recipients", None, None),
    ("shared from a programme channel", "ccp.ec-pa", "programme"),
    ("shared from a JIT", JIT, "jit"),
    ("shared from a channel no longer known", JIT, None),
]

# 07 §5: (name, nominal_recipients or None, recipients, subscriber).
NOMINAL: list[tuple[str, list[str] | None, list[str], bool]] = [
    ("no list: a named recipient", None, [ALG], False),
    ("no list: a subscriber", None, [ALG], True),
    ("listed", [ALG, JIT], [ALG], False),
    ("one of two not listed", [ALG], [ALG, RTM], False),
    ("a listed channel", [JIT], [JIT], False),
]


def _nominal(listed: list[str] | None, recipients: list[str], subscriber: bool) -> None:
    policy = Policy(nominal_recipients=None if listed is None else frozenset(listed))
    barred = [a for a in recipients if not nominal_allowed(policy, a, subscriber=subscriber)]
    if barred:
        raise refuse_nominal(barred, path="recipients")


# 06 §5 at the publisher: (name, channel named, what this node holds of it or None, now).
CHANNEL_HELD = {"kind": "jit", "version": 3, "members": [ALG, CTG], "expires_ms": T0 + 1000}
PUBLISH_CHANNEL: list[tuple[str, dict[str, Any] | None, int]] = [
    ("a channel held, in force", {**CHANNEL_HELD, "alarm": None}, T0),
    ("a channel this node does not know", None, T0),
    ("a channel under alarm", {**CHANNEL_HELD, "alarm": "channel_conflict"}, T0),
    ("a channel whose membership expired", {**CHANNEL_HELD, "alarm": None}, T0 + 1000),
]


def _publish_channel(held: dict[str, Any] | None, now: int) -> None:
    facts = None
    if held is not None:
        facts = ChannelFacts(
            roster=ChannelRoster(
                channel=JIT,
                version=held["version"],
                members=frozenset(AgencyId(a) for a in held["members"]),
            ),
            kind=held["kind"],
            expires_ms=held["expires_ms"],
            alarm=held["alarm"],
        )
    _channel(facts, JIT, now)


# 07 §2: (name, state, paused_by, who asks, new state).
CHANGES: list[tuple[str, str, str | None, str, str]] = [
    ("the publisher admits a pending request", "pending", None, "publisher", "admitted"),
    ("the subscriber admits itself", "pending", None, "subscriber", "admitted"),
    ("a stranger cancels", "admitted", None, "stranger", "cancelled"),
    ("either side pauses", "admitted", None, "subscriber", "paused"),
    ("the side that paused resumes", "paused", "subscriber", "subscriber", "admitted"),
    ("the other side resumes", "paused", "subscriber", "publisher", "admitted"),
    ("anything after cancelled", "cancelled", None, "publisher", "admitted"),
    ("anything after refused", "refused", None, "subscriber", "cancelled"),
    ("pausing what is not admitted", "pending", None, "publisher", "paused"),
    ("the publisher refuses an admitted one", "admitted", None, "publisher", "refused"),
]
PARTIES = {"publisher": ALG, "subscriber": CTG, "stranger": RTM}


def _change(state: str, paused_by: str | None, by: str, new: str) -> None:
    item = Subscription(
        id=eid(5),
        publisher=ALG,
        subscriber=CTG,
        filter_json="{}",
        state=state,
        created_ms=T0,
        updated_ms=T0,
        paused_by=None if paused_by is None else PARTIES[paused_by],
    )
    check_change(item, SubscriptionState(new), by=PARTIES[by])


def _examples() -> dict[str, bytes]:
    """Seizure notices from ``notice_examples`` (tests/protocol), by the fact they state."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "protocol"))
    from notice_examples import SEIZURE

    first = replace(SEIZURE.commodities[0], description="Bricks with a scorpion logo, as reworded")
    reworded = replace(SEIZURE, commodities=(first, *SEIZURE.commodities[1:]))
    other_day = replace(SEIZURE, seized_ms=SEIZURE.seized_ms + 3 * 86_400_000)
    return {
        "the seizure": encode_notice(SEIZURE),
        "the same seizure, reworded": encode_notice(reworded),
        "the seizure three days later": encode_notice(other_day),
    }


# 07 §4: (name, the notice published, the notice received from another agency).
REPUBLISH: list[tuple[str, str, str]] = [
    ("the same notice", "the seizure", "the seizure"),
    ("the same notice reworded", "the same seizure, reworded", "the seizure"),
    ("another day: another notice", "the seizure three days later", "the seizure"),
]


def _republish(published: bytes, received: bytes) -> None:
    mine, theirs = (
        notice_identity(decode_notice(published)),
        notice_identity(decode_notice(received)),
    )
    if mine is not None and mine == theirs:
        raise republished(ReceivedCopy(envelope_id=eid(6), sender=ALG, tlp="amber"))


def vectors() -> dict[str, Any]:
    """The whole file."""
    return {
        "comment": "Handling, sharing and channel rules (docs/spec/07-subscriptions.md "
        "§4-§6, 06-channels.md §5). Headers are canonical header bytes (chapter 02 §0). "
        "`shares`: a share's header and the original's it carries (07 §6 checks 3-8). "
        "`supersedes`: a correction or retraction at its publisher and what that node "
        "holds of the envelope it supersedes (null: none). `received`: the same at a "
        "receiver, `held_sender` the sender of the superseded envelope as received here. "
        "`jit`: a kind and the kind of the channel it travels in. `shared_from`: the "
        "channel a notice to be shared was received in. `nominal`: a notice with a nominal "
        "section, the node's `nominal_recipients` (null: unset) and the recipients. "
        "`publish_channel`: a publication to `channel` by a node holding `held` of it (null: "
        "unknown here) at `now_ms`. `subscription_changes`: a subscription in `state` "
        "(paused by `paused_by`) moved to `new` by its publisher, its subscriber or a "
        "stranger. `republish`: a notice published (in `notices`) while one received from "
        "another agency is stored; the same notice by identity (03) is refused. "
        "`expect` is `ok` or the reason code, `path` the field at fault.",
        "shares": [
            {
                "name": name,
                "share": share.to_bytes().hex(),
                "original": original.to_bytes().hex(),
                **_outcome(partial(check_share_of, share, original)),
            }
            for name, share, original in SHARES
        ],
        "supersedes": [
            {
                "name": name,
                "header": h.to_bytes().hex(),
                "held": facts,
                **_outcome(partial(_publish_supersedes, h, facts)),
            }
            for name, h, facts in SUPERSEDES
        ],
        "received": [
            {
                "name": name,
                "header": h.to_bytes().hex(),
                "held_sender": owner,
                **_outcome(
                    partial(
                        check_supersedes_owner,
                        h.sender,
                        EnvelopeId(str(h.supersedes)),
                        owner,
                        path="header.supersedes",
                    )
                ),
            }
            for name, h, owner in RECEIVED
        ],
        "jit": [
            {
                "name": name,
                "kind": kind.value,
                "channel_kind": channel_kind,
                **_outcome(partial(check_jit_kind, kind, channel_kind, path="channel")),
            }
            for name, kind, channel_kind in JIT_KINDS
        ],
        "shared_from": [
            {
                "name": name,
                "channel": channel,
                "channel_kind": channel_kind,
                **_outcome(
                    partial(
                        check_not_from_jit,
                        None if channel is None else ChannelId(channel),
                        channel_kind,
                    )
                ),
            }
            for name, channel, channel_kind in SHARED_FROM
        ],
        "publish_channel": [
            {
                "name": name,
                "channel": JIT,
                "held": held,
                "now_ms": now,
                **_outcome(partial(_publish_channel, held, now)),
            }
            for name, held, now in PUBLISH_CHANNEL
        ],
        "subscription_changes": [
            {
                "name": name,
                "state": state,
                "paused_by": paused_by,
                "by": by,
                "new": new,
                **_outcome(partial(_change, state, paused_by, by, new)),
            }
            for name, state, paused_by, by, new in CHANGES
        ],
        "notices": {name: data.hex() for name, data in _examples().items()},
        "republish": [
            {
                "name": name,
                "published": published,
                "received": received,
                **_outcome(partial(_republish, _examples()[published], _examples()[received])),
            }
            for name, published, received in REPUBLISH
        ],
        "nominal": [
            {
                "name": name,
                "nominal_recipients": listed,
                "recipients": recipients,
                "subscriber": subscriber,
                **_outcome(partial(_nominal, listed, recipients, subscriber)),
            }
            for name, listed, recipients, subscriber in NOMINAL
        ],
    }


def _publish_supersedes(h: Header, facts: dict[str, Any] | None) -> None:
    """The publisher's rules in their order: owner, handling kept, same channel."""
    target = EnvelopeId(str(h.supersedes))
    check_supersedes_owner(
        h.sender, target, None if facts is None else facts["sender"], path="supersedes"
    )
    assert facts is not None  # an unknown target was refused just above
    superseded = _superseded(facts)
    check_handling_kept(h.handling, superseded)
    check_same_channel(h.channel, superseded)


def render() -> str:
    """The file's text."""
    return json.dumps(vectors(), indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
