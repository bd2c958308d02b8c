"""A correction walks past no publication rule: each bypass tried on real nodes, and refused.

Found by trying: wrapping a notice in ``notice.correction`` once (a) carried
a passport number past the nominal policy, (b) carried a JIT's case notice
to the member removed from it, (c) re-sent a TLP:RED notice as CLEAR, (d)
skipped the ``unit.agency`` check; and (e) changing one character of another
agency's notice re-published it as one's own. Each is tried here through the
API as an officer of the attacking agency would, on both engines, and must be
refused with its reason code, with nothing stored or queued for it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest import FreshDatabases
from node_harness import TestNode, introduce, make_node
from notice_json import publish_body, seizure
from sharing_support import arrives, received, refusal, wait_for
from sqlalchemy import func, select

from baliza.node.storage.models import OutboxRow
from baliza.protocol.errors import ReasonCode

GYE, CTG, ALG, MAD = "ec.polnac.gye", "co.polfa.ctg", "es.aduanas.alg", "es.gc.mad"
JIT = "jit.co-es-2026-07"
OTHER_CONTAINER = "CSQU3054383"
PASSPORT = {
    "persons": [
        {
            "role": "courier",
            "family_name": "PEREZ",
            "given_names": "JUAN",
            "documents": [{"type": "passport", "number": "AB123456", "country": "CO"}],
        }
    ]
}


@pytest.fixture
async def nodes(
    tmp_path: Path, database_engine: str, fresh_databases: FreshDatabases
) -> AsyncIterator[dict[str, TestNode]]:
    """Guayaquil lets only Algeciras receive nominal data and admits Cartagena's subscriptions."""
    made = {
        agency: make_node(tmp_path, agency, await fresh_databases.url(database_engine))
        for agency in (GYE, CTG, ALG, MAD)
    }
    made[GYE].config = replace(
        made[GYE].config, nominal_recipients=[ALG], subscription_auto_admit_partners=[CTG]
    )
    introduce(*made.values())
    for node in made.values():
        await node.start()
    yield made
    for node in made.values():
        await node.stop()


def correction(of: str, notice: dict[str, Any], **envelope: Any) -> dict[str, Any]:
    """The body of a correction of ``of`` whose replacement is ``notice``."""
    body = {
        "notice": {
            "v": 1,
            "kind": "notice.correction",
            "supersedes": of,
            "reason": "Weight confirmed by the laboratory.",
            "notice": notice,
        },
        "recipients": [ALG],
        "handling": {"tlp": "amber", "codes": ["h0"]},
    }
    return body | envelope


async def sent_and_queued(node: TestNode) -> tuple[int, int]:
    """How many notices ``node`` has sent and how many deliveries it has queued."""
    page = await node.api("analyst").get("/api/v1/notices", {"direction": "out", "limit": "200"})
    queued = await node.ctx.db.run(
        lambda c: c.execute(select(func.count()).select_from(OutboxRow)).scalar(), write=False
    )
    return len(page["items"]), int(queued or 0)


async def refused_leaving_nothing(node: TestNode, call: Awaitable[Any]) -> Any:
    """The refusal of ``call``, after checking it stored and queued nothing on ``node``."""
    before = await sent_and_queued(node)
    err = await refusal(call)
    assert await sent_and_queued(node) == before
    return err


