"""Channel memberships and channel envelopes (chapter 06 §2–4), squatting included.

Each run founds fresh channel ids, so the checks do not depend on what an
earlier run left at the target. A founds a JIT with B and the target, posts
to it, removes B; M, a federation member, tries to take the id over with a
founding of its own (the squatting case: ``channel_conflict``, whichever
chain the target saw first). Channel refusals are checked by reason code;
the HTTP status is chapter 05 §6's for the error's kind.
"""

from __future__ import annotations

import dataclasses
import os

from baliza.crypto import PublicKeys
from baliza.crypto.channels import propose_membership, sign_membership
from baliza.node.conformance.checks import Run, check
from baliza.node.conformance.inbox import expect_outcome
from baliza.node.conformance.kit import DAY_MS, ROLES
from baliza.node.conformance.verdict import Failed
from baliza.node.core.clock import now_ms
from baliza.protocol.canonical import decode, encode
from baliza.protocol.channels import ChannelKind, Membership, founding_digest
from baliza.protocol.federation import Outcome, decode_directory_chain, encode_directory_chain
from baliza.protocol.ids import AgencyId, ChannelId

PATH = "/fed/v1/channels"
SECTION = "06 §2"


def _fresh_id(run: Run, label: str) -> ChannelId:
    return ChannelId(f"conformance-{label}-{os.urandom(4).hex()}")


def _membership(
    run: Run,
    channel: ChannelId,
    *,
    owners: list[str],
    members: list[str],
    version: int = 1,
    founding: bytes | None = None,
    name: str = "Conformance JIT",
) -> Membership:
    agencies = {ROLES.get(m, m) for m in members} | {ROLES[o] for o in owners}
    now = now_ms()
    return Membership(
        channel=channel,
        kind=ChannelKind.JIT,
        name=name,
        owners=tuple(sorted(AgencyId(ROLES[o]) for o in owners)),
        threshold=1,
        members=tuple(sorted(AgencyId(a) for a in agencies)),
        version=version,
        issued_ms=now,
        expires_ms=now + 30 * DAY_MS,
        founding=founding,
    )


def _signed(run: Run, membership: Membership, *signers: str) -> bytes:
    document = propose_membership(membership)
    for role in signers:
        document = sign_membership(document, run.kit[role])
    return document


async def _expect_applied(run: Run, role: str, chain: list[bytes], version: int) -> None:
    answer = await run.target.call(run.kit[role], "POST", PATH, encode_directory_chain(chain))
    got = answer.expect_ok(f"POST {PATH}").json()
    if got != {"applied": version}:
        raise Failed(f"expected applied {version}, got {got}")


async def _expect_refused(run: Run, role: str, chain: list[bytes], reason: str) -> None:
    answer = await run.target.call(run.kit[role], "POST", PATH, encode_directory_chain(chain))
    answer.expect_refusal(reason)


def _keys(run: Run, members: tuple[AgencyId, ...]) -> list[PublicKeys]:
    by_agency = {run.kit[r].agency: run.kit.public(r) for r in ("a", "b", "m")}
    by_agency[AgencyId(run.kit.target.agency)] = run.kit.target.keys
    return [by_agency[m] for m in members]


class _Jit:
    """The JIT A founded this run: its id and the signed bytes of each version."""

    def __init__(self, channel: ChannelId, v1: Membership, s1: bytes) -> None:
        self.channel = channel
        self.v1 = v1
        self.s1 = s1
        self.v2: Membership | None = None
        self.s2: bytes | None = None


async def _jit(run: Run) -> _Jit:
    """A's JIT with B and the target, founded at the target once per run."""
    known = run.facts.get("jit")
    if isinstance(known, _Jit):
        return known
    channel = _fresh_id(run, "jit")
    v1 = _membership(run, channel, owners=["a"], members=["b", run.kit.target.agency])
    s1 = _signed(run, v1, "a")
    await _expect_applied(run, "a", [s1], 1)
    jit = _Jit(channel, v1, s1)
    run.facts["jit"] = jit
    return jit


