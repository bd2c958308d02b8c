"""The publication decision, rule by rule, without a database or a node.

Table-driven in the manner of python-tuf's trusted-set tests: each row is
facts + request + policy, and what the decision must say (a plan, or the
reason code of the rule that refuses). Every rule is tried on a plain notice
and on the same notice wrapped in a correction, which must change nothing.
"""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import resources
from typing import Any

import pytest

from baliza.node.services.plausibility import check_unit_agency
from baliza.node.services.recipients import ChannelRoster
from baliza.node.services.rules.content import has_nominal, without_nominal
from baliza.node.services.rules.decide import PublicationRequest, decide_publication, decide_share
from baliza.node.services.rules.facts import (
    ChannelFacts,
    Policy,
    PublicationFacts,
    ReceivedCopy,
    ShareFacts,
    Superseded,
)
from baliza.node.services.rules.identity import notice_identity
from baliza.node.services.rules.lifecycle import check_supersedes_owner, lowered
from baliza.node.services.rules.shares import check_share_of
from baliza.protocol.envelope import Header, MessageKind
from baliza.protocol.errors import BalizaError, ReasonCode
from baliza.protocol.handling import Handling, HandlingCode, Tlp
from baliza.protocol.ids import AgencyId, ChannelId, EnvelopeId, KeyId
from baliza.protocol.notices import Correction, Notice, Retraction, notice_from_written_json
from baliza.protocol.sharing import ShareNeed

ME = AgencyId("es.aduanas.alg")
GYE, CTG, MAD = AgencyId("ec.polnac.gye"), AgencyId("co.polfa.ctg"), AgencyId("es.gc.mad")
OLD = EnvelopeId("01a23082-480c-7ff6-938b-8035fe379333")
ALERT = EnvelopeId("01a23082-480c-7ff6-938b-8035fe379334")
NOW = 1_800_000_000_000
JIT, FEED = ChannelId("jit.banana"), ChannelId("ccp.pacific")
AMBER = Handling(tlp=Tlp.AMBER)
R = ReasonCode
NO_LIST = Policy()  # no nominal list: every named recipient, no subscriber


def example(name: str, **changes: Any) -> Notice:
    raw = resources.files("baliza.examples").joinpath(f"{name}.json").read_text("utf-8")
    raw = raw.replace("SEIZURE_ID", OLD).replace("ALERT_ID", ALERT)
    body = json.loads(raw)
    body.update(changes)
    return notice_from_written_json(body)


def corrected(notice: Notice) -> Correction:
    """``notice`` as the replacement a correction of ``OLD`` carries."""
    return Correction(supersedes=OLD, reason="figures confirmed", notice=notice)  # type: ignore[arg-type]


SEIZURE = example("seizure-seaport")
COURIER = example("seizure-air-courier")  # a passport number: nominal data
CASE = example("case")
ALERT_NOTICE = example("alert")


def roster(channel: ChannelId, *members: AgencyId) -> ChannelRoster:
    return ChannelRoster(channel=channel, version=3, members=frozenset((ME, *members)))


def channel(
    channel_id: ChannelId, kind: str, *, expires: int = NOW + 1, alarm: str | None = None
) -> ChannelFacts:
    return ChannelFacts(roster=roster(channel_id, CTG), kind=kind, expires_ms=expires, alarm=alarm)


#: Whom ``OLD`` went to: what supersedes it goes to them (and only them).
REACHED = ((CTG, "named"), (MAD, "named"), (GYE, "subscription"))


def mine(kind: str = "notice.seizure", **changes: Any) -> Superseded:
    fields: dict[str, Any] = {
        "id": OLD,
        "sender": ME,
        "kind": kind,
        "handling": AMBER,
        "reached": REACHED,
    }
    return Superseded(**(fields | changes))


def decide(
    notice: Notice,
    *,
    to: tuple[AgencyId, ...] = (CTG,),
    via: ChannelId | None = None,
    handling: Handling = AMBER,
    supersedes: EnvelopeId | None = None,
    non_nominal: bool = False,
    policy: Policy = NO_LIST,
    **facts: Any,
) -> Any:
    request = PublicationRequest(
        notice=notice,
        recipients=() if via else to,
        channel=via,
        handling=handling,
        supersedes=supersedes,
        non_nominal=non_nominal,
    )
    return decide_publication(PublicationFacts(me=ME, **facts), request, policy, now_ms=NOW)


