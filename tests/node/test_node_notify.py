"""Watch-lists and notifications on real nodes, with a real SMTP server (aiosmtpd).

Cartagena (co.polfa.ctg) sends Algeciras (es.aduanas.alg) a seizure naming
container MSCU 123456 6. An analyst at Algeciras watches that container and
asked for e-mail: the notification arrives, and so does a mail at the
relay saying the notice's kind, place and handling — and nothing of its
content. TLP:RED is never mailed by default; a relay that is down delays
mail without holding up ingest; nobody reaches another owner's entries.
"""

from __future__ import annotations

import asyncio
import copy
import email
import email.policy
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from functools import partial
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from loopback_support import free_port, wait_for
from node_harness import Cluster, TestNode
from sharing_support import arrives

from baliza.node.cli.client import ApiClient
from baliza.node.cli.templates import example
from baliza.node.core.clock import now_ms
from baliza.node.http.appkeys import NOTIFIER
from baliza.node.services.accounts import add_user, list_users
from baliza.node.services.notifier import Notifier
from baliza.node.services.person_actions import record_published
from baliza.node.services.watch import notifications
from baliza.node.storage.sql import notices as notice_rows
from baliza.node.storage.sql import notify as notify_rows
from baliza.protocol.errors import BalizaError

ALG = "es.aduanas.alg"
CTG = "co.polfa.ctg"
CONTAINER = "MSCU 123456 6"


@dataclass
class Inbox:
    """An aiosmtpd handler keeping every message it accepted."""

    messages: list[Any] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
async def relay() -> AsyncIterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def smtp_table(port: int, **more: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": port,
        "from": "baliza@alg.example",
        "starttls": False,
    } | more


async def pair(cluster: Cluster, engine: str, smtp: dict[str, Any]) -> tuple[TestNode, TestNode]:
    alg, ctg = await cluster([ALG, CTG], [engine, "sqlite"], per_node={ALG: {"smtp": smtp}})
    return alg, ctg


def seizure(remarks: str, tlp: str = "amber") -> dict[str, Any]:
    body = copy.deepcopy(example("seizure-seaport"))
    body["unit"] = {"agency": CTG, "name": "POLFA Cartagena"}
    body["commodities"][0]["description"] = remarks
    return {"notice": body, "recipients": [ALG], "handling": {"tlp": tlp}}


async def send(ctg: TestNode, body: dict[str, Any]) -> str:
    return str((await ctg.api("publisher").post("/api/v1/notices", body))["id"])


async def notified(api: ApiClient, eid: str) -> bool:
    page = await api.get("/api/v1/notifications", {})
    return any(n["subject"] == eid for n in page["items"])