async def _jit_v2(run: Run) -> _Jit:
    """The same JIT at version 2, which removed B, applied at the target once per run."""
    jit = await _jit(run)
    if jit.s2 is not None:
        return jit
    v2 = dataclasses.replace(
        jit.v1,
        version=2,
        members=tuple(m for m in jit.v1.members if m != run.kit["b"].agency),
        founding=founding_digest(jit.v1.to_bytes()),
    )
    s2 = _signed(run, v2, "a")
    await _expect_applied(run, "a", [jit.s1, s2], 2)
    jit.v2, jit.s2 = v2, s2
    return jit


def _channel_envelope(run: Run, role: str, membership: Membership, version: int) -> bytes:
    return run.kit.seal(
        role,
        _keys(run, membership.members),
        channel=membership.channel,
        membership_version=version,
    ).raw


@check("channels", "founded", SECTION, "a member founds a JIT listing the target: applied 1")
async def founded(run: Run) -> None:
    await _jit(run)


@check("channels", "envelope-accepted", "06 §4", "an envelope sealed to the JIT is accepted")
async def envelope_accepted(run: Run) -> None:
    jit = await _jit(run)
    raw = _channel_envelope(run, "a", jit.v1, 1)
    await expect_outcome(run, "a", raw, Outcome.ACCEPTED)


@check(
    "channels", "update-applied", SECTION, "version 2 (B removed) signed by the owner: applied 2"
)
async def update_applied(run: Run) -> None:
    await _jit_v2(run)


@check("channels", "chain-served", "06 §3", "GET ?since=0 serves a member both versions")
async def chain_served(run: Run) -> None:
    jit = await _jit_v2(run)
    path = f"{PATH}/{jit.channel}?since=0"
    answer = await run.target.call(run.kit["a"], "GET", path)
    versions = decode_directory_chain(answer.expect_msgpack(f"GET {path}"))
    if versions != [jit.s1, jit.s2]:
        raise Failed(f"expected versions 1 and 2 as signed, got {len(versions)} version(s)")


@check("channels", "chain-not-for-strangers", "06 §3", "GET by a never-member: not_a_member")
async def chain_not_for_strangers(run: Run) -> None:
    jit = await _jit(run)
    answer = await run.target.call(run.kit["m"], "GET", f"{PATH}/{jit.channel}?since=0")
    answer.expect_refusal("not_a_member")


@check("channels", "membership-stale", "06 §4", "sealed to v1 after v2 removed B: membership_stale")
async def membership_stale(run: Run) -> None:
    jit = await _jit_v2(run)
    raw = _channel_envelope(run, "a", jit.v1, 1)
    await expect_outcome(run, "a", raw, Outcome.REFUSED, "membership_stale")


@check("channels", "membership-unknown", "06 §4", "a version the target lacks: membership_unknown")
async def membership_unknown(run: Run) -> None:
    jit = await _jit(run)
    raw = _channel_envelope(run, "a", jit.v1, 9)
    await expect_outcome(run, "a", raw, Outcome.REFUSED, "membership_unknown")


@check(
    "channels",
    "sender-not-member",
    "06 §4",
    "M posts to a JIT it is not in: answered membership_unknown, revealing nothing",
)
async def sender_not_member(run: Run) -> None:
    # Whether a channel exists, and who is in it, is for its members: a sender
    # outside the version it names is answered as if that version were unknown.
    jit = await _jit(run)
    members = _keys(run, jit.v1.members)
    raw = run.kit.seal("m", members, channel=jit.channel, membership_version=1).raw
    await expect_outcome(run, "m", raw, Outcome.REFUSED, "membership_unknown")


@check("channels", "fork", SECTION, "another version 2 by the owner: membership_fork")
async def fork(run: Run) -> None:
    jit = await _jit_v2(run)
    assert jit.v2 is not None
    other = _signed(run, dataclasses.replace(jit.v2, name="Conformance JIT, renamed"), "a")
    await _expect_refused(run, "a", [jit.s1, other], "membership_fork")


@check("channels", "not-an-owner", SECTION, "version 3 signed only by a non-owner: not_an_owner")
async def not_an_owner(run: Run) -> None:
    jit = await _jit_v2(run)
    assert jit.v2 is not None
    v3 = dataclasses.replace(
        jit.v2, version=3, members=tuple(sorted((*jit.v2.members, run.kit["m"].agency)))
    )
    await _expect_refused(run, "m", [_signed(run, v3, "m")], "not_an_owner")