def refused(call: Any, *args: Any, **kwargs: Any) -> BalizaError:
    with pytest.raises(BalizaError) as caught:
        call(*args, **kwargs)
    return caught.value


BOTH = pytest.mark.parametrize("wrap", [False, True], ids=["plain", "correction"])


def as_sent(notice: Notice, wrap: bool) -> Notice:
    return corrected(notice) if wrap else notice


def supersede(wrap: bool, *reached: tuple[AgencyId, str]) -> dict[str, Any]:
    """A correction names what it supersedes (that went to ``reached``); a plain notice nothing."""
    went = reached or REACHED
    return {"supersedes": OLD, "superseded": mine(reached=went)} if wrap else {}


# -- superseding: ownership, kind, handling, channel ---------------------------------------


@pytest.mark.parametrize(
    ("sender", "owner", "refusal"),
    [
        (ME, ME, None),
        (ME, GYE, R.FOREIGN_SUPERSEDES),  # publishing over another agency's notice
        (GYE, ME, R.FOREIGN_SUPERSEDES),  # a receiver: superseding this agency's notice
        (GYE, GYE, None),  # a receiver: the sender's own
        (GYE, None, R.FOREIGN_SUPERSEDES),  # a receiver GYE never sent it to
        (ME, None, R.FOREIGN_SUPERSEDES),  # a publisher that never sent it
    ],
)
def test_only_its_sender_supersedes_a_notice(
    sender: AgencyId, owner: str | None, refusal: ReasonCode | None
) -> None:
    if refusal is None:
        check_supersedes_owner(sender, OLD, owner, path="supersedes")
    else:
        err = refused(check_supersedes_owner, sender, OLD, owner, path="supersedes")
        assert err.reason is refusal


@pytest.mark.parametrize(
    ("superseded", "refusal"),
    [
        (mine(), None),
        (mine(sender=GYE), R.FOREIGN_SUPERSEDES),
        (None, R.FOREIGN_SUPERSEDES),  # the publisher holds all it sent: unknown is not its own
    ],
)
def test_a_publication_supersedes_only_its_own_notice(
    superseded: Superseded | None, refusal: ReasonCode | None
) -> None:
    kwargs: dict[str, Any] = {"supersedes": OLD, "superseded": superseded}
    if refusal is None:
        # Named CTG, and MAD too: whoever received what it supersedes.
        assert decide(corrected(SEIZURE), **kwargs).audience.agencies == (CTG, MAD)
    else:
        err = refused(decide, corrected(SEIZURE), **kwargs)
        assert (err.reason, err.path) == (refusal, "supersedes")


def test_what_supersedes_a_notice_goes_to_whoever_received_it_and_no_other() -> None:
    """Item 15: the subscriber that got ``OLD`` gets its retraction, whatever its filter."""
    retraction = Retraction(supersedes=OLD, reason="withdrawn")
    plan = decide(retraction, to=(), supersedes=OLD, superseded=mine(), subscribers=())
    assert plan.audience.agencies == (CTG, MAD) and plan.audience.subscribers == (GYE,)
    # A subscriber whose filter matches now but that never had OLD cannot take it.
    plan = decide(retraction, to=(), supersedes=OLD, superseded=mine(), subscribers=(ME,))
    assert plan.audience.subscribers == (GYE,)
    other = AgencyId("pe.sunat.cll")
    err = refused(decide, retraction, to=(other,), supersedes=OLD, superseded=mine())
    assert (err.reason, err.path) == (R.FOREIGN_SUPERSEDES, "recipients[0]")


