"""Tokens owned by a person or held by a named service (issue 20 §1), and every way around it.

A person's token does no more than its owner may, stops working the moment
the owner is disabled (on the API, on a live stream, in a console session
it opened), and what it does is recorded as its owner's. The rule is
tested directly; the use cases on a real database of each engine; the API,
the stream and the console on real nodes over loopback; the CLI as an
operator runs it.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from console_client import CSRF, signed_in
from hardening_kit import call, reason, wait_for
from node_harness import Cluster, TestNode
from notice_json import publish_body

from baliza.node.core.clock import now_ms
from baliza.node.core.config import NodeConfig
from baliza.node.services.accounts import add_user, disable_user, reset_user
from baliza.node.services.person_actions import people_on
from baliza.node.services.rules.roles import Role
from baliza.node.services.sessions import open_session, resume_session
from baliza.node.services.sign_in_throttle import SignInThrottle
from baliza.node.services.tokens import (
    check_bearer,
    issue_token,
    list_tokens,
    owner_refusal,
    withdraw_token,
)
from baliza.node.services.trust_admin import trust_events
from baliza.node.storage import Database
from baliza.node.storage.sql import tokens as token_rows
from baliza.node.storage.users import User
from baliza.protocol.errors import BalizaError, ReasonCode, TrustError, UsageError

PASSWORD = "a long enough passphrase"
T0 = 1_800_000_000_000
GYE, ALG = "ec.polnac.gye", "es.aduanas.alg"


def person(role: str, *, disabled: bool = False) -> User:
    return User(
        id="u1",
        login="jruiz",
        name="Julia Ruiz",
        unit=None,
        role=role,
        password="x",
        totp_secret="x",
        totp_step=0,
        disabled=disabled,
        failures=0,
        locked_until_ms=0,
        created_ms=0,
    )


async def enrol(db: Database, login: str, role: str, name: str = "Julia Ruiz") -> None:
    await add_user(db, login, name=name, role=role, unit=None, password=PASSWORD, now=T0)


def refusal(found: BalizaError | None) -> tuple[ReasonCode, str] | None:
    return None if found is None else (found.reason, found.path)


# ---------------------------------------------------------------- the rule


def test_only_an_enabled_person_owns_a_token_and_at_most_their_role() -> None:
    assert refusal(owner_refusal(None, "nobody", Role.ANALYST)) == (ReasonCode.NOT_FOUND, "owner")
    disabled = person("admin", disabled=True)
    assert refusal(owner_refusal(disabled, "jruiz", Role.ANALYST)) == (
        ReasonCode.CONFLICT,
        "owner",
    )
    analyst = person("analyst")
    assert refusal(owner_refusal(analyst, "jruiz", Role.ANALYST)) is None
    for above in (Role.PUBLISHER, Role.ADMIN):
        assert refusal(owner_refusal(analyst, "jruiz", above)) == (ReasonCode.FORBIDDEN, "role")
    publisher = person("publisher")
    assert refusal(owner_refusal(publisher, "jruiz", Role.ANALYST)) is None
    assert refusal(owner_refusal(publisher, "jruiz", Role.ADMIN)) == (ReasonCode.FORBIDDEN, "role")
    assert all(owner_refusal(person("admin"), "jruiz", r) is None for r in Role)


# ------------------------------------------------------- the use cases, each engine


async def test_a_token_is_a_persons_or_a_services_and_the_list_says_whose(
    database: Database,
) -> None:
    await enrol(database, "JRuiz", "publisher")
    owned = await issue_token(database, "J. Ruiz's script", "analyst", T0, owner="JRuiz")
    service = await issue_token(database, "MISP pull", "analyst", T0 + 1)
    listed = {t.token.id: t for t in await list_tokens(database)}
    mine = listed[owned.split("_")[1]]
    assert mine.owner is not None
    assert (mine.owner.login, mine.owner.name) == ("jruiz", "Julia Ruiz")
    assert listed[service.split("_")[1]].owner is None
    caller = await check_bearer(database, f"Bearer {owned}")
    assert caller.user_id is None  # still a machine: no person's session, inbox or watch-list
    assert caller.acting_person == mine.token.owner_id is not None
    assert (await check_bearer(database, f"Bearer {service}")).acting_person is None
    [created] = [e for e in await trust_events(database) if e.subject == mine.token.id]
    assert created.detail["owner"] == "jruiz"


async def test_a_token_beyond_its_owner_or_for_no_one_usable_is_refused_and_nothing_stored(
    database: Database,
) -> None:
    await enrol(database, "analyst1", "analyst")
    await enrol(database, "gone", "admin")
    await disable_user(database, "gone", T0, actor="test")
    attempts = [
        (("analyst", "nobody"), UsageError, ReasonCode.NOT_FOUND, "owner"),
        (("analyst", "no such login!"), UsageError, ReasonCode.BAD_FORMAT, "owner"),
        (("analyst", "gone"), UsageError, ReasonCode.CONFLICT, "owner"),
        (("publisher", "analyst1"), TrustError, ReasonCode.FORBIDDEN, "role"),
        (("admin", "Analyst1"), TrustError, ReasonCode.FORBIDDEN, "role"),
    ]
    for (role, owner), kind, code, path in attempts:
        with pytest.raises(kind) as err:
            await issue_token(database, "t", role, T0, owner=owner)
        assert (err.value.reason, err.value.path) == (code, path), owner
    assert await list_tokens(database) == []


async def test_disabling_the_owner_revokes_their_tokens_and_only_theirs(
    database: Database,
) -> None:
    await enrol(database, "jruiz", "admin")
    await enrol(database, "mlopez", "admin", name="M. López")
    hers = [await issue_token(database, f"t{n}", "analyst", T0, owner="jruiz") for n in range(2)]
    already = await issue_token(database, "old", "analyst", T0, owner="jruiz")
    await withdraw_token(database, already.split("_")[1], T0 + 1, actor="test")
    his = await issue_token(database, "his", "admin", T0, owner="mlopez")
    service = await issue_token(database, "service", "admin", T0)
    session_id, _ = await open_session(
        database, hers[0], T0, address="10.0.0.1", throttle=SignInThrottle()
    )
    epoch = await database.run(token_rows.revocations, write=False)

    await disable_user(database, "JRuiz", T0 + 5, actor="admin x")

    for token in hers:
        with pytest.raises(TrustError) as err:
            await check_bearer(database, f"Bearer {token}")
        assert err.value.reason == ReasonCode.UNAUTHENTICATED
    assert await resume_session(database, session_id, T0 + 6) is None
    # Live streams re-check their token when the revocation count moves.
    assert await database.run(token_rows.revocations, write=False) == epoch + 2
    for token in (his, service):
        await check_bearer(database, f"Bearer {token}")
    revoked = {t.token.id: t.token.revoked_ms for t in await list_tokens(database)}
    assert revoked[already.split("_")[1]] == T0 + 1  # the first revocation stands
    events = [e for e in await trust_events(database) if e.action == "token.revoked"]
    assert {e.subject for e in events if e.actor == "admin x"} == {t.split("_")[1] for t in hers}
    # Enabling the account again by a reset does not bring them back.
    await reset_user(database, "jruiz", password=PASSWORD, now=T0 + 7)
    with pytest.raises(TrustError):
        await check_bearer(database, f"Bearer {hers[1]}")
    owned = await issue_token(database, "new", "admin", T0 + 8, owner="jruiz")
    await check_bearer(database, f"Bearer {owned}")


# ------------------------------------------------------------ real nodes


async def one_node(cluster: Cluster, engine: str) -> TestNode:
    _, alg = await cluster([GYE, ALG], engine, start=[ALG])
    await enrol(alg.ctx.db, "jruiz", "publisher")
    return alg


async def owned_token(node: TestNode, role: str = "publisher") -> str:
    status, created = await call(
        node,
        "POST",
        "/api/v1/admin/tokens",
        json={"name": "Julia's script", "role": role, "owner": "JRuiz"},
    )
    assert status == 201, created
    assert created["owner"] == "jruiz"
    return str(created["token"])


async def as_token(node: TestNode, token: str, method: str, path: str) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, node.url + path, headers={"Authorization": f"Bearer {token}"}
        ) as resp,
    ):
        return resp.status


async def test_an_owned_token_is_refused_once_its_owner_is_disabled(
    cluster: Cluster, database_engine: str
) -> None:
    alg = await one_node(cluster, database_engine)
    token = await owned_token(alg)
    assert await as_token(alg, token, "GET", "/api/v1/notices") == 200
    # As ``baliza users disable`` does it: on the database, another path than the API's.
    await disable_user(alg.ctx.db, "jruiz", now_ms(), actor="local operator")
    for method, path in (("GET", "/api/v1/notices"), ("GET", "/api/v1/status")):
        assert await as_token(alg, token, method, path) == 401
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            alg.url + "/api/v1/notices", headers={"Authorization": f"Bearer {token}"}
        ) as resp,
    ):
        assert reason(await resp.json()) == "unauthenticated"
    status, listed = await call(alg, "GET", "/api/v1/admin/tokens")
    assert status == 200
    [mine] = [t for t in listed if t["id"] == token.split("_")[1]]
    assert (mine["owner"], mine["owner_name"]) == ("jruiz", "Julia Ruiz")
    assert mine["revoked_ms"] is not None
    assert all(t["owner"] is None for t in listed if t["id"] != mine["id"])


async def test_the_admin_api_refuses_an_owner_who_cannot_hold_the_token(
    cluster: Cluster, database_engine: str
) -> None:
    alg = await one_node(cluster, database_engine)
    await enrol(alg.ctx.db, "left", "admin", name="Gone")
    await disable_user(alg.ctx.db, "left", now_ms(), actor="test")
    for body, expected in (
        ({"owner": "nobody", "role": "analyst"}, (404, "not_found", "owner")),
        ({"owner": "left", "role": "analyst"}, (409, "conflict", "owner")),
        ({"owner": "jruiz", "role": "admin"}, (403, "forbidden", "role")),
        ({"owner": 7, "role": "analyst"}, (422, "wrong_type", "owner")),
    ):
        status, answer = await call(alg, "POST", "/api/v1/admin/tokens", json={"name": "x", **body})
        assert (status, reason(answer), answer["error"]["path"]) == expected, body
    status, listed = await call(alg, "GET", "/api/v1/admin/tokens")
    assert [t["name"] for t in listed if t["name"] == "x"] == []
    status, created = await call(
        alg, "POST", "/api/v1/admin/tokens", json={"name": "pull", "role": "analyst"}
    )
    assert (status, created["owner"]) == (201, None)


async def test_an_owned_tokens_live_stream_ends_when_its_owner_is_disabled(
    cluster: Cluster, database_engine: str
) -> None:
    alg = await one_node(cluster, database_engine)
    token = await owned_token(alg, "analyst")
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            alg.url + "/api/v1/stream", headers={"Authorization": f"Bearer {token}"}
        ) as resp,
    ):
        assert resp.status == 200
        status, first = await call(alg, "POST", "/api/v1/notices", json=publish_body(ALG, [GYE]))
        assert status == 201
        seen = b""
        async with asyncio.timeout(20):
            while first["id"].encode() not in seen:
                seen += await resp.content.readany()
        await disable_user(alg.ctx.db, "jruiz", now_ms(), actor="local operator")
        status, second = await call(alg, "POST", "/api/v1/notices", json=publish_body(ALG, [GYE]))
        assert status == 201
        rest = b""
        async with asyncio.timeout(20):
            while chunk := await resp.content.readany():  # ends: the node closes it
                rest += chunk
        assert second["id"].encode() not in rest
    assert alg.ctx.live.followers == 0


async def test_what_an_owned_token_publishes_and_reads_is_recorded_as_its_owners(
    cluster: Cluster, database_engine: str
) -> None:
    gye, alg = await cluster([GYE, ALG], database_engine)
    await enrol(alg.ctx.db, "jruiz", "publisher")
    await enrol(gye.ctx.db, "mlopez", "analyst", name="M. López")
    owned = await owned_token(alg)
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            alg.url + "/api/v1/notices",
            json=publish_body(ALG, [GYE]),
            headers={"Authorization": f"Bearer {owned}"},
        ) as resp,
    ):
        assert resp.status == 201
        published = str((await resp.json())["id"])
    [action] = await people_on(alg.ctx.db, published)
    assert (action.name, action.action) == ("Julia Ruiz", "published")

    # A service's token is a machine: nothing in the record of people.
    status, by_service = await call(
        alg, "POST", "/api/v1/notices", role="publisher", json=publish_body(ALG, [GYE])
    )
    assert status == 201
    assert await people_on(alg.ctx.db, by_service["id"]) == []

    # At the recipient, a read through an owned token is its owner's read.
    status, reader = await call(
        gye,
        "POST",
        "/api/v1/admin/tokens",
        json={"name": "reader", "role": "analyst", "owner": "mlopez"},
    )
    assert status == 201
    path = f"/api/v1/notices/{published}"

    async def delivered() -> bool:
        return await as_token(gye, reader["token"], "GET", path) == 200

    await wait_for(delivered, limit_s=30)
    assert await as_token(gye, reader["token"], "POST", f"/api/v1/notices/{published}/read") == 200
    [read] = await people_on(gye.ctx.db, published)
    assert (read.name, read.action) == ("M. López", "read")


async def test_the_console_offers_enabled_people_as_owners_and_lists_whose_each_token_is(
    cluster: Cluster, database_engine: str
) -> None:
    alg = await one_node(cluster, database_engine)
    await enrol(alg.ctx.db, "left", "admin", name="Someone Gone")
    await disable_user(alg.ctx.db, "left", now_ms(), actor="test")
    client, csrf = await signed_in(alg, "admin")
    async with client:
        async with client.get(alg.url + "/console/admin/tokens") as resp:
            page = await resp.text()
        owners = re.search(r'<select id="token-owner" name="owner"[^>]*>(.*?)</select>', page)
        assert owners is not None
        values = re.findall(r'<option value="([^"]*)"', owners.group(1))
        assert values == ["", "jruiz"]  # a service, or an enabled person
        form = {"csrf": csrf, "name": "Julia's laptop", "role": "analyst", "owner": "jruiz"}
        async with client.post(alg.url + "/console/admin/tokens", data=form) as resp:
            assert resp.status == 201
            page = await resp.text()
        owner_cells = re.findall(r'<td class="token-owner">([^<]*)</td>', page)
        assert "Julia Ruiz (jruiz)" in owner_cells and "service" in owner_cells
        # Above the owner's role: refused, naming the field, and nothing made.
        above = {**form, "name": "too much", "role": "admin"}
        async with client.post(alg.url + "/console/admin/tokens", data=above) as resp:
            assert resp.status == 403
        assert "too much" not in [t.token.name for t in await list_tokens(alg.ctx.db)]
        async with client.get(alg.url + "/console/admin/tokens") as resp:
            assert CSRF.search(await resp.text()) is not None


# ------------------------------------------------------------ the command line

PASS = "correct horse battery"


def run(*args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALIZA_")}
    proc = subprocess.run(
        [sys.executable, "-m", "baliza.node.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        input="",
        env={**env, "BALIZA_PASSPHRASE": PASS},
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


def test_the_cli_makes_a_persons_token_and_lists_whose_each_is(tmp_path: Path) -> None:
    data = tmp_path / "node"
    assert run("init", "--data-dir", str(data), "--agency", "co.polfa.ctg")[0] == 0

    async def enrol_there() -> None:
        db = await Database.open(NodeConfig.load(data).db_url)
        try:
            await enrol(db, "jruiz", "analyst")
        finally:
            await db.close()

    asyncio.run(enrol_there())
    tokens = ["tokens", "create", "--data-dir", str(data), "--name"]
    code, out, err = run(*tokens, "laptop", "--role", "analyst", "--owner", "JRuiz")
    assert code == 0, err
    assert "owned by JRuiz" in out
    assert run(*tokens, "MISP pull", "--role", "analyst")[0] == 0
    code, _, err = run(*tokens, "x", "--role", "publisher", "--owner", "jruiz")
    assert code == 1
    assert "[forbidden]: role:" in err and "Traceback" not in err
    code, _, err = run(*tokens, "x", "--role", "analyst", "--owner", "nobody")
    assert (code, "[not_found]: owner:" in err) == (1, True)
    code, out, _ = run("tokens", "list", "--data-dir", str(data))
    assert code == 0
    assert re.search(r"analyst\s+laptop\s+Julia Ruiz \(jruiz\)\s+active", out), out
    assert re.search(r"analyst\s+MISP pull\s+service\s+active", out), out
    assert "\nx" not in out
