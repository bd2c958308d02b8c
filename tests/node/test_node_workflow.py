"""The officer's and the analyst's day through the ``baliza`` command, against real nodes.

Cartagena alerts Algeciras; Algeciras seizes the container, answers the
alert with ``baliza outcome … seizure ID``, corrects the weight from the
CLI; Cartagena's analyst sees the board, opens the seizure with ``baliza
show`` (which tells Algeciras it was read) and finds the hits.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest
from loopback_support import wait_for
from node_harness import free_port
from test_node_search import ALG, CTG, Pair, alert_then_seizure, pair, publish

from baliza.node.cli.main import build_parser, main
from baliza.node.cli.templates import example, names
from baliza.node.cli.workflow import quantity
from baliza.protocol.notices import notice_from_written_json

__all__ = ["pair"]  # the fixture, shared with the search tests


async def cli(
    node: Any, capsys: pytest.CaptureFixture[str], *argv: str, role: str = "publisher"
) -> tuple[int, str, str]:
    """Run ``baliza`` in a thread (it runs its own event loop) against ``node``."""
    capsys.readouterr()
    code = await asyncio.to_thread(main, [*argv, "--url", node.url, "--token", node.tokens[role]])
    out, err = capsys.readouterr()
    return code, out, err


def test_every_option_of_every_command_has_a_help_line() -> None:
    def walk(parser: argparse.ArgumentParser, path: list[str]) -> list[str]:
        missing = []
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    missing += walk(sub, [*path, name])
            elif not isinstance(action, argparse._HelpAction) and not action.help:
                missing.append(f"{' '.join(path)} {action.option_strings or action.dest}")
        return missing

    assert walk(build_parser(), ["baliza"]) == []


def test_templates_are_notices_as_people_write_them(capsys: pytest.CaptureFixture[str]) -> None:
    assert len(names()) == 7
    assert main(["notice", "template", "seizure"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["commodities"][0]["quantity"] == "412 kg"
    notice = notice_from_written_json(printed)
    assert notice.commodities[0].quantity.amount == 412_000  # type: ignore[union-attr]
    assert main(["notice", "template", "parcel"]) == 1
    assert "choose one of: alert" in capsys.readouterr().err


def test_quantities_read_as_people_say_them() -> None:
    assert quantity({"amount": 412_000, "unit": "g"}) == "412 kg"
    assert quantity({"amount": 3_100, "unit": "g"}) == "3.1 kg"
    assert quantity({"amount": 500, "unit": "g"}) == "500 g"
    assert quantity({"amount": 4_500_000, "unit": "minor", "currency": "USD"}) == (
        "4500000 minor USD"
    )


async def test_every_example_is_published_between_real_nodes(pair: Pair) -> None:
    alert, seizure = await alert_then_seizure(pair)
    courier = await publish(pair.alg, example("seizure-air-courier"), CTG)
    # A case notice travels only inside a JIT: Algeciras founds one with Cartagena.
    jit = {"id": "jit.example", "kind": "jit", "name": "JIT example", "members": [CTG]}
    await pair.alg.api("admin").post("/api/v1/channels", jit)

    async def ctg_in_the_jit() -> bool:
        listed = await pair.ctg.api("analyst").get("/api/v1/channels", {})
        return any(c["channel"] == "jit.example" for c in listed["items"])

    await wait_for(ctg_in_the_jit)
    case = {"notice": example("case", SEIZURE_ID=seizure), "channel": "jit.example"}
    sent = [
        await publish(pair.alg, example("outcome", ALERT_ID=alert, SEIZURE_ID=seizure), CTG),
        (await pair.alg.api("publisher").post("/api/v1/notices", case))["id"],
        await publish(pair.alg, example("correction", SEIZURE_ID=seizure), CTG),
        await publish(pair.alg, example("retraction", NOTICE_ID=courier), CTG),
    ]

    async def all_arrived() -> bool:
        page = await pair.ctg.api("analyst").get("/api/v1/notices", {"direction": "in"})
        return set(sent) <= {item["id"] for item in page["items"]}

    await wait_for(all_arrived)
    correction = await pair.ctg.api("analyst").get(f"/api/v1/notices/{sent[2]}", {})
    assert correction["supersedes"] == seizure  # the envelope says what it replaces
    assert correction["notice"]["notice"]["commodities"][0]["quantity"]["amount"] == 408_600


async def test_the_alert_board_and_an_outcome_that_travels_back(
    pair: Pair, capsys: pytest.CaptureFixture[str]
) -> None:
    alert, seizure = await alert_then_seizure(pair)
    # The example alert expected the container on 29 November: it is overdue.
    code, out, _ = await cli(pair.alg, capsys, "alerts")
    assert code == 0 and f"{alert}  overdue" in out and "h without outcome" in out
    assert "1 of 1 alert" in out
    code, out, err = await cli(pair.alg, capsys, "outcome", alert, "seizure")
    assert code == 1 and "[inconsistent]" in err and "seizure" in err
    code, out, _ = await cli(pair.alg, capsys, "outcome", alert, "seizure", seizure)
    assert code == 0 and f"sent to {CTG}" in out

    async def answered() -> bool:
        board = await pair.ctg.api("analyst").get("/api/v1/alerts", {"state": "answered"})
        return [a["id"] for a in board["items"]] == [alert]

    await wait_for(answered)
    board = await pair.ctg.api("analyst").get("/api/v1/alerts", {})
    assert board["items"][0]["outcome"]["seizure"] == seizure
    assert board["items"][0]["outcome"]["sender"] == ALG
    code, out, _ = await cli(pair.ctg, capsys, "alerts")
    assert "answered" in out and f"seizure {seizure}" in out
    other = await publish(pair.ctg, example("alert"), ALG)
    await wait_for(lambda: _has(pair.alg, other))
    code, out, _ = await cli(pair.alg, capsys, "alerts", "--state", "overdue")
    assert other in out and alert not in out
    code, out, _ = await cli(pair.alg, capsys, "outcome", other, "inspected-negative")
    assert code == 0


async def _has(node: Any, eid: str) -> bool:
    page = await node.api("analyst").get("/api/v1/notices", {})
    return eid in {item["id"] for item in page["items"]}


async def test_feed_search_show_and_hits_from_the_command_line(
    pair: Pair, capsys: pytest.CaptureFixture[str]
) -> None:
    alert, seizure = await alert_then_seizure(pair)
    code, out, _ = await cli(pair.ctg, capsys, "feed", "--vessel", "IMO 9074729")
    assert code == 0 and alert in out and seizure in out and "[1 hit]" in out
    assert "baliza show ID" in out
    code, out, _ = await cli(pair.ctg, capsys, "feed", "--company", "Frutas Estrecho S.L.")
    assert alert in out and seizure in out
    code, out, _ = await cli(pair.ctg, capsys, "search", "cocaína", "--location", "COCTG")
    assert seizure in out and alert not in out and "1 of 1 matching notice" in out
    code, out, _ = await cli(pair.ctg, capsys, "hits", seizure)
    assert f"container MSCU1234566: {alert}" in out
    code, out, _ = await cli(pair.ctg, capsys, "show", seizure, "--no-receipt")
    assert code == 0 and "read receipt sent" not in out
    only_read = await pair.ctg.api("analyst").get(f"/api/v1/notices/{seizure}", {})
    assert only_read["read_here_ms"] is None  # showing (and GET) wrote nothing
    code, out, _ = await cli(pair.ctg, capsys, "show", seizure)
    assert f"read receipt sent to {ALG}" in out
    lines = out.splitlines()
    assert lines[0].startswith("==== TLP:AMBER")  # handling before anything else
    assert "quantity: 412 kg" in out and "seized_ms: 2026-11-30 05:40Z" in out
    assert f"vessel IMO9074729: {alert}" in out

    async def read_by_ctg() -> bool:
        delivery = await pair.alg.api("analyst").get(f"/api/v1/notices/{seizure}/delivery", {})
        return delivery["recipients"][0]["read_ms"] is not None

    await wait_for(read_by_ctg)  # `show` sent the signed read receipt back
    code, out, _ = await cli(pair.alg, capsys, "show", seizure)
    assert f"{CTG:24} delivered, read " in out
    code, out, _ = await cli(pair.alg, capsys, "status")
    assert "nothing to send" in out and "ok, last delivery" in out and "pending" not in out
    code, out, _ = await cli(pair.alg, capsys, "admin", "events", role="admin")
    assert code == 0 and re.search(r" 20\d\d-\d\d-\d\d \d\d:\d\dZ ", out), out
    assert not re.search(r"\b\d{13}\b", out)  # no raw Unix milliseconds


async def test_publishing_from_the_command_line(
    pair: Pair, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, seizure = await alert_then_seizure(pair)
    correction = tmp_path / "correction.json"
    correction.write_text(json.dumps(example("correction", SEIZURE_ID=seizure)))
    code, out, err = await cli(pair.alg, capsys, "publish", str(correction))
    assert code == 1 and "--to" in err and "[missing_field]" in err
    code, out, err = await cli(pair.alg, capsys, "publish", str(correction), "--to", CTG)
    assert code == 0, err
    assert out.startswith("published ") and CTG in out
    # A bare notice posted to the API is told what the API wants.
    bad = await _post_raw(pair.alg, example("seizure-seaport"))
    assert bad["error"]["reason"] == "wrong_type" and "recipients" in bad["error"]["detail"]
    # A wrong quantity names the field and shows one that works.
    notice = example("seizure-seaport")
    notice["commodities"][0]["quantity"] = "a lot"
    bad = await _post_raw(pair.alg, {"notice": notice, "recipients": [CTG]})
    assert bad["error"]["path"] == "notice.commodities[0].quantity"
    assert '"412 kg"' in bad["error"]["detail"]
    notice["commodities"][0]["quantity"] = "412 kg"
    notice["seized_ms"] = "yesterday"
    bad = await _post_raw(pair.alg, {"notice": notice, "recipients": [CTG]})
    assert (
        bad["error"]["path"] == "notice.seized_ms" and "2026-12-01T01:15Z" in bad["error"]["detail"]
    )


async def _post_raw(node: Any, body: Any) -> Any:
    import aiohttp

    async with (
        aiohttp.ClientSession() as session,
        session.post(
            node.url + "/api/v1/notices",
            json=body,
            headers={"Authorization": f"Bearer {node.tokens['publisher']}"},
        ) as resp,
    ):
        assert resp.status == 422
        return await resp.json()


def test_a_cli_whose_node_is_down_says_to_start_it(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["status", "--url", url, "--token", "bz_x_y"]) == 1
    err = capsys.readouterr().err
    assert "[node_unreachable]" in err and "is `baliza serve` running?" in err


def test_a_second_serve_on_a_busy_port_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BALIZA_PASSPHRASE", "correct horse battery")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        data = tmp_path / "node"
        assert main(["init", "--data-dir", str(data), "--agency", ALG, "--port", str(port)]) == 0
        capsys.readouterr()
        assert main(["serve", "--data-dir", str(data)]) == 1
    out, err = capsys.readouterr()
    assert "listening on" not in out
    assert "[conflict]" in err and f"port: port {port} on 127.0.0.1 is in use" in err