@pytest.mark.parametrize(
    ("notice", "superseded_kind", "refusal"),
    [
        (corrected(SEIZURE), "notice.seizure", None),
        (corrected(SEIZURE), "notice.alert", R.KIND_MISMATCH),  # a correction keeps the kind
        (SEIZURE, "notice.seizure", None),
        (SEIZURE, "notice.case", R.KIND_MISMATCH),
        (Retraction(supersedes=OLD, reason="sent in error"), "notice.alert", None),
        (Retraction(supersedes=OLD, reason="sent in error"), "notice.retraction", R.KIND_MISMATCH),
        (Retraction(supersedes=OLD, reason="sent in error"), "receipt", R.KIND_MISMATCH),
    ],
)
def test_a_correction_replaces_a_notice_of_the_same_kind(
    notice: Notice, superseded_kind: str, refusal: ReasonCode | None
) -> None:
    kwargs: dict[str, Any] = {"supersedes": OLD, "superseded": mine(superseded_kind)}
    if refusal is None:
        decide(notice, **kwargs)
    else:
        assert refused(decide, notice, **kwargs).reason is refusal


H = HandlingCode


@pytest.mark.parametrize(
    ("old", "new", "loosened"),
    [
        (Handling(tlp=Tlp.RED), Handling(tlp=Tlp.CLEAR), True),
        (Handling(tlp=Tlp.RED), Handling(tlp=Tlp.AMBER_STRICT), True),
        (Handling(tlp=Tlp.AMBER_STRICT), Handling(tlp=Tlp.AMBER), True),
        (Handling(tlp=Tlp.AMBER), Handling(tlp=Tlp.GREEN), True),
        (Handling(tlp=Tlp.AMBER), Handling(tlp=Tlp.AMBER), False),
        (Handling(tlp=Tlp.AMBER), Handling(tlp=Tlp.RED), False),  # raising is allowed
        (Handling(tlp=Tlp.AMBER, codes=(H.H2,)), Handling(tlp=Tlp.AMBER), True),
        (Handling(tlp=Tlp.AMBER), Handling(tlp=Tlp.AMBER, codes=(H.H0, H.H2)), False),
        (
            Handling(tlp=Tlp.AMBER, codes=(H.H3,), restrictions="not before 1 March"),
            Handling(tlp=Tlp.AMBER, codes=(H.H3,), restrictions="none"),
            True,
        ),
        (
            Handling(tlp=Tlp.AMBER, codes=(H.H3,), restrictions="not before 1 March"),
            Handling(tlp=Tlp.RED, codes=(H.H2, H.H3), restrictions="not before 1 March"),
            False,
        ),
    ],
)
def test_superseding_never_lowers_the_handling(
    old: Handling, new: Handling, loosened: bool
) -> None:
    assert (lowered(new, old) is not None) is loosened
    kwargs: dict[str, Any] = {"supersedes": OLD, "superseded": mine(handling=old), "handling": new}
    for notice in (corrected(SEIZURE), Retraction(supersedes=OLD, reason="sent in error")):
        if loosened:
            err = refused(decide, notice, **kwargs)
            assert (err.reason, err.path) == (R.HANDLING_FORBIDS, "handling")
        else:
            decide(notice, **kwargs)


@pytest.mark.parametrize(
    ("went_to", "goes_to", "refusal"),
    [
        (JIT, JIT, None),
        (JIT, None, R.WRONG_CHANNEL),  # to named agencies: the removed member among them
        (JIT, FEED, R.WRONG_CHANNEL),
        (None, None, None),
    ],
)
def test_a_notice_that_went_to_a_channel_is_superseded_there(
    went_to: ChannelId | None, goes_to: ChannelId | None, refusal: ReasonCode | None
) -> None:
    kwargs: dict[str, Any] = {
        "supersedes": OLD,
        "superseded": mine("notice.case", channel=went_to),
        "via": goes_to,
        "to": (CTG, MAD),
        "channel": None if goes_to is None else channel(goes_to, "jit"),
    }
    notice = Retraction(supersedes=OLD, reason="wrong case")
    if refusal is None:
        decide(notice, **kwargs)
    else:
        assert refused(decide, notice, **kwargs).reason is refusal


# -- the JIT rule --------------------------------------------------------------------------


@BOTH
@pytest.mark.parametrize(
    ("via", "kind", "refusal"),
    [
        (JIT, "jit", None),
        (FEED, "programme", R.WRONG_CHANNEL),
        (None, None, R.WRONG_CHANNEL),
    ],
)
def test_a_case_notice_wrapped_or_not_travels_only_inside_a_jit(
    wrap: bool, via: ChannelId | None, kind: str | None, refusal: ReasonCode | None
) -> None:
    facts: dict[str, Any] = supersede(wrap) | {"via": via}
    if wrap:
        facts["superseded"] = mine("notice.case", channel=via)
    if via is not None:
        facts["channel"] = channel(via, str(kind))
    notice = as_sent(CASE, wrap)
    if refusal is None:
        assert decide(notice, **facts).audience.channel.channel == via
    else:
        assert refused(decide, notice, **facts).reason is refusal


