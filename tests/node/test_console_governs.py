"""The console's notice page shows what governs a notice before anyone acts on it.

The handling codes (H0–H3) and the restrictions the provider stated, that a
notice is a share and of whose notice, and that it was signed by a key
revoked since: what the API (``GET /api/v1/notices/{id}``) and ``baliza
show`` say, read from the same read model, in the person's language. Real
nodes on loopback; the page is read as a signed-in analyst reads it.
"""

from __future__ import annotations

import html
import re

import pytest
from console_client import signed_in
from loopback_support import wait_for
from node_harness import Cluster, TestNode
from notice_json import publish_body
from sharing_support import cli
from test_node_trust import Trio, next_signed, post_directory
from test_node_trust import trio as trio  # the fixture, for the revocation test

from baliza.node.core.clock import now_ms
from baliza.node.services.directory_build import Changes
from baliza.protocol.directory import RevocationReason

GYE, CTG, ALG = "ec.polnac.gye", "co.polfa.ctg", "es.aduanas.alg"
RESTRICTION = "Solo para la fiscalía de Algeciras <b>no</b> a terceros"


async def page(node: TestNode, eid: str, lang: str = "en") -> str:
    client, _ = await signed_in(node, "analyst", lang=lang)
    async with client, client.get(f"{node.url}/console/notices/{eid}") as resp:
        assert resp.status == 200
        return await resp.text()


def governs(text: str) -> str:
    """The page's "what governs this notice" section, tags removed, entities read."""
    found = re.search(r'<section class="governs".*?</section>', text, re.S)
    assert found is not None
    return html.unescape(re.sub(r"<[^>]+>", " ", found.group(0)))


async def arrived(node: TestNode, eid: str) -> None:
    async def there() -> bool:
        page = await node.api("analyst").get("/api/v1/notices", {"direction": "in"})
        return any(item["id"] == eid for item in page["items"])

    await wait_for(there)


async def test_the_handling_codes_and_restrictions_are_shown_in_each_language(
    cluster: Cluster,
) -> None:
    gye, alg = await cluster((GYE, ALG))
    body = publish_body(gye.agency, [alg.agency])
    body["handling"] = {"tlp": "amber", "codes": ["h1", "h2", "h3"], "restrictions": RESTRICTION}
    eid = str((await gye.api().post("/api/v1/notices", body))["id"])
    await arrived(alg, eid)
    english = await page(alg, eid)
    section = governs(english)
    assert "H1 — not for use in court without the sender's permission." in section
    assert "H2 — not to be passed on without the sender's permission." in section
    assert "H3 — other restrictions, stated below." in section
    assert "H0" not in section  # only the codes the header carries
    assert f"Restrictions stated by the provider: {RESTRICTION}" in " ".join(section.split())
    assert "<b>no</b>" not in english  # the provider's text is text, never markup
    assert "A share" not in section and 'id="signed-by-revoked"' not in english
    spanish = governs(await page(alg, eid, "es"))
    assert "H1 — no se usa ante un tribunal sin permiso del remitente." in spanish
    assert "Restricciones indicadas por el proveedor:" in spanish
    french = governs(await page(alg, eid, "fr"))
    assert "Restrictions indiquées par le fournisseur :" in french
    # The sender's own page says the same of what it sent.
    assert "H3 — other restrictions, stated below." in governs(await page(gye, eid))
    # And a notice without codes says the TLP label alone governs it.
    plain = publish_body(gye.agency, [alg.agency])
    plain["handling"] = {"tlp": "green"}
    other = str((await gye.api().post("/api/v1/notices", plain))["id"])
    await arrived(alg, other)
    portuguese = governs(await page(alg, other, "pt"))
    assert "Sem código de tratamento: só a etiqueta TLP o rege." in portuguese


async def test_a_share_says_whose_notice_it_carries(
    cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    gye, alg, ctg = await cluster((GYE, ALG, CTG))
    body = publish_body(gye.agency, [alg.agency])
    body["handling"] = {"tlp": "green", "codes": ["h0"]}
    original = str((await gye.api().post("/api/v1/notices", body))["id"])
    await arrived(alg, original)
    shared = await alg.api().post(f"/api/v1/notices/{original}/share", {"recipients": [CTG]})
    assert shared["state"] == "sent"
    share = str(shared["id"])
    await arrived(ctg, share)
    api = await ctg.api("analyst").get(f"/api/v1/notices/{share}", {})
    assert api["share_of"] == {"id": original, "originator": GYE}
    section = " ".join(governs(await page(ctg, share)).split())
    assert f"A share: {ALG} passed on a notice written by {GYE}." in section
    assert f"Original notice: {original}" in section
    assert "H0 — for law-enforcement use only." in section  # the original's handling, kept
    french = " ".join(governs(await page(ctg, share, "fr")).split())
    assert f"Un partage : {ALG} a transmis un avis rédigé par {GYE}." in french
    # ``baliza show`` says so too, with the handling kept from the original.
    assert await cli(ctg, "analyst", "show", share, "--no-receipt") == 0
    shown = capsys.readouterr().out
    assert f"a share by {ALG} of {GYE}'s notice {original}" in shown
    assert "handling: TLP:GREEN h0" in shown
    # The original, as its recipient reads it, is no share.
    assert (await alg.api("analyst").get(f"/api/v1/notices/{original}", {}))["share_of"] is None
    assert "A share" not in governs(await page(alg, original))


async def test_a_notice_signed_by_a_since_revoked_key_is_marked(trio: Trio) -> None:
    gye, alg = trio.gye, trio.alg
    eid = str((await gye.api().post("/api/v1/notices", publish_body(gye.agency, [ALG])))["id"])
    await arrived(alg, eid)
    assert 'id="signed-by-revoked"' not in await page(alg, eid)
    kid = bytes(gye.keys.public().signing_key_id).hex()
    revocation = (gye.agency, kid, now_ms(), RevocationReason.KEY_COMPROMISE)
    status, _ = await post_directory(alg, next_signed(trio, Changes(revoke_keys=(revocation,))))
    assert status == 200
    assert (await alg.api("analyst").get(f"/api/v1/notices/{eid}", {}))["signed_by_revoked_key"]
    english = await page(alg, eid)
    assert 'id="signed-by-revoked"' in english
    assert "Signed with a key that has been revoked since" in english
    spanish = await page(alg, eid, "es")
    assert "Firmado con una clave revocada después" in spanish
