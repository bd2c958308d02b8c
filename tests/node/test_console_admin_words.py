"""The administrator's pages in words: states, reasons, filters and events translated;
refusals that need a reason; revoking one's own token asked twice; the directory's members.
"""

from __future__ import annotations

import pytest
from console_client import signed_in
from node_harness import Cluster, TestNode
from test_console_admin import ask, subscription_states

from baliza.node.console.admin_words import SUBSCRIPTION_STATES, TRUST_EVENTS
from baliza.protocol.subscriptions import SubscriptionState


@pytest.fixture
async def nodes(cluster: Cluster) -> tuple[TestNode, TestNode]:
    gye, alg = await cluster(("ec.polnac.gye", "es.aduanas.alg"))
    return gye, alg


def test_every_subscription_state_has_its_own_words() -> None:
    assert set(SUBSCRIPTION_STATES) == {s.value for s in SubscriptionState}


async def test_a_refusal_without_a_reason_is_refused_and_decides_nothing(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    sid = await ask(alg, gye)
    client, csrf = await signed_in(gye, "admin", lang="es")
    async with client:
        async with client.get(gye.url + "/console/admin/subscriptions") as resp:
            page = await resp.text()
        # The filter in words, the state as a subscription's (feminine in Spanish).
        assert "Tipos de aviso: Incautación" in page and "{&#34;kinds&#34;" not in page
        assert "pendiente" in page or "solicitada" in page
        assert "retenida para un administrador" in page
        for reason in ("", "   "):
            async with client.post(
                gye.url + f"/console/admin/subscriptions/{sid}/refuse",
                data={"csrf": csrf, "reason": reason},
            ) as resp:
                assert resp.status == 422
                assert "<code>reason</code>" in await resp.text()
        assert (await subscription_states(gye))[sid] in ("requested", "pending")


async def test_revoking_ones_own_token_says_so_and_waits_for_a_yes(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, _ = nodes
    client, csrf = await signed_in(gye, "admin", lang="fr")
    own = gye.tokens["admin"].split("_")[1]
    async with client:
        async with client.post(
            gye.url + f"/console/admin/tokens/{own}/revoke", data={"csrf": csrf}
        ) as resp:
            page = await resp.text()
        assert resp.status == 200 and "vous déconnecte" in page
        async with client.get(gye.url + "/console/admin/tokens", allow_redirects=False) as resp:
            assert resp.status == 200  # still signed in: nothing was revoked
        async with client.post(
            gye.url + f"/console/admin/tokens/{own}/revoke",
            data={"csrf": csrf, "confirm": "yes"},
            allow_redirects=False,
        ) as resp:
            assert resp.status == 303
        async with client.get(gye.url + "/console/admin/tokens", allow_redirects=False) as resp:
            assert resp.status == 303  # to sign in


async def test_events_members_and_peers_read_as_words(nodes: tuple[TestNode, TestNode]) -> None:
    gye, alg = nodes
    client, csrf = await signed_in(gye, "admin", lang="pt")
    async with client:
        async with client.post(
            gye.url + "/console/admin/tokens", data={"csrf": csrf, "name": "Ana", "role": "analyst"}
        ) as resp:
            assert resp.status == 201
        async with client.get(gye.url + "/console/admin/events") as resp:
            events = await resp.text()
        assert "Token criado" in events and "token.created" in events
        async with client.get(gye.url + "/console/admin/directory") as resp:
            directory = await resp.text()
        assert 'id="members"' in directory and alg.agency in directory and "Espanha" in directory
        async with client.get(gye.url + "/console/admin/peers") as resp:
            peers = await resp.text()
        assert ">pending<" not in peers and "pendente" not in peers


def test_every_trust_event_the_node_records_has_words() -> None:
    from pathlib import Path

    import baliza.node as node_package

    root = Path(node_package.__file__).parent
    source = "\n".join(p.read_text("utf-8") for p in root.rglob("*.py"))
    for action in ("token.created", "token.revoked", "directory.applied", "channel.membership"):
        assert f'"{action}"' in source and action in TRUST_EVENTS