@pytest.mark.parametrize(
    ("facts", "refusal"),
    [
        ({"channel": None}, R.NOT_FOUND),
        ({"channel": channel(JIT, "jit", expires=NOW)}, R.MEMBERSHIP_EXPIRED),
        ({"channel": channel(JIT, "jit", alarm="channel_conflict")}, R.CHANNEL_UNDER_ALARM),
    ],
)
def test_a_channel_post_needs_a_known_unexpired_membership(
    facts: dict[str, Any], refusal: ReasonCode
) -> None:
    assert refused(decide, SEIZURE, via=JIT, **facts).reason is refusal


# -- nominal data, for every recipient reason ---------------------------------------------

ONLY_MAD = Policy(nominal_recipients=frozenset({MAD}))


@BOTH
def test_nominal_data_to_a_named_recipient_outside_the_policy(wrap: bool) -> None:
    notice = as_sent(COURIER, wrap)
    err = refused(decide, notice, to=(CTG, MAD), policy=ONLY_MAD, **supersede(wrap))
    assert (err.reason, err.path) == (R.NOMINAL_NOT_ALLOWED, "recipients") and CTG in err.detail
    plan = decide(notice, to=(CTG, MAD), policy=ONLY_MAD, non_nominal=True, **supersede(wrap))
    assert plan.audience.agencies == (MAD,)
    assert plan.stripped_audience.agencies == (CTG,)
    assert has_nominal(notice) and not has_nominal(plan.stripped)
    assert isinstance(plan.stripped, Correction) is wrap  # still a correction, without nominal


@BOTH
def test_nominal_data_to_a_channel_outside_the_policy(wrap: bool) -> None:
    notice = as_sent(COURIER, wrap)
    facts = supersede(wrap) | {"via": FEED, "channel": channel(FEED, "programme")}
    if wrap:
        facts["superseded"] = mine(channel=FEED)
    err = refused(decide, notice, policy=ONLY_MAD, **facts)
    assert (err.reason, err.path) == (R.NOMINAL_NOT_ALLOWED, "channel")
    plan = decide(notice, policy=ONLY_MAD, non_nominal=True, **facts)
    assert plan.audience.channel is None and plan.stripped_audience.channel is not None
    assert not has_nominal(plan.stripped)
    allowed = Policy(nominal_recipients=frozenset({FEED}))
    assert decide(notice, policy=allowed, **facts).stripped is None


@BOTH
@pytest.mark.parametrize("policy", [Policy(), ONLY_MAD], ids=["no-list", "list"])
def test_nominal_data_never_to_a_subscriber_outside_the_policy(wrap: bool, policy: Policy) -> None:
    notice = as_sent(COURIER, wrap)
    old = supersede(wrap, (MAD, "named"), (GYE, "subscription"))
    plan = decide(notice, to=(MAD,), subscribers=(GYE,), policy=policy, **old)
    assert plan.audience.subscribers == ()
    assert [agency for agency, _ in plan.withheld] == [GYE]
    plan = decide(notice, to=(MAD,), subscribers=(GYE,), policy=policy, non_nominal=True, **old)
    assert plan.stripped_audience.subscribers == (GYE,) and not has_nominal(plan.stripped)
    # Without nominal data the subscriber gets the notice itself.
    plain = decide(without_nominal(notice), to=(MAD,), subscribers=(GYE,), **old)
    assert plain.audience.subscribers == (GYE,)


@pytest.mark.parametrize(
    ("handling", "withheld"),
    [(Tlp.RED, True), (Tlp.AMBER_STRICT, True), (Tlp.AMBER, False), (Tlp.CLEAR, False)],
)
def test_subscribers_never_get_red_or_amber_strict(handling: Tlp, withheld: bool) -> None:
    plain = without_nominal(SEIZURE)
    plan = decide(plain, to=(MAD,), subscribers=(GYE, MAD, ME), handling=Handling(tlp=handling))
    assert plan.audience.subscribers == (() if withheld else (GYE,))
    assert bool(plan.withheld) is withheld