@check("channels", "squat-version-1", SECTION, "M founds the JIT's id anew: channel_conflict")
async def squat_version_1(run: Run) -> None:
    jit = await _jit(run)
    squat = _membership(run, jit.channel, owners=["m"], members=[run.kit.target.agency])
    await _expect_refused(run, "m", [_signed(run, squat, "m")], "channel_conflict")


@check("channels", "squat-version-1000", SECTION, "M's own chain at version 1000: channel_conflict")
async def squat_version_1000(run: Run) -> None:
    jit = await _jit(run)
    own = _membership(run, jit.channel, owners=["m"], members=[run.kit.target.agency])
    high = dataclasses.replace(own, version=1000, founding=founding_digest(own.to_bytes()))
    chain = [_signed(run, own, "m"), _signed(run, high, "m")]
    await _expect_refused(run, "m", chain, "channel_conflict")


@check("channels", "first-seen", SECTION, "the chain seen first stands: a later founding conflicts")
async def first_seen(run: Run) -> None:
    channel = _fresh_id(run, "seen")
    squat = _membership(run, channel, owners=["m"], members=[run.kit.target.agency])
    await _expect_applied(run, "m", [_signed(run, squat, "m")], 1)
    genuine = _membership(run, channel, owners=["a"], members=["b", run.kit.target.agency])
    await _expect_refused(run, "a", [_signed(run, genuine, "a")], "channel_conflict")


@check("channels", "unfounded", SECTION, "a version 2 of an id never seen: channel_unfounded")
async def unfounded(run: Run) -> None:
    channel = _fresh_id(run, "late")
    later = _membership(
        run,
        channel,
        owners=["a"],
        members=[run.kit.target.agency],
        version=2,
        founding=os.urandom(32),
    )
    await _expect_refused(run, "a", [_signed(run, later, "a")], "channel_unfounded")


@check("channels", "not-listed", "06 §3", "a chain that never lists the target: not_a_recipient")
async def not_listed(run: Run) -> None:
    membership = _membership(run, _fresh_id(run, "aside"), owners=["a"], members=["b"])
    await _expect_refused(run, "a", [_signed(run, membership, "a")], "not_a_recipient")


@check("channels", "outside-federation", SECTION, "a member the directory lacks: not_a_member")
async def outside_federation(run: Run) -> None:
    membership = _membership(
        run, _fresh_id(run, "outside"), owners=["a"], members=["x", run.kit.target.agency]
    )
    await _expect_refused(run, "a", [_signed(run, membership, "a")], "not_a_member")


@check("channels", "expired", SECTION, "a founding already expired: membership_expired")
async def expired(run: Run) -> None:
    now = now_ms()
    membership = dataclasses.replace(
        _membership(run, _fresh_id(run, "old"), owners=["a"], members=[run.kit.target.agency]),
        issued_ms=now - 2 * DAY_MS,
        expires_ms=now - DAY_MS,
    )
    await _expect_refused(run, "a", [_signed(run, membership, "a")], "membership_expired")


@check("channels", "chain-too-long", "06 §3", "51 versions in one push: 422 too_many_items")
async def chain_too_long(run: Run) -> None:
    # Unsigned versions: the count is refused by the decoding profile of the
    # chain (chapter 01: an array over its limit), before any signature is checked.
    channel = _fresh_id(run, "long")
    first = _membership(run, channel, owners=["a"], members=[run.kit.target.agency])
    founding = founding_digest(first.to_bytes())
    chain = [propose_membership(first)] + [
        propose_membership(dataclasses.replace(first, version=v, founding=founding))
        for v in range(2, 52)
    ]
    answer = await run.target.call(run.kit["a"], "POST", PATH, encode_directory_chain(chain))
    answer.expect_refusal("too_many_items", 422)


@check("channels", "unknown-version", "06 §1", "a signed membership of version 2: unknown_version")
async def unknown_version(run: Run) -> None:
    membership = _membership(
        run, _fresh_id(run, "v2"), owners=["a"], members=[run.kit.target.agency]
    )
    fields = decode(_signed(run, membership, "a"))
    assert isinstance(fields, dict)
    fields["v"] = 2
    await _expect_refused(run, "a", [encode(fields)], "unknown_version")
