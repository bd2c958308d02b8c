"""A member's node moves to a new URL: the administrators list it, and deliveries follow.

There was no way to change a member's URL but removing and re-admitting it.
``baliza admin directory propose … --set-url agency=URL`` writes the next
version with the new URL (the diff shows it), and a node that applies it
delivers to the new address. ``serve`` rewrites ``public.json`` when
``public_url`` changed, so the card an agency sends names the URL it serves.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from loopback_support import free_port, wait_for
from node_harness import introduce, make_node
from notice_json import publish_body

from baliza.crypto.directory import propose
from baliza.crypto.directory_review import diff
from baliza.node.cli.admin import _url_change
from baliza.node.core.clock import now_ms
from baliza.node.services.directory_build import Changes, next_version
from baliza.protocol.directory import SignedDirectory
from baliza.protocol.errors import BalizaError
from baliza.protocol.federation import MEDIA_TYPE


async def test_a_moved_member_is_reached_at_its_new_url(tmp_path: Path) -> None:
    a = make_node(tmp_path, "co.polfa.ctg", f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    b = make_node(tmp_path, "es.aduanas.alg", f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
    federation = introduce(a, b)
    await a.start()
    await b.start()
    try:
        # es.aduanas.alg moves: another port, so the old URL answers nothing.
        await b.stop()
        old_url = b.url
        port = free_port()
        b.config = replace(b.config, port=port, public_url=f"http://127.0.0.1:{port}")
        await b.start()
        current = SignedDirectory.from_bytes(federation.signed).directory
        new = next_version(current, Changes(set_urls=((b.agency, b.url),)), now_ms=now_ms())
        assert [m.node_url for m in new.members if m.agency == b.agency] == [b.url]
        assert [m.node_url for m in new.members if m.agency == a.agency] == [a.url]
        assert any(old_url in line and b.url in line for line in diff(current, new))
        signed = federation.sign(propose(new))
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                a.url + "/api/v1/admin/directory",
                data=signed,
                headers={
                    "Authorization": f"Bearer {a.tokens['admin']}",
                    "Content-Type": MEDIA_TYPE,
                },
            ) as resp,
        ):
            assert resp.status == 200, await resp.text()
        sent = await a.api().post("/api/v1/notices", publish_body(a.agency, [b.agency]))

        async def delivered() -> bool:
            page = await b.api("analyst").get("/api/v1/notices", {"limit": "10"})
            return any(item["id"] == sent["id"] for item in page["items"])

        await wait_for(delivered, limit_s=20, what="delivery to the new URL")
    finally:
        await a.stop()
        await b.stop()


def test_a_url_change_names_a_member_and_an_http_url() -> None:
    assert _url_change("es.aduanas.alg=https://baliza.aduanas.example/") == (
        "es.aduanas.alg",
        "https://baliza.aduanas.example",
    )
    for bad in ("es.aduanas.alg", "es.aduanas.alg=ftp://x", "=https://x", "NOT AN ID=https://x"):
        with pytest.raises(BalizaError):
            _url_change(bad)


def test_serve_rewrites_public_json_when_public_url_changed(tmp_path: Path) -> None:
    folder, port = tmp_path / "node", free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALIZA_")}
    env["BALIZA_PASSPHRASE"] = "correct horse battery"
    cli = [sys.executable, "-m", "baliza.node.cli.main"]
    init = ["init", "--data-dir", str(folder), "--agency", "co.polfa.ctg", "--port", str(port)]
    subprocess.run(
        [*cli, *init, "--public-url", "https://old.polfa.example"],
        env=env,
        check=True,
        capture_output=True,
    )
    toml = folder / "node.toml"
    toml.write_text(toml.read_text().replace("https://old.polfa", "https://new.polfa"))
    process = subprocess.Popen(
        [*cli, "serve", "--data-dir", str(folder)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline()  # the start line: by then the card is rewritten
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert "listening on" in first, err
    card = json.loads((folder / "public.json").read_text())
    assert card["url"] == "https://new.polfa.example"
    assert "public_url is now https://new.polfa.example" in err
    assert "--set-url co.polfa.ctg=https://new.polfa.example" in err
