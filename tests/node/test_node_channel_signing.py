"""Co-owners see what they sign: the take-over of issue 17 (item 2), tried on real nodes.

Cartagena and Algeciras own a JIT (threshold 2) that removed Madrid. Cartagena
hands Algeciras a proposal making itself sole owner (threshold 2 → 1) with
Madrid back in. Algeciras's node, through the API, the command line and the
console, shows those changes against the version in force there, signs only
what its administrator confirmed by fingerprint, and signs the take-over
only when both of its power-giving changes are named.
"""

from __future__ import annotations

import asyncio
import base64
import re
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from console_client import signed_in
from loopback_support import wait_for
from node_harness import Cluster, TestNode

from baliza.crypto.channel_review import membership_changes, membership_fingerprint
from baliza.crypto.channels import parse_membership, propose_membership, sign_membership
from baliza.node.cli.main import main
from baliza.node.console.reasons import MESSAGES
from baliza.node.core.clock import now_ms
from baliza.node.services.rules.channel_signing import NamedChange, changes_to_name, check_signing
from baliza.node.storage.sql import channels as channel_rows
from baliza.protocol.channels import ChannelKind, Membership
from baliza.protocol.errors import BalizaError, InputError, ReasonCode, TrustError
from baliza.protocol.ids import AgencyId, ChannelId

AGENCIES = ("co.polfa.ctg", "es.aduanas.alg", "es.gc.mad")
JIT = "jit.co-es-2026-07"
PROPOSALS = f"/api/v1/channels/{JIT}/proposals"
DAY_MS = 24 * 3600 * 1000


@pytest.fixture
async def trio(cluster: Cluster, database_engine: str) -> list[TestNode]:
    return await cluster(AGENCIES, database_engine)


async def version_at(node: TestNode) -> int | None:
    latest = await node.ctx.db.run(partial(channel_rows.latest, channel=JIT), write=False)
    return latest.version if latest else None


async def cosign(node: TestNode, proposal: str) -> dict[str, Any]:
    review = await node.api("admin").post(f"{PROPOSALS}/review", {"proposal": proposal})
    body = {"proposal": proposal, "confirm": review["fingerprint"]}
    result: dict[str, Any] = await node.api("admin").post(PROPOSALS, body)
    return result


async def jit_without_madrid(ctg: TestNode, alg: TestNode, mad: TestNode) -> str:
    """Version 1 (both own it, Madrid a member), version 2 (Madrid removed); v1's proposal."""
    founded = await ctg.api("admin").post(
        "/api/v1/channels",
        {
            "id": JIT,
            "kind": "jit",
            "name": "JIT Colombia-Spain 2026/07",
            "owners": [ctg.agency, alg.agency],
            "threshold": 2,
            "members": [mad.agency],
        },
    )
    assert (await cosign(alg, founded["proposal"]))["applied"]

    async def cartagena_at_1() -> bool:
        return await version_at(ctg) == 1

    await wait_for(cartagena_at_1)
    removal = await ctg.api("admin").post(
        f"/api/v1/channels/{JIT}/members", {"remove": [mad.agency]}
    )
    assert (await cosign(alg, removal["proposal"]))["version"] == 2

    async def both_at_2() -> bool:
        return await version_at(ctg) == 2 and await version_at(alg) == 2

    await wait_for(both_at_2)
    return str(founded["proposal"])


async def takeover(ctg: TestNode) -> bytes:
    """Cartagena's proposal: sole owner, threshold 1, Madrid back in; signed by Cartagena."""
    latest = await ctg.ctx.db.run(partial(channel_rows.latest, channel=JIT), write=False)
    assert latest is not None
    now = parse_membership(latest.raw).membership
    grab = Membership(
        channel=now.channel,
        kind=now.kind,
        name=now.name,
        owners=(AgencyId(ctg.agency),),
        threshold=1,
        members=tuple(sorted({*now.members, AgencyId("es.gc.mad")})),
        version=now.version + 1,
        issued_ms=now_ms(),
        expires_ms=now_ms() + 90 * DAY_MS,
        founding=parse_membership(latest.raw).founding,
    )
    return sign_membership(propose_membership(grab), ctg.keys)


