"""The CLI behind the shipped nginx: which face it calls, and the agency's own CA.

A node whose ``public_url`` is the proxy's partner face: the CLI, run as an
operator runs it, reaches the local API on the node's listener by default;
``BALIZA_URL`` may name the agency face over TLS, whose certificate comes from
the agency's CA and is trusted through ``tls_ca_file`` (and refused without it).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import harness_path  # noqa: F401  (tests/node on the path)
import pytest
from node_harness import TestNode, make_node
from proxy_support import Pki, Proxy, make_pki, nginx_binary, start_proxy


async def baliza(node: TestNode, *args: str, **env: str) -> tuple[int, str, str]:
    """``baliza`` as a child process on the node's folder (the node keeps serving)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("BALIZA_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "baliza.node.cli.main",
        *args,
        "--data-dir",
        str(node.config.data_dir),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**base, "BALIZA_TOKEN": node.tokens["analyst"], **env},
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
async def behind_proxy(tmp_path: Path) -> AsyncIterator[tuple[TestNode, Proxy, Pki]]:
    nginx_binary()  # skip (or fail in CI) before any work when nginx is missing
    pki = make_pki(tmp_path / "pki")
    node = make_node(tmp_path, "co.polfa.ctg", f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    proxy = start_proxy(tmp_path / "nginx", pki, node.config.port)
    node.config = replace(node.config, public_url=proxy.partner_url)
    node.config.save()
    try:
        await node.start()
        yield node, proxy, pki
    finally:
        await node.stop()
        proxy.stop()


async def test_the_cli_reaches_the_local_api_not_the_partner_face(
    behind_proxy: tuple[TestNode, Proxy, Pki],
) -> None:
    node, proxy, _ = behind_proxy
    code, out, err = await baliza(node, "status")
    assert code == 0, err
    assert out.startswith(f"co.polfa.ctg at {proxy.partner_url}"), out
    # What the CLI used to call: the partner face has no local API.
    code, _, err = await baliza(node, "status", "--url", proxy.partner_url)
    assert code == 1, err


async def test_the_agency_face_is_trusted_through_tls_ca_file(
    behind_proxy: tuple[TestNode, Proxy, Pki],
) -> None:
    node, proxy, pki = behind_proxy
    # The agency's CA is not a system authority: the certificate is refused.
    code, _, err = await baliza(node, "status", BALIZA_URL=proxy.internal_url)
    assert code == 1 and "[node_unreachable]" in err, err
    assert "certificate" in err.lower(), err
    # With tls_ca_file naming it, the same call succeeds.
    node.config = replace(node.config, tls_ca_file=str(pki.ca))
    node.config.save()
    code, out, err = await baliza(node, "status", BALIZA_URL=proxy.internal_url)
    assert code == 0, err
    assert out.startswith("co.polfa.ctg at "), out