async def test_a_watched_container_notifies_and_mails_a_summary_only(
    cluster: Cluster, database_engine: str, relay: tuple[Inbox, int]
) -> None:
    inbox, port = relay
    alg, ctg = await pair(cluster, database_engine, smtp_table(port))
    analyst = alg.api("analyst")
    entry = await analyst.post("/api/v1/watch", {"what": "container", "value": CONTAINER})
    assert entry["query"] == "container=MSCU+123456+6"
    await analyst.put(
        "/api/v1/notifications/settings", {"email": "ana@alg.example", "mode": "immediate"}
    )
    remarks = "Bricks marked with a green scorpion"
    eid = await send(ctg, seizure(remarks))
    await wait_for(lambda: notified(analyst, eid), what="the watch's notification")
    page = await analyst.get("/api/v1/notifications", {"unread": "1"})
    note = next(n for n in page["items"] if n["subject"] == eid)
    assert (note["cause"], note["watch_id"], note["kind"], note["tlp"]) == (
        "watch",
        entry["id"],
        "notice.seizure",
        "amber",
    )
    assert page["unread"] >= 1

    async def mailed() -> bool:
        return bool(inbox.messages)

    await wait_for(mailed, what="the e-mail at the relay")
    mail = inbox.messages[0]
    assert mail.rcpt_tos == ["ana@alg.example"]
    message = email.message_from_bytes(mail.content, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body()
    assert body is not None
    text = f"{message['Subject']}\n{body.get_content()}"
    assert "seizure notice, ESALG, TLP:AMBER" in text
    assert f"/console/notices/{eid}" in text
    # Nothing of the notice's content: not its remarks, commodity, company or container.
    for content in (remarks, "scorpion", "cocaine", "FRUTAS", "MSCU", "412"):
        assert content not in text, content
    rows = await alg.ctx.db.run(notify_rows.all_mail, write=False)
    assert [r.sent_ms is not None for r in rows] == [True]

    marked = await analyst.post("/api/v1/notifications/read", {"all": True})
    assert marked["marked"] >= 1
    assert (await analyst.get("/api/v1/notifications", {}))["unread"] == 0


async def test_red_is_never_mailed_unless_policy_allows(
    cluster: Cluster, database_engine: str, relay: tuple[Inbox, int]
) -> None:
    inbox, port = relay
    alg, ctg = await pair(cluster, database_engine, smtp_table(port))
    analyst = alg.api("analyst")
    await analyst.post("/api/v1/watch", {"what": "all", "value": ""})
    await analyst.put(
        "/api/v1/notifications/settings", {"email": "ana@alg.example", "mode": "immediate"}
    )
    red = await send(ctg, seizure("red remarks", tlp="red"))
    await wait_for(lambda: notified(analyst, red), what="the RED notice's notification")
    amber = await send(ctg, seizure("amber remarks"))
    await wait_for(lambda: notified(analyst, amber), what="the AMBER notice's notification")

    async def one_mail() -> bool:
        return len(inbox.messages) >= 1

    await wait_for(one_mail)
    rows = await alg.ctx.db.run(notify_rows.all_mail, write=False)
    assert len(rows) == 1 and "TLP:AMBER" in rows[0].body and "TLP:RED" not in rows[0].body
    assert all(red not in m.content.decode() for m in inbox.messages)


async def test_a_relay_that_is_down_delays_mail_not_ingest(
    cluster: Cluster, database_engine: str
) -> None:
    closed = free_port()  # nothing listens here
    alg, ctg = await pair(cluster, database_engine, smtp_table(closed))
    analyst = alg.api("analyst")
    await analyst.post("/api/v1/watch", {"what": "container", "value": CONTAINER})
    await analyst.put(
        "/api/v1/notifications/settings", {"email": "ana@alg.example", "mode": "immediate"}
    )
    eid = await send(ctg, seizure("whatever"))
    await wait_for(lambda: notified(analyst, eid))

    async def tried() -> bool:
        rows = await alg.ctx.db.run(notify_rows.all_mail, write=False)
        return bool(rows) and rows[0].attempts >= 1

    await wait_for(tried, what="a failed try recorded")
    row = (await alg.ctx.db.run(notify_rows.all_mail, write=False))[0]
    assert row.sent_ms is None and row.due_ms > row.created_ms and row.last_error
    # Ingest goes on: a second notice is stored and notified while the relay is down.
    second = await send(ctg, seizure("again"))
    await wait_for(lambda: notified(analyst, second))


async def test_nobody_reaches_another_owners_watch_or_notifications(
    cluster: Cluster, database_engine: str
) -> None:
    alg, ctg = await pair(cluster, database_engine, {})
    mine, other = alg.api("analyst"), alg.api("publisher")
    entry = await mine.post("/api/v1/watch", {"what": "container", "value": CONTAINER})
    eid = await send(ctg, seizure("x"))
    await wait_for(lambda: notified(mine, eid))
    assert (await other.get("/api/v1/watch", {}))["items"] == []
    with pytest.raises(BalizaError) as refused:
        await other.delete(f"/api/v1/watch/{entry['id']}")
    assert refused.value.reason == "not_found"
    assert [e["id"] for e in (await mine.get("/api/v1/watch", {}))["items"]] == [entry["id"]]
    theirs = await other.get("/api/v1/notifications", {})
    assert theirs["items"] == [] and theirs["unread"] == 0
    seqs = [n["seq"] for n in (await mine.get("/api/v1/notifications", {}))["items"]]
    assert (await other.post("/api/v1/notifications/read", {"seqs": seqs}))["marked"] == 0
    assert (await mine.get("/api/v1/notifications", {}))["unread"] == len(seqs)


async def test_a_watch_is_refused_with_the_filters_own_reason(
    cluster: Cluster, database_engine: str
) -> None:
    alg, _ctg = await pair(cluster, database_engine, {})
    api = alg.api("analyst")
    for body, path in (
        ({"what": "container", "value": "NOT A CONTAINER"}, "container"),
        ({"what": "spaceship", "value": "x"}, "what"),
        ({"what": "filter", "value": "colour=red"}, "colour"),
        ({"what": "filter", "value": "after=3"}, "after"),
    ):
        with pytest.raises(BalizaError) as refused:
            await api.post("/api/v1/watch", body)
        assert refused.value.path == path, body
    assert (await api.get("/api/v1/watch", {}))["items"] == []
    await asyncio.sleep(0)


async def test_a_digest_is_one_mail_per_period_with_everything_pending(
    cluster: Cluster, database_engine: str, relay: tuple[Inbox, int]
) -> None:
    inbox, port = relay
    alg, ctg = await pair(cluster, database_engine, smtp_table(port))
    analyst = alg.api("analyst")
    await analyst.post("/api/v1/watch", {"what": "container", "value": CONTAINER})
    await analyst.put(
        "/api/v1/notifications/settings",
        {"email": "ana@alg.example", "mode": "digest", "digest_minutes": 15},
    )
    first, second = await send(ctg, seizure("one")), await send(ctg, seizure("two"))
    await wait_for(lambda: notified(analyst, first))
    await wait_for(lambda: notified(analyst, second))
    assert alg.runner is not None
    notifier = alg.runner.app[NOTIFIER]
    # Within the period nothing is mailed; once it has passed, one mail holds both.
    await notifier.digests(now_ms())
    assert await alg.ctx.db.run(notify_rows.all_mail, write=False) == []
    later = now_ms() + 16 * 60_000
    await notifier.digests(later)
    await notifier.send_mail(later)
    assert len(inbox.messages) == 1
    text = inbox.messages[0].content.decode()
    assert "2 new notifications" in text and first in text and second in text
    await notifier.digests(later + 1)  # nothing pending: no empty digest
    assert len(await alg.ctx.db.run(notify_rows.all_mail, write=False)) == 1


async def test_a_share_request_tells_the_person_who_published_the_notice(
    cluster: Cluster, database_engine: str
) -> None:
    gye = "ec.polnac.gye"
    alg, ctg, _gye = await cluster([ALG, CTG, gye], [database_engine, "sqlite", "sqlite"])
    julia = await add_user(
        alg.ctx.db, "jruiz", name="Julia Ruiz", role="publisher", unit=None,
        password="a long enough passphrase", now=now_ms(),
    )  # fmt: skip
    [user] = [u for u in await list_users(alg.ctx.db) if u.login == julia.login]
    body = copy.deepcopy(example("seizure-seaport"))
    posted = await alg.api("publisher").post(
        "/api/v1/notices",
        {"notice": body, "recipients": [CTG], "handling": {"tlp": "amber", "codes": ["h2"]}},
    )
    await record_published(alg.ctx.db, user.id, [posted["id"]], now_ms())
    await arrives(ctg, posted["id"])
    asked = await ctg.api().post(f"/api/v1/notices/{posted['id']}/share", {"recipients": [gye]})
    assert asked["state"] == "pending"

    async def waiting() -> bool:
        return bool((await alg.api().get("/api/v1/permissions", {}))["items"])

    await wait_for(waiting, what="the request at the originator")
    assert alg.runner is not None
    await alg.runner.app[NOTIFIER].permissions(now_ms())
    owner = f"user:{user.id}"
    inbox = await notifications(alg.ctx.db, owner)
    [note] = [n for n in inbox.items if n.cause == "permission"]
    assert (note.kind, note.location, note.tlp) == ("notice.seizure", "ESALG", "amber")
    # Asked again, nothing new: one notification per request.
    await alg.runner.app[NOTIFIER].permissions(now_ms())
    assert (await notifications(alg.ctx.db, owner)).unread == inbox.unread


async def test_a_notice_committed_below_the_cursor_is_still_evaluated_on_postgresql(
    cluster: Cluster, database_engine: str
) -> None:
    """A PostgreSQL worker draws a seq before it commits: a notice may land below the cursor."""
    alg, ctg = await cluster([ALG, CTG], [database_engine, "sqlite"])
    assert alg.runner is not None
    await alg.runner.app[NOTIFIER].stop()  # this node's own notifier stays out of the way
    analyst = alg.api("analyst")
    await analyst.post("/api/v1/watch", {"what": "container", "value": CONTAINER})
    eid = await send(ctg, seizure("late"))

    async def stored() -> bool:
        page = await analyst.get("/api/v1/notices", {"direction": "in"})
        return any(item["id"] == eid for item in page["items"])

    await wait_for(stored)
    # The cursor already past it, as when another worker's later number committed first.
    last = await alg.ctx.db.run(notice_rows.last_seq, write=False)
    await alg.ctx.db.run(partial(notify_rows.set_cursor, seq=last, alerts_ms=now_ms()), write=True)
    notifier = Notifier(alg.ctx)
    await notifier.step(now_ms())
    late = await notified(analyst, eid)
    # SQLite numbers at commit (one writer): nothing can land below the cursor there.
    assert late is (database_engine == "postgresql")
    await notifier.step(now_ms())  # seen once: not evaluated again
    assert len((await analyst.get("/api/v1/notifications", {}))["items"]) == int(late)