async def test_a_takeover_is_shown_and_signed_only_when_named(trio: list[TestNode]) -> None:
    ctg, alg, mad = trio
    first = await jit_without_madrid(ctg, alg, mad)
    proposal = base64.b64encode(await takeover(ctg)).decode()
    admin = alg.api("admin")
    review = await admin.post(f"{PROPOSALS}/review", {"proposal": proposal})
    assert (review["in_force"], review["version"]) == (2, 3)
    assert review["changes"]["threshold"] == {"from": 2, "to": 1}
    assert review["changes"]["owners_removed"] == [alg.agency]
    assert review["changes"]["members_added"] == [mad.agency]
    assert review["must_name"] == ["leave_owners", "lower_threshold"]
    assert review["signed_by"] == [ctg.agency]
    assert [o["agency"] for o in review["owners"] if not o["signed"]] == [alg.agency]
    assert "THRESHOLD LOWERED: 2 → 1 owner signatures" in review["lines"]
    assert f"OWNER REMOVED: {alg.agency}" in review["lines"]
    fingerprint = review["fingerprint"]
    wrong = membership_fingerprint(b"another membership")
    # Blind, mistaken, confirmed without naming, naming one change of two: all refused.
    for extra, reason in (
        ({}, ReasonCode.PROPOSAL_UNCONFIRMED),
        ({"confirm": wrong}, ReasonCode.PROPOSAL_UNCONFIRMED),
        ({"confirm": fingerprint}, ReasonCode.PROPOSAL_CHANGE_NOT_NAMED),
        (
            {"confirm": fingerprint, "accept": ["lower_threshold"]},
            ReasonCode.PROPOSAL_CHANGE_NOT_NAMED,
        ),
        (
            {"confirm": fingerprint, "accept": ["leave_owners"]},
            ReasonCode.PROPOSAL_CHANGE_NOT_NAMED,
        ),
    ):
        with pytest.raises(BalizaError) as refused:
            await admin.post(PROPOSALS, {"proposal": proposal, **extra})
        assert refused.value.reason == reason, extra
    assert await version_at(alg) == 2 and await version_at(ctg) == 2
    # Consent spelt out (the fingerprint as people type it): signed, in force, both shown.
    typed = fingerprint.replace(" ", "").lower()
    signed = await admin.post(
        PROPOSALS,
        {"proposal": proposal, "confirm": typed, "accept": ["lower_threshold", "leave_owners"]},
    )
    assert (signed["applied"], signed["version"]) == (True, 3)
    assert signed["signed_by"] == sorted([ctg.agency, alg.agency])
    # An old proposal cannot be signed any more: it would fork a node that lags behind.
    old = await admin.post(f"{PROPOSALS}/review", {"proposal": first})
    with pytest.raises(BalizaError) as refused:
        await admin.post(PROPOSALS, {"proposal": first, "confirm": old["fingerprint"]})
    assert refused.value.reason == ReasonCode.MEMBERSHIP_ROLLBACK