def received(**changes: Any) -> ShareFacts:
    fields: dict[str, Any] = {
        "me": ME,
        "received": True,
        "sender": GYE,
        "originator": GYE,
        "handling": AMBER,
    }
    return ShareFacts(**(fields | changes))


@BOTH
def test_a_share_follows_the_nominal_policy_and_the_jit_rule(wrap: bool) -> None:
    courier = as_sent(COURIER, wrap)
    err = refused(decide_share, received(), courier, (CTG,), ONLY_MAD)
    assert (err.reason, err.path) == (R.NOMINAL_NOT_ALLOWED, "recipients")
    assert decide_share(received(), courier, (MAD,), ONLY_MAD).need is ShareNeed.FREE
    case = as_sent(CASE, wrap)
    assert refused(decide_share, received(), case, (MAD,), Policy()).reason is R.WRONG_CHANNEL


@pytest.mark.parametrize(
    ("facts", "to", "result"),
    [
        (received(), (CTG,), ShareNeed.FREE),
        (received(handling=Handling(tlp=Tlp.AMBER, codes=(H.H2,))), (CTG,), ShareNeed.PERMISSION),
        (received(handling=Handling(tlp=Tlp.RED)), (CTG,), R.HANDLING_FORBIDS),
        (received(channel=JIT, channel_kind="jit"), (CTG,), R.WRONG_CHANNEL),
        (received(channel=JIT, channel_kind=None), (CTG,), R.WRONG_CHANNEL),
        (received(channel=FEED, channel_kind="programme"), (CTG,), ShareNeed.FREE),
        (received(received=False), (CTG,), R.INCONSISTENT),
        (received(), (GYE,), R.INCONSISTENT),  # back to its originator
        (received(had=frozenset({CTG})), (CTG,), R.INCONSISTENT),
    ],
)
def test_the_share_decision(
    facts: ShareFacts, to: tuple[AgencyId, ...], result: ShareNeed | ReasonCode
) -> None:
    if isinstance(result, ShareNeed):
        assert decide_share(facts, SEIZURE, to, Policy()).need is result
    else:
        assert refused(decide_share, facts, SEIZURE, to, Policy()).reason is result


# -- unit.agency ---------------------------------------------------------------------------


@BOTH
def test_a_notice_in_another_agencys_name_is_refused(wrap: bool) -> None:
    theirs = example("seizure-seaport", unit={"agency": str(GYE)})
    err = refused(decide, as_sent(theirs, wrap), **supersede(wrap))
    assert (err.reason, err.path) == (R.INCONSISTENT, "unit.agency")
    check_unit_agency(as_sent(theirs, wrap), GYE)  # the receiver's check: from its sender
    own_unit = example("seizure-seaport", unit={"agency": f"{ME}.port"})
    decide(as_sent(own_unit, wrap), **supersede(wrap))


# -- re-publication: the same notice, by what it is ---------------------------------------

TEXT = {"text": {"lang": "en", "text": "Holdalls behind the doors."}}


@pytest.mark.parametrize(
    ("changes", "same"),
    [
        ({"text": {"lang": "en", "text": "Holdalls behind the doors!"}}, True),  # one character
        ({"unit": {"agency": str(ME)}}, True),
        ({"commodities": [{"category": "cocaine", "quantity": "408.5 kg"}]}, True),
        ({"concealment": "structure", "detection": "scanner"}, True),
        ({"conveyance": {"container": "CSQU3054383"}}, False),  # another container
        ({"location": {"locode": "ESVLC"}}, False),  # another port
        ({"seized_ms": "2026-11-29T05:40Z"}, False),  # another day
        ({"seized_ms": "2026-11-30T23:59Z"}, True),  # the same day
    ],
)
def test_the_same_notice_is_what_it_is_not_its_bytes(changes: dict[str, Any], same: bool) -> None:
    original = example("seizure-seaport")
    other = example("seizure-seaport", **changes)
    assert (notice_identity(other) == notice_identity(original)) is same
    assert notice_identity(corrected(other)) == notice_identity(other)  # looked through


