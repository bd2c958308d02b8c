"""The console over real HTTP: sign-in, roles, CSRF, headers, languages, publishing.

A real node on loopback and a cookie-keeping client, as a browser would be;
the browser itself is exercised in tests/browser.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import re
from enum import StrEnum
from functools import partial
from pathlib import Path

import aiohttp
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from console_client import CSRF, signed_in
from node_harness import Cluster, TestNode, make_node
from notice_json import alert_notice, publish_body
from yarl import URL

from baliza.node.console.i18n import LANGUAGES, LOCALE_DIR, negotiate
from baliza.node.console.reasons import MESSAGES
from baliza.node.console.vocabulary import WORDS
from baliza.node.core.clock import now_ms
from baliza.node.http.app import ROUTES
from baliza.node.http.routes import Credential
from baliza.node.services.sessions import IDLE_MS
from baliza.node.storage.delivery import OutboxState
from baliza.node.storage.sql import sessions as session_rows
from baliza.node.storage.tokens import TokenRole
from baliza.protocol.errors import ReasonCode
from baliza.protocol.handling import Tlp
from baliza.protocol.notices import (
    KINDS,
    CaseStatus,
    Category,
    CompanyRole,
    Concealment,
    Detection,
    DocumentType,
    Offence,
    OutcomeResult,
    PersonRole,
    Programme,
    RequestAction,
    RiskIndicator,
    SubjectType,
    TaskStatus,
    TransportMode,
    Unit,
)
from baliza.protocol.subscriptions import SubscriptionState

# Route parameters a stranger's request fills in (anything else: "x").
NAMED = {"kind": "alert", "section": "keys", "action": "approve"}
CONSOLE = Path(__file__).resolve().parents[2] / "node" / "console"


@pytest.fixture
async def nodes(cluster: Cluster) -> tuple[TestNode, TestNode]:
    gye, alg = await cluster(("ec.polnac.gye", "es.aduanas.alg"))
    return gye, alg


async def test_root_sends_a_stranger_to_sign_in(nodes: tuple[TestNode, TestNode]) -> None:
    gye, _ = nodes
    async with aiohttp.ClientSession() as client, client.get(gye.url + "/") as resp:
        assert resp.url.path == "/console/sign-in"
        assert resp.status == 200
        assert resp.headers["X-Frame-Options"] == "DENY"
        csp = resp.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp


async def test_session_cookie_is_httponly_and_strict(nodes: tuple[TestNode, TestNode]) -> None:
    gye, _ = nodes
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as client:
        async with client.get(gye.url + "/console/sign-in") as resp:
            pre = CSRF.search(await resp.text())
        assert pre is not None
        async with client.post(
            gye.url + "/console/sign-in",
            data={"csrf": pre.group(1), "token": gye.tokens["analyst"]},
            allow_redirects=False,
        ) as resp:
            assert resp.status == 303
            cookie = next(
                c for c in resp.headers.getall("Set-Cookie") if c.startswith("baliza_session=")
            )
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback; Secure behind TLS


async def test_a_wrong_token_is_refused_in_the_chosen_language(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, _ = nodes
    async with aiohttp.ClientSession(
        headers={"Accept-Language": "fr"}, cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as client:
        async with client.get(gye.url + "/console/sign-in") as resp:
            pre = CSRF.search(await resp.text())
        assert pre is not None
        async with client.post(
            gye.url + "/console/sign-in", data={"csrf": pre.group(1), "token": "bz_no_such"}
        ) as resp:
            assert resp.status == 401
            assert "Le jeton est inconnu ou révoqué." in await resp.text()


async def test_sign_in_without_its_csrf_token_is_refused(nodes: tuple[TestNode, TestNode]) -> None:
    gye, _ = nodes
    async with (
        aiohttp.ClientSession() as client,
        client.post(gye.url + "/console/sign-in", data={"token": gye.tokens["admin"]}) as resp,
    ):
        assert resp.status == 403
        assert "baliza_session" not in client.cookie_jar.filter_cookies(URL(gye.url))


async def test_a_form_without_the_session_csrf_token_is_refused(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    client, csrf = await signed_in(gye, "publisher")
    async with client:
        form = {"programme": "ccp", "recipients": alg.agency}
        async with client.post(gye.url + "/console/publish/seizure", data=form) as resp:
            assert resp.status == 403
        async with client.post(
            gye.url + "/console/publish/seizure", data={**form, "csrf": csrf + "x"}
        ) as resp:
            assert resp.status == 403


async def test_a_form_without_its_token_says_to_reload_in_the_chosen_language(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, _ = nodes
    client, _ = await signed_in(gye, "publisher", lang="es")
    async with client, client.post(gye.url + "/console/sign-out", data={}) as resp:
        assert resp.status == 403
        assert "recargue la página" in await resp.text()


async def test_an_idle_session_ends(nodes: tuple[TestNode, TestNode]) -> None:
    gye, _ = nodes
    client, _ = await signed_in(gye, "analyst")
    async with client:
        cookie = client.cookie_jar.filter_cookies(URL(gye.url))["baliza_session"].value
        id_hash = hashlib.sha256(cookie.encode()).digest()
        # Last used just over the idle limit ago.
        last_used = now_ms() - IDLE_MS - 1000
        await gye.ctx.db.run(
            partial(session_rows.touch_session, id_hash=id_hash, now_ms=last_used), write=True
        )
        async with client.get(gye.url + "/console/", allow_redirects=False) as resp:
            assert resp.status == 303
            assert resp.headers["Location"].startswith("/console/sign-in")
        found = await gye.ctx.db.run(
            partial(session_rows.session_by_hash, id_hash=id_hash), write=False
        )
        assert found is None


async def test_cookies_are_secure_when_the_node_is_reached_over_https(tmp_path: Path) -> None:
    node = make_node(
        tmp_path,
        "ec.polnac.gye",
        f"sqlite+aiosqlite:///{tmp_path / 'gye.db'}",
        public_url="https://gye.example.org",
    )
    await node.start()
    try:
        async with (
            aiohttp.ClientSession() as client,
            # Behind a TLS proxy: the node itself listens on loopback.
            client.get(f"http://127.0.0.1:{node.config.port}/console/sign-in") as resp,
        ):
            cookies = resp.headers.getall("Set-Cookie")
        assert cookies and all("Secure" in c for c in cookies)
    finally:
        await node.stop()


async def test_the_board_charts_and_route_view_are_drawn_by_the_node(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    body = publish_body(gye.agency, [alg.agency])
    body["notice"]["route"] = {"loading": {"locode": "ECGYE"}, "discharge": {"locode": "ESALG"}}
    published = await gye.api("publisher").post("/api/v1/notices", body)
    client, _ = await signed_in(gye, "analyst", lang="fr")
    async with client:
        async with client.get(gye.url + f"/console/notices/{published['id']}") as resp:
            page = await resp.text()
        assert "<polyline" in page and "ECGYE · Guayaquil" in page and "ESALG" in page
        async with client.get(gye.url + "/console/charts") as resp:
            page = await resp.text()
        assert "Saisies par marchandise" in page and ">cocaïne</text>" in page
        assert ">ECGYE</text>" not in page and ">ESALG</text>" in page
        async with client.get(gye.url + "/console/board") as resp:
            assert resp.status == 200
            assert "Tableau des alertes" in await resp.text()


async def test_an_alert_answered_through_the_outcome_form_is_answered_on_the_board(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    alert = alert_notice(gye.agency, "MSCU1234566")
    sent = await gye.api("publisher").post(
        "/api/v1/notices", {"notice": alert, "recipients": [alg.agency]}
    )

    async def received() -> bool:
        page = await alg.api("analyst").get("/api/v1/notices", {"kind": "notice.alert"})
        return bool(page["items"])

    deadline = asyncio.get_running_loop().time() + 20
    while not await received():
        assert asyncio.get_running_loop().time() < deadline, "the alert never arrived"
        await asyncio.sleep(0.05)
    client, csrf = await signed_in(alg, "publisher", lang="es")
    async with client:
        async with client.get(alg.url + f"/console/notices/{sent['id']}") as resp:
            assert f"/console/publish/outcome?alert={sent['id']}" in await resp.text()
        async with client.get(alg.url + f"/console/publish/outcome?alert={sent['id']}") as resp:
            form = await resp.text()
        assert "Registrar un resultado" in form and f'value="{sent["id"]}"' in form
        at = re.search(r'name="at" type="datetime-local" value="([^"]+)"', form)
        assert at is not None
        answer = {
            "csrf": csrf,
            "alert": sent["id"],
            "result": "negative",
            "at": at.group(1),
            "recipients": gye.agency,
            "tlp": "amber",
        }
        async with client.post(alg.url + "/console/publish/outcome", data=answer) as resp:
            assert resp.status == 200, await resp.text()
        async with client.get(alg.url + "/console/board") as resp:
            board = await resp.text()
        assert "pill-answered" in board and "(negativo)" in board


async def test_an_analyst_cannot_reach_the_publish_form(nodes: tuple[TestNode, TestNode]) -> None:
    gye, _ = nodes
    client, csrf = await signed_in(gye, "analyst")
    async with client:
        async with client.get(gye.url + "/console/publish/alert") as resp:
            assert resp.status == 403
        async with client.post(gye.url + "/console/publish/alert", data={"csrf": csrf}) as resp:
            assert resp.status == 403
        async with client.get(gye.url + "/console/admin/tokens") as resp:
            assert resp.status == 403


async def test_every_session_route_sends_a_stranger_to_sign_in(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, _ = nodes
    session_routes = [r for r in ROUTES if r.credential is Credential.SESSION]
    assert session_routes
    async with aiohttp.ClientSession() as client:
        for route in session_routes:
            path = re.sub(r"\{(\w+)\}", lambda m: NAMED.get(m.group(1), "x"), route.path)
            async with client.request(
                route.method,
                gye.url + path,
                allow_redirects=False,
                headers={"Authorization": f"Bearer {gye.tokens['admin']}"},
            ) as resp:
                # A bearer token is not a session: the console wants its cookie.
                assert resp.status == 303, route
                assert resp.headers["Location"].startswith("/console/sign-in?next=")


async def test_a_seizure_published_through_the_form_reaches_the_partner(
    nodes: tuple[TestNode, TestNode],
) -> None:
    gye, alg = nodes
    client, csrf = await signed_in(gye, "publisher", lang="es")
    form = {
        "csrf": csrf,
        "programme": "ccp",
        "seized": "2026-11-30T10:00",
        "location": "ECGYE",
        "transport": "sea",
        "category": "cocaine",
        "amount": "25000",
        "unit": "g",
        "container": "MSCU1234566",
        "recipients": alg.agency,
        "tlp": "amber",
    }
    async with client:
        async with client.post(gye.url + "/console/publish/seizure", data=form) as resp:
            assert resp.status == 200, await resp.text()
            page = await resp.text()
            assert "/console/notices/" in str(resp.url)
            assert "25 kg" in page and "TLP:AMBER" in page
        bad = {**form, "container": "MSCU1234567"}
        async with client.post(gye.url + "/console/publish/seizure", data=bad) as resp:
            assert resp.status == 422
            page = await resp.text()
            assert "No es un número de contenedor válido" in page
            assert 'id="container-error"' in page

    async def arrived() -> bool:
        page = await alg.api("analyst").get("/api/v1/notices", {"direction": "in"})
        return [i["kind"] for i in page["items"]] == ["notice.seizure"]

    deadline = asyncio.get_running_loop().time() + 20
    while not await arrived():
        assert asyncio.get_running_loop().time() < deadline, "the seizure never arrived"
        await asyncio.sleep(0.05)


async def test_revoking_the_token_ends_its_sessions(nodes: tuple[TestNode, TestNode]) -> None:
    gye, _ = nodes
    analyst, _ = await signed_in(gye, "analyst")
    admin, csrf = await signed_in(gye, "admin")
    token_id = gye.tokens["analyst"].split("_")[1]
    async with analyst, admin:
        # The first press asks again, and revokes nothing.
        async with admin.post(
            gye.url + f"/console/admin/tokens/{token_id}/revoke", data={"csrf": csrf}
        ) as resp:
            assert resp.status == 200 and 'id="confirm-revoke"' in await resp.text()
        async with analyst.get(gye.url + "/console/", allow_redirects=False) as resp:
            assert resp.status == 200
        async with admin.post(
            gye.url + f"/console/admin/tokens/{token_id}/revoke",
            data={"csrf": csrf, "confirm": "yes"},
        ) as resp:
            assert resp.status == 200
        async with analyst.get(gye.url + "/console/", allow_redirects=False) as resp:
            assert resp.status == 303


async def test_every_admin_page_renders(nodes: tuple[TestNode, TestNode]) -> None:
    gye, alg = nodes
    client, _ = await signed_in(gye, "admin", lang="pt")
    async with client:
        for section in ("keys", "directory", "peers", "tokens", "events"):
            async with client.get(gye.url + f"/console/admin/{section}") as resp:
                assert resp.status == 200, section
                page = await resp.text()
                assert 'lang="pt"' in page and "Administração" in page
        async with client.get(gye.url + "/console/admin/peers") as resp:
            assert alg.agency in await resp.text()
        async with client.get(gye.url + "/console/admin/nothing-here") as resp:
            assert resp.status == 404
            assert "Não encontrado." in await resp.text()


def test_language_comes_from_the_cookie_then_the_browser() -> None:
    assert negotiate(None, "pt-BR,pt;q=0.9,en;q=0.8") == "pt"
    assert negotiate(None, "de-DE, fr;q=0.5") == "fr"
    assert negotiate(None, "de") == "en"
    assert negotiate("es", "fr") == "es"
    assert negotiate("xx", "fr") == "fr"


def test_every_reason_code_has_a_message() -> None:
    assert set(MESSAGES) == set(ReasonCode)


def test_every_value_the_console_shows_is_in_the_vocabulary() -> None:
    enums: list[type[StrEnum]] = [OutboxState, TokenRole, Programme, SubjectType]
    enums += [RiskIndicator, TransportMode, Category, Unit, Tlp, OutcomeResult]
    # What the long forms, the case notice and the subscriptions page offer.
    enums += [Concealment, Detection, RequestAction, PersonRole, CompanyRole, DocumentType]
    enums += [CaseStatus, Offence, TaskStatus, SubscriptionState]
    values = {member.value for enum in enums for member in enum} | set(KINDS)
    assert values - set(WORDS) == set()


def _catalogue_ids() -> set[str]:
    found = extract_from_dir(
        str(CONSOLE),
        method_map=[("**/templates/**.html", "jinja2"), ("**.py", "python")],
        options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        keywords={"_": None, "gettext": None, "N_": None},
    )
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_every_message_is_translated(lang: str) -> None:
    wanted = _catalogue_ids()
    assert set(MESSAGES.values()) <= wanted
    po_path = LOCALE_DIR / lang / "LC_MESSAGES" / "console.po"
    with po_path.open("rb") as f:
        po = read_po(f)
    translated = {m.id for m in po if m.id and m.string and not m.fuzzy and not m.context}
    assert wanted - translated == set()
    # A message in a context (a subscription's states) is translated as well.
    assert all(m.string and not m.fuzzy for m in po if m.id and m.context)
    # The compiled catalogue the node loads says the same as the source.
    with po_path.with_suffix(".mo").open("rb") as f:
        mo = read_mo(f)
    assert {(m.context, m.id): m.string for m in mo if m.id} == {
        (m.context, m.id): m.string for m in po if m.id
    }


def test_every_console_form_handler_lifts_the_body_deadline_once_its_form_is_in() -> None:
    # The deadline covers reading the form; a handler that never said the form
    # was in (``posted``) would have its own work cut short by it.
    posts = [r for r in ROUTES if r.method == "POST" and r.path.startswith("/console/")]
    assert posts
    for route in posts:
        source = inspect.getsource(inspect.unwrap(route.handler))
        assert "await posted(request)" in source, route.path
