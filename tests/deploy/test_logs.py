"""JSON log lines: a request id on each request's lines; never a notice's content or a token."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import harness_path  # noqa: F401  (tests/node on the path)
import pytest
from node_harness import introduce, make_node
from notice_json import publish_body

from baliza.node.core.logs import setup_logging

SECRET_TEXT = "Holdalls behind the doors."
CONTAINER = "MSCU1234566"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """setup_logging replaces the root handlers; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


async def test_json_logs_carry_request_ids_and_no_content_or_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    a = make_node(tmp_path, "co.polfa.ctg", f"sqlite+aiosqlite:///{tmp_path}/a.db")
    b = make_node(tmp_path, "es.aduanas.alg", f"sqlite+aiosqlite:///{tmp_path}/b.db")
    introduce(a, b)
    setup_logging(a.config, "json", verbose=True)
    await a.start()
    await b.start()
    try:
        capsys.readouterr()
        published = await a.api().post("/api/v1/notices", publish_body(a.agency, [b.agency]))
        for _ in range(200):  # bounded wait for the delivery
            page = await b.api("analyst").get("/api/v1/notices", {"q": "Holdalls"})
            if page["items"]:
                break
            await asyncio.sleep(0.05)
        await a.api("analyst").get(f"/api/v1/notices/{published['id']}", {})
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                a.url + "/api/v1/status",
                headers={"Authorization": "Bearer bz_wrong_token", "X-Request-Id": "ops-ticket-42"},
            ) as resp,
        ):
            assert resp.status == 401
            assert resp.headers["X-Request-Id"] == "ops-ticket-42"
    finally:
        await a.stop()
        await b.stop()
    err = capsys.readouterr().err
    lines = [json.loads(line) for line in err.splitlines()]  # every line is JSON
    requests = [line for line in lines if line["logger"] == "baliza.request"]
    assert {"POST", "GET"} <= {line["method"] for line in requests}
    assert all(len(line["request_id"]) >= 8 for line in requests)
    # Unique per request; a peer's inbox line carries the id the sender gave
    # the push (its request's, or its delivery round's), so one exchange has
    # one id in both nodes' logs.
    # The federation requests a peer makes while it handles one exchange (its
    # audit-head checks after a push, say) carry that exchange's id too: the
    # id is unique per request a person or a schedule starts.
    inbox = [line for line in requests if line["path"] == "/fed/v1/inbox"]
    own = [line for line in requests if not line["path"].startswith("/fed/")]
    assert len({line["request_id"] for line in own}) == len(own)
    for line in inbox:
        same = [other for other in lines if other.get("request_id") == line["request_id"]]
        assert len(same) >= 2, line  # also on a line of the sender's
    refused = [line for line in requests if line["request_id"] == "ops-ticket-42"]
    assert refused and refused[0]["status"] == 401 and refused[0]["path"] == "/api/v1/status"
    assert any(line["path"] == "/fed/v1/inbox" for line in requests)
    for secret in (SECRET_TEXT, "Holdalls", CONTAINER, "bz_wrong_token", *a.tokens.values()):
        assert secret not in err, secret
    for token in (*a.tokens.values(), *b.tokens.values()):
        assert token.split("_", 2)[2] not in err