async def test_the_command_line_shows_the_takeover_and_needs_the_flags(
    trio: list[TestNode], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ctg, alg, mad = trio
    await jit_without_madrid(ctg, alg, mad)
    file = tmp_path / "v3.proposal"
    file.write_bytes(await takeover(ctg))
    target = ["--url", alg.url, "--token", alg.tokens["admin"]]
    capsys.readouterr()
    # No terminal to ask on, no --confirm: the changes are printed, nothing is signed.
    assert await asyncio.to_thread(main, ["channel", "sign", JIT, str(file), *target]) != 0
    out, err = capsys.readouterr()
    assert "version 2 → 3" in out and "THRESHOLD LOWERED: 2 → 1" in out
    assert f"OWNER REMOVED: {alg.agency}" in out and f"member added: {mad.agency}" in out
    assert re.search(rf"{re.escape(ctg.agency)}\s+owner in force and proposed\s+signed", out)
    assert re.search(rf"{re.escape(alg.agency)}\s+owner in force\s+not signed", out)
    assert "--lower-threshold" in out and "--leave-owners" in out
    assert "proposal_unconfirmed" in err
    found = re.search(r"fingerprint: ([A-Z2-7 ]+)", out)
    assert found is not None
    confirm = ["--confirm", found.group(1)]
    argv = ["channel", "sign", JIT, str(file), *target, *confirm, "--lower-threshold"]
    assert await asyncio.to_thread(main, argv) != 0
    assert "proposal_change_not_named" in capsys.readouterr().err
    assert await version_at(alg) == 2
    assert await asyncio.to_thread(main, [*argv, "--leave-owners"]) == 0
    assert f"{JIT} version 3 in force, signed by" in capsys.readouterr().out
    assert await version_at(alg) == 3


async def test_the_console_shows_the_takeover_and_signs_only_what_was_ticked(
    trio: list[TestNode],
) -> None:
    ctg, alg, mad = trio
    await jit_without_madrid(ctg, alg, mad)
    raw = await takeover(ctg)
    client, csrf = await signed_in(alg, "admin")
    async with client:
        async with client.get(alg.url + "/console/admin/channels") as resp:
            page = await resp.text()
        assert 'action="/console/admin/channels/proposal"' in page
        assert f"<code>{ctg.agency}</code> <code>{alg.agency}</code>" in page  # signed v2
        form = {"csrf": csrf}
        data = _upload(form, raw)
        async with client.post(alg.url + "/console/admin/channels/proposal", data=data) as resp:
            assert resp.status == 200
            page = await resp.text()
        assert re.search(
            r'class="bad" id="change-threshold"><td>[^<]+</td><td>2</td><td>1</td>', page
        )
        assert 'id="change-owners-removed"' in page and 'id="change-members-added"' in page
        assert 'id="accept-lower-threshold"' in page and 'id="accept-leave-owners"' in page
        fingerprint = membership_fingerprint(parse_membership(raw).signed)
        assert fingerprint in page
        b64 = base64.b64encode(raw).decode()
        sign = {"csrf": csrf, "proposal_b64": b64, "fingerprint": fingerprint}
        unconfirmed = MESSAGES[ReasonCode.PROPOSAL_UNCONFIRMED]
        unnamed = MESSAGES[ReasonCode.PROPOSAL_CHANGE_NOT_NAMED]
        for extra, message in (
            ({}, unconfirmed),  # the box "I have read these changes" not ticked
            ({"read": "yes"}, unnamed),  # read, but neither change named
            ({"read": "yes", "accept": "lower_threshold"}, unnamed),
        ):
            async with client.post(
                alg.url + "/console/admin/channels/sign", data={**sign, **extra}
            ) as resp:
                assert resp.status == 422, extra
                page = await resp.text()
            assert 'id="channel-error"' in page and message in page, extra
        assert await version_at(alg) == 2
        ticked = [*sign.items(), ("read", "yes"), ("accept", "lower_threshold")]
        ticked.append(("accept", "leave_owners"))
        async with client.post(alg.url + "/console/admin/channels/sign", data=ticked) as resp:
            assert resp.status == 200
            page = await resp.text()
        assert 'id="channel-signed"' in page and "version 3 is in force" in page
    assert await version_at(alg) == 3
    # The same page in Spanish warns in Spanish.
    client, csrf = await signed_in(alg, "admin", "es")
    async with client:
        second = await takeover(ctg)  # the channel is now at 3: a proposal for 4
        async with client.post(
            alg.url + "/console/admin/channels/proposal", data=_upload({"csrf": csrf}, second)
        ) as resp:
            page = await resp.text()
        assert "Versión en vigor aquí" in page


def _upload(fields: dict[str, str], raw: bytes) -> aiohttp.FormData:
    data = aiohttp.FormData()
    for name, value in fields.items():
        data.add_field(name, value)
    data.add_field("proposal", raw, filename="v3.proposal")
    return data


# -- the rule itself, without nodes ---------------------------------------------------

CTG, ALG, MAD = (AgencyId(a) for a in AGENCIES)


def _jit(version: int, owners: tuple[AgencyId, ...], threshold: int) -> Membership:
    return Membership(
        channel=ChannelId(JIT),
        kind=ChannelKind.JIT,
        name="JIT",
        owners=tuple(sorted(owners)),
        threshold=threshold,
        members=tuple(sorted({*owners, MAD})),
        version=version,
        issued_ms=1_000,
        expires_ms=2_000,
        founding=None if version == 1 else b"\x01" * 32,
    )


def test_only_power_giving_changes_must_be_named() -> None:
    both = _jit(4, (ALG, CTG), 2)
    assert changes_to_name(membership_changes(both, _jit(5, (CTG,), 1)), ALG) == {
        NamedChange.LOWER_THRESHOLD,
        NamedChange.LEAVE_OWNERS,
    }
    # Cartagena loses nothing by Algeciras leaving; a raised threshold gives nothing away.
    assert changes_to_name(membership_changes(both, _jit(5, (CTG,), 1)), CTG) == {
        NamedChange.LOWER_THRESHOLD
    }
    assert changes_to_name(membership_changes(_jit(4, (CTG,), 1), both), CTG) == frozenset()
    assert changes_to_name(membership_changes(None, _jit(1, (CTG,), 1)), ALG) == frozenset()


def test_the_rule_refuses_in_its_order() -> None:
    both = _jit(4, (ALG, CTG), 2)
    grab = membership_changes(both, _jit(5, (CTG,), 1))
    fp = "AAAA BBBB"
    with pytest.raises(TrustError) as refused:
        check_signing(membership_changes(both, _jit(4, (CTG,), 1)), fp, ALG, confirm=fp, accept=())
    assert refused.value.reason == ReasonCode.MEMBERSHIP_ROLLBACK
    with pytest.raises(InputError) as unconfirmed:
        check_signing(grab, fp, ALG, confirm=None, accept=set(NamedChange))
    assert unconfirmed.value.reason == ReasonCode.PROPOSAL_UNCONFIRMED
    with pytest.raises(TrustError) as unnamed:
        check_signing(grab, fp, ALG, confirm="aaaabbbb", accept={NamedChange.LEAVE_OWNERS})
    assert unnamed.value.reason == ReasonCode.PROPOSAL_CHANGE_NOT_NAMED
    assert "lower_threshold" in unnamed.value.detail
    check_signing(grab, fp, ALG, confirm=" aaaa bbbb ", accept=set(NamedChange))