async def publish(node: TestNode, body: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = await node.api().post("/api/v1/notices", body)
    return result


async def only_these_arrived(node: TestNode, sender: TestNode, *expected: str) -> None:
    """After a last notice from ``sender`` arrives at ``node``, it holds exactly ``expected``."""
    last = await publish(
        sender, publish_body(sender.agency, [node.agency], container="TGHU0000008")
    )
    await arrives(node, last["id"])
    assert set(await received(node)) == {*expected, last["id"]}


async def test_a_correction_cannot_carry_nominal_data_past_the_policy(
    nodes: dict[str, TestNode],
) -> None:
    """(a) A passport number inside a correction, to a named recipient and to a subscriber."""
    gye, ctg = nodes[GYE], nodes[CTG]
    await ctg.api("admin").post(
        # Every seizure and correction (a programme filter does not see inside a correction).
        "/api/v1/subscriptions",
        {"publisher": GYE, "filter": {"kinds": ["notice.correction", "notice.seizure"]}},
    )
    first = await publish(gye, publish_body(GYE, [ALG]))
    assert sorted(first["recipients"]) == [CTG, ALG]  # the subscriber got the original
    await arrives(ctg, first["id"])
    with_passport = seizure(GYE) | {"nominal": PASSPORT}

    # Named: refused whole, naming who may not receive it.
    err = await refused_leaving_nothing(
        gye, publish(gye, correction(first["id"], with_passport, recipients=[ALG, CTG]))
    )
    assert (err.reason, err.path) == (ReasonCode.NOMINAL_NOT_ALLOWED, "recipients")
    assert CTG in err.detail

    # Subscribed: the subscriber is withheld by the nominal rule, never sealed to.
    sent = await publish(gye, correction(first["id"], with_passport))
    assert sent["recipients"] == [ALG]
    assert [(w["agency"], "nominal" in w["rule"]) for w in sent["withheld"]] == [(CTG, True)]
    await arrives(nodes[ALG], sent["id"])
    await only_these_arrived(ctg, gye, first["id"])


async def found_jit(ctg: TestNode, *members: TestNode) -> None:
    body = {
        "id": JIT,
        "kind": "jit",
        "name": "JIT Colombia-Spain 2026/07",
        "programme": "jit",
        "owners": [ctg.agency],
        "threshold": 1,
        "members": [m.agency for m in members],
    }
    assert (await ctg.api("admin").post("/api/v1/channels", body))["applied"] is True


def case_notice(agency: str, title: str = "Banana route Guayaquil-Algeciras") -> dict[str, Any]:
    return {
        "v": 1,
        "kind": "notice.case",
        "programme": "jit",
        "unit": {"agency": agency},
        "case_ref": "JIT-CO-ES-2026/07",
        "title": title,
        "status": "active",
        "offences": ["drug_trafficking"],
    }


async def test_a_correction_cannot_carry_a_case_notice_out_of_its_jit(
    nodes: dict[str, TestNode],
) -> None:
    """(b) The correction of a JIT's case notice, addressed to the member removed since."""
    ctg, alg, mad = nodes[CTG], nodes[ALG], nodes[MAD]
    await found_jit(ctg, alg, mad)
    red = {"tlp": "red", "codes": ["h2"]}
    case = await publish(ctg, {"notice": case_notice(CTG), "channel": JIT, "handling": red})
    await arrives(mad, case["id"])
    changed = await ctg.api("admin").post(f"/api/v1/channels/{JIT}/members", {"remove": [MAD]})
    assert changed["applied"] is True
    fixed = case_notice(CTG, "Banana route Guayaquil-Algeciras-Madrid")

    # To the removed member by name: refused, the case notice stays in its JIT.
    err = await refused_leaving_nothing(
        ctg, publish(ctg, correction(case["id"], fixed, recipients=[MAD], handling=red))
    )
    assert err.reason == ReasonCode.WRONG_CHANNEL
    # Nor may a retraction of it (its reason is case content) leave the JIT.
    retraction = {"v": 1, "kind": "notice.retraction", "supersedes": case["id"], "reason": "x"}
    err = await refused_leaving_nothing(
        ctg, publish(ctg, {"notice": retraction, "recipients": [MAD], "handling": red})
    )
    assert err.reason == ReasonCode.WRONG_CHANNEL

    # In the JIT it goes to the members of now: not to Madrid.
    inside = correction(case["id"], fixed, channel=JIT, handling=red)
    del inside["recipients"]
    sent = await publish(ctg, inside)
    assert MAD not in sent["recipients"] and ALG in sent["recipients"]
    await arrives(alg, sent["id"])
    assert sent["id"] not in await received(mad)


async def test_a_correction_cannot_lower_the_handling(nodes: dict[str, TestNode]) -> None:
    """(c) A TLP:RED notice re-sent as CLEAR by correcting (or retracting) it."""
    gye, alg = nodes[GYE], nodes[ALG]
    body = publish_body(GYE, [ALG])
    body["handling"] = {"tlp": "red", "codes": ["h2"]}
    first = await publish(gye, body)
    await arrives(alg, first["id"])
    for handling in ({"tlp": "clear"}, {"tlp": "amber+strict", "codes": ["h2"]}, {"tlp": "red"}):
        lowered = correction(first["id"], seizure(GYE), handling=handling)
        err = await refused_leaving_nothing(gye, publish(gye, lowered))
        assert (err.reason, err.path) == (ReasonCode.HANDLING_FORBIDS, "handling")
        assert "keeps at least its handling" in err.detail
    retraction = {"v": 1, "kind": "notice.retraction", "supersedes": first["id"], "reason": "x"}
    err = await refused_leaving_nothing(
        gye, publish(gye, {"notice": retraction, "recipients": [ALG], "handling": {"tlp": "clear"}})
    )
    assert err.reason == ReasonCode.HANDLING_FORBIDS
    kept = await publish(gye, correction(first["id"], seizure(GYE), handling=body["handling"]))
    await arrives(alg, kept["id"])


async def test_a_correction_cannot_write_in_another_agencys_name(
    nodes: dict[str, TestNode],
) -> None:
    """(d) The replacement a correction carries names another agency's unit."""
    gye, alg = nodes[GYE], nodes[ALG]
    first = await publish(gye, publish_body(GYE, [ALG]))
    forged = correction(first["id"], seizure(CTG))
    err = await refused_leaving_nothing(gye, publish(gye, forged))
    assert (err.reason, err.path) == (ReasonCode.INCONSISTENT, "unit.agency")
    await only_these_arrived(alg, gye, first["id"])


async def test_another_agencys_notice_with_one_character_changed_is_not_ones_own(
    nodes: dict[str, TestNode],
) -> None:
    """(e) Re-publication is recognised by what the notice is, not by its bytes."""
    gye, alg, mad = nodes[GYE], nodes[ALG], nodes[MAD]
    body = publish_body(GYE, [ALG])
    body["handling"] = {"tlp": "red"}
    original = await arrives(alg, (await publish(gye, body))["id"])
    copy = original["notice"] | {"unit": {"agency": ALG}}
    copy["text"] = {"lang": "en", "text": "Holdalls behind the doors!"}  # one character
    for handling in ({"tlp": "clear"}, {"tlp": "red"}):
        again = {"notice": copy, "recipients": [MAD], "handling": handling}
        err = await refused_leaving_nothing(alg, publish(alg, again))
        assert (err.reason, err.path) == (ReasonCode.REPUBLISH_FORBIDDEN, "notice")
        assert GYE in err.detail and original["id"] in err.detail

    # Nor as the replacement in a correction of one's own, different notice.
    own = await publish(alg, publish_body(ALG, [MAD], container=OTHER_CONTAINER))
    err = await refused_leaving_nothing(
        alg, publish(alg, correction(own["id"], copy, recipients=[MAD]))
    )
    assert err.reason == ReasonCode.REPUBLISH_FORBIDDEN
    # A genuinely different seizure (another container) is Algeciras's own.
    other = copy | {"conveyance": {"container": "TGHU0000008"}}
    theirs = await publish(alg, {"notice": other, "recipients": [MAD]})
    await wait_for(lambda: _holds(mad, theirs["id"]))
    assert set(await received(mad)) == {own["id"], theirs["id"]}


async def _holds(node: TestNode, eid: str) -> bool:
    return eid in await received(node)