def test_kinds_places_and_subjects_make_different_notices() -> None:
    identities = {
        notice_identity(n) for n in (SEIZURE, COURIER, CASE, ALERT_NOTICE, example("outcome"))
    }
    assert len(identities) == 5
    assert notice_identity(Retraction(supersedes=OLD, reason="sent in error")) is None
    # Its flight identifies the courier seizure; its wording changes nothing.
    renamed = example("seizure-air-courier", text={"lang": "es", "text": "Otro texto."})
    assert notice_identity(renamed) == notice_identity(COURIER)


COPY = ReceivedCopy(envelope_id=OLD, sender=GYE, tlp="red")


@BOTH
def test_another_agencys_notice_is_not_published_as_ones_own(wrap: bool) -> None:
    facts = supersede(wrap) | {"same_as": COPY}
    err = refused(decide, as_sent(SEIZURE, wrap), **facts)
    assert (err.reason, err.path) == (R.REPUBLISH_FORBIDDEN, "notice")
    assert GYE in err.detail and OLD in err.detail


def test_correcting_ones_own_notice_of_the_same_identity_is_no_copy() -> None:
    """Published before the other agency's: correcting it stays one's own."""
    own = mine(identity=notice_identity(SEIZURE))
    decide(corrected(SEIZURE), supersedes=OLD, superseded=own, same_as=COPY)
    other = mine(identity=notice_identity(COURIER))
    err = refused(decide, corrected(SEIZURE), supersedes=OLD, superseded=other, same_as=COPY)
    assert err.reason is R.REPUBLISH_FORBIDDEN


def test_the_rules_run_in_their_order() -> None:
    """A notice breaking every rule is refused by the first: supersedes, JIT, copy, unit."""
    theirs = example("case", unit={"agency": str(GYE)})
    everything: dict[str, Any] = {"same_as": COPY, "supersedes": OLD}
    assert refused(decide, theirs, **everything).reason is R.FOREIGN_SUPERSEDES
    everything["superseded"] = mine("notice.case")
    assert refused(decide, theirs, **everything).reason is R.WRONG_CHANNEL
    everything |= {"via": JIT, "channel": channel(JIT, "jit")}
    assert refused(decide, theirs, **everything).reason is R.REPUBLISH_FORBIDDEN
    del everything["same_as"]
    assert refused(decide, theirs, **everything).reason is R.INCONSISTENT


# -- shares: the carried original against the share's header -----------------------------

NEW_ID = EnvelopeId("01a23082-480c-7ff6-938b-8035fe379335")


def header(sender: AgencyId, **changes: Any) -> Header:
    fields: dict[str, Any] = {
        "id": OLD,
        "kind": MessageKind.SEIZURE,
        "sender": sender,
        "sender_key": KeyId(bytes(16)),
        "created_ms": NOW,
        "recipients": (CTG,),
        "handling": AMBER,
        "suite": "hybrid-v1",
        "key_commitment": bytes(32),
    }
    return Header(**(fields | changes))


SHARE = header(ME, id=NEW_ID, shares=OLD)


@pytest.mark.parametrize(
    ("share", "original", "refusal", "path"),
    [
        (SHARE, header(GYE), None, None),
        (SHARE, header(GYE, id=ALERT), R.INCONSISTENT, "header.shares"),  # another envelope
        (SHARE, header(GYE, shares=ALERT), R.INCONSISTENT, "body.original"),  # a share's share
        (SHARE, header(ME), R.INCONSISTENT, "header.shares"),  # its own notice
        (SHARE, header(GYE, kind=MessageKind.ALERT), R.KIND_MISMATCH, "header.kind"),
        (SHARE, header(GYE, handling=Handling(tlp=Tlp.RED)), R.HANDLING_FORBIDS, None),
        (
            replace(SHARE, handling=Handling(tlp=Tlp.GREEN)),
            header(GYE),
            R.HANDLING_FORBIDS,
            "header.handling",
        ),
    ],
)
def test_a_share_carries_the_original_it_names_under_its_handling(
    share: Header, original: Header, refusal: ReasonCode | None, path: str | None
) -> None:
    if refusal is None:
        check_share_of(share, original)
        return
    err = refused(check_share_of, share, original)
    assert err.reason is refusal
    if path is not None:
        assert err.path == path
