"""The administrator's console over real HTTP: subscriptions and directory proposals.

Subscriptions are requested by a real partner node and decided on the
console with the same service the API uses (the partner is told); a
directory proposal is a real file, signed by the test federation's
administrators one after the other, read against the version in force.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import aiohttp
import pytest
from console_client import signed_in
from node_harness import Cluster, Federation, TestNode
from sharing_support import wait_for

from baliza.crypto.directory import directory_fingerprint, propose
from baliza.node.core.clock import now_ms
from baliza.node.services.directory_build import Changes, next_version
from baliza.protocol.directory import SignedDirectory


@pytest.fixture
async def nodes(cluster: Cluster) -> tuple[TestNode, TestNode, Federation]:
    gye, alg = await cluster(("ec.polnac.gye", "es.aduanas.alg"))
    assert cluster.federation is not None
    return gye, alg, cluster.federation


async def subscription_states(node: TestNode) -> dict[str, str]:
    page = await node.api("analyst").get("/api/v1/subscriptions", {})
    return {item["id"]: item["state"] for item in page["items"]}


async def ask(subscriber: TestNode, publisher: TestNode) -> str:
    body: dict[str, Any] = {"publisher": publisher.agency, "filter": {"kinds": ["notice.seizure"]}}
    asked = await subscriber.api("admin").post("/api/v1/subscriptions", body)
    sid = str(asked["id"])

    async def held() -> bool:
        return (await subscription_states(publisher)).get(sid) in ("requested", "pending")

    await wait_for(held)
    return sid


async def test_a_pending_subscription_is_admitted_from_the_console_and_the_partner_told(
    nodes: tuple[TestNode, TestNode, Federation],
) -> None:
    gye, alg, _ = nodes
    sid = await ask(alg, gye)
    client, csrf = await signed_in(gye, "admin", lang="es")
    async with client:
        async with client.get(gye.url + "/console/admin/subscriptions") as resp:
            page = await resp.text()
        assert f"/console/admin/subscriptions/{sid}/approve" in page
        assert "Admitir" in page and alg.agency in page
        # Without the form's token: refused, and nothing decided.
        async with client.post(gye.url + f"/console/admin/subscriptions/{sid}/approve") as resp:
            assert resp.status == 403
        assert (await subscription_states(gye))[sid] in ("requested", "pending")
        async with client.post(
            gye.url + f"/console/admin/subscriptions/{sid}/approve", data={"csrf": csrf}
        ) as resp:
            assert resp.status == 200
            assert f"/console/admin/subscriptions/{sid}/approve" not in await resp.text()
        # Deciding twice is the service's conflict, shown as a page in Spanish.
        async with client.post(
            gye.url + f"/console/admin/subscriptions/{sid}/refuse",
            data={"csrf": csrf, "reason": "Fuera del acuerdo"},
        ) as resp:
            assert resp.status == 409
    assert (await subscription_states(gye))[sid] == "admitted"

    async def told() -> bool:
        return (await subscription_states(alg)).get(sid) == "admitted"

    await wait_for(told)


async def test_a_pending_subscription_is_refused_with_a_reason(
    nodes: tuple[TestNode, TestNode, Federation],
) -> None:
    gye, alg, _ = nodes
    sid = await ask(alg, gye)
    client, csrf = await signed_in(gye, "admin")
    async with client:
        async with client.post(
            gye.url + f"/console/admin/subscriptions/{sid}/refuse",
            data={"csrf": csrf, "reason": "Not in our programme"},
        ) as resp:
            assert resp.status == 200
            assert "Not in our programme" in await resp.text()
        async with client.post(
            gye.url + f"/console/admin/subscriptions/{sid}/maybe", data={"csrf": csrf}
        ) as resp:
            assert resp.status == 422

    async def told() -> bool:
        return (await subscription_states(alg)).get(sid) == "refused"

    await wait_for(told)


async def test_only_an_administrator_decides_or_reads_proposals(
    nodes: tuple[TestNode, TestNode, Federation],
) -> None:
    gye, alg, _ = nodes
    sid = await ask(alg, gye)
    for role in ("analyst", "publisher"):
        client, csrf = await signed_in(gye, role)
        async with client:
            async with client.get(gye.url + "/console/admin/subscriptions") as resp:
                assert resp.status == 403
            async with client.post(
                gye.url + f"/console/admin/subscriptions/{sid}/approve", data={"csrf": csrf}
            ) as resp:
                assert resp.status == 403
            async with client.post(
                gye.url + "/console/admin/directory/proposal", data={"csrf": csrf}
            ) as resp:
                assert resp.status == 403
    assert (await subscription_states(gye))[sid] in ("requested", "pending")


async def test_a_proposal_shows_its_changes_and_whose_signatures_it_waits_for(
    nodes: tuple[TestNode, TestNode, Federation],
) -> None:
    gye, _, federation = nodes
    current = SignedDirectory.from_bytes(federation.signed).directory
    proposal = propose(next_version(current, Changes(valid_days=60), now_ms=now_ms()))
    once = federation.sign(proposal, signers=1)
    twice = federation.sign(proposal, signers=2)
    client, csrf = await signed_in(gye, "admin", lang="fr")

    async def review(content: bytes) -> tuple[int, str]:
        data = aiohttp.FormData()
        data.add_field("csrf", csrf)
        data.add_field("proposal", content, filename="v2.proposal")
        async with client.post(gye.url + "/console/admin/directory/proposal", data=data) as resp:
            return resp.status, await resp.text()

    async with client:
        async with client.get(gye.url + "/console/admin/directory") as resp:
            assert 'action="/console/admin/directory/proposal"' in await resp.text()
        status, page = await review(once)
        assert status == 200
        assert directory_fingerprint(proposal) in page
        assert re.search(r"Proposition pour la version</?\w*>? ?2|version\s*2", page)
        assert page.count(">signé<") == 1 and page.count(">en attente<") == 2
        assert 'id="proposal-state" class="bad"' in page
        status, page = await review(twice)
        assert 'id="proposal-state" class="good"' in page and page.count(">signé<") == 2
        status, page = await review(b"not a directory")
        assert status == 422 and 'id="proposal-error"' in page
    # Nothing was applied: reading a proposal changes nothing at the node.
    assert gye.ctx.trust.version == 1


async def test_a_proposal_signed_by_enough_administrators_is_applied_and_passed_on(
    nodes: tuple[TestNode, TestNode, Federation],
) -> None:
    gye, alg, federation = nodes
    current = SignedDirectory.from_bytes(federation.signed).directory
    proposal = propose(next_version(current, Changes(valid_days=60), now_ms=now_ms()))
    once = base64.b64encode(federation.sign(proposal, signers=1)).decode()
    client, csrf = await signed_in(gye, "admin")
    async with client:
        data = aiohttp.FormData()
        data.add_field("csrf", csrf)
        data.add_field("proposal", federation.sign(proposal, signers=2), filename="v2")
        async with client.post(gye.url + "/console/admin/directory/proposal", data=data) as resp:
            page = await resp.text()
        found = re.search(r'name="proposal_b64" value="([^"]+)"', page)
        assert found is not None
        # One signature of the two needed: the node's own check refuses it.
        async with client.post(
            gye.url + "/console/admin/directory/apply", data={"csrf": csrf, "proposal_b64": once}
        ) as resp:
            assert resp.status == 403
        assert gye.ctx.trust.version == 1
        async with client.post(
            gye.url + "/console/admin/directory/apply", data={"proposal_b64": found.group(1)}
        ) as resp:
            assert resp.status == 403  # no CSRF token
        assert gye.ctx.trust.version == 1
        async with client.post(
            gye.url + "/console/admin/directory/apply",
            data={"csrf": csrf, "proposal_b64": found.group(1)},
        ) as resp:
            assert resp.status == 200
            assert "Version in force: 2" in await resp.text()
    assert gye.ctx.trust.version == 2

    async def passed_on() -> bool:
        return alg.ctx.trust.version == 2

    await wait_for(passed_on)
