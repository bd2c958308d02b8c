"""The alert rules and the dashboard in deploy/ load, and read only what a node serves.

``promtool`` (Debian's ``prometheus`` package) checks the rules and runs
their unit tests (deploy/prometheus/baliza-rules.test.yml), and lints a real
node's ``/metrics``; without it the tests skip, or fail in CI
(``BALIZA_REQUIRE_DEPLOY=1``; .ci/deploy-checks.sh installs it). Grafana is
not packaged for Debian: the dashboard gets a schema check instead. Both the
rules and the dashboard are held to the metrics a real node serves, so a
renamed metric cannot leave an alert that never fires.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from node_harness import Cluster
from notice_json import publish_body
from prometheus_text import Family, family_of, metric_names, parse

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "deploy" / "prometheus" / "baliza-rules.yml"
RULE_TESTS = REPO / "deploy" / "prometheus" / "baliza-rules.test.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "baliza.json"


def promtool() -> str:
    """Debian's promtool; skips (or fails, in CI) when it is not installed."""
    found = shutil.which("promtool")
    if found:
        return found
    reason = "promtool not installed: apt-get install prometheus (.ci/deploy-checks.sh does)"
    if os.environ.get("BALIZA_REQUIRE_DEPLOY") == "1":
        pytest.fail(f"{reason}; BALIZA_REQUIRE_DEPLOY=1 requires it")
    pytest.skip(reason)


async def served(cluster: Cluster) -> tuple[str, dict[str, Family]]:
    """A real node's /metrics after a delivery, as text and as families."""
    gye, alg = await cluster(("ec.polnac.gye", "es.aduanas.alg"))
    await gye.api().post("/api/v1/notices", publish_body(gye.agency, [alg.agency]))
    async with aiohttp.ClientSession() as session, session.get(gye.url + "/metrics") as resp:
        text = await resp.text()
    return text, parse(text)


def rule_exprs() -> list[tuple[str, str]]:
    document = yaml.safe_load(RULES.read_text())
    return [
        (rule["alert"], rule["expr"]) for group in document["groups"] for rule in group["rules"]
    ]


def panel_exprs() -> list[tuple[str, str]]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel["targets"]
    ]


def test_promtool_checks_the_rules_and_runs_their_unit_tests() -> None:
    tool = promtool()
    check = subprocess.run(
        [tool, "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"SUCCESS: {len(rule_exprs())} rules found" in check.stdout
    tests = subprocess.run(
        [tool, "test", "rules", RULE_TESTS.name],
        cwd=RULE_TESTS.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr


async def test_promtool_accepts_a_real_nodes_metrics(cluster: Cluster) -> None:
    tool = promtool()
    text, _ = await served(cluster)
    lint = await asyncio.create_subprocess_exec(
        tool,
        "check",
        "metrics",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    said, _ = await lint.communicate(text.encode())
    assert lint.returncode == 0, said.decode()


async def test_every_rule_and_panel_reads_metrics_the_node_serves(cluster: Cluster) -> None:
    _, families = await served(cluster)
    exprs = rule_exprs() + panel_exprs()
    assert len(rule_exprs()) >= 10 and len(panel_exprs()) >= 10
    read: set[str] = set()
    for where, expr in exprs:
        names = metric_names(expr)
        assert names, f"{where}: reads no Baliza metric"
        missing = {n for n in names if family_of(n, families) is None}
        assert not missing, f"{where}: {sorted(missing)} not served by a node"
        read |= {f for n in names if (f := family_of(n, families))}
    # Alerts exist for what the issue asks to be alerted on.
    alerted = set().union(*(metric_names(e) for _, e in rule_exprs()))
    for wanted in (
        "baliza_outbox_oldest_pending_age_seconds",
        "baliza_peer_failing_seconds",
        "baliza_envelope_refusals_total",
        "baliza_directory_expires_timestamp_seconds",
        "baliza_signing_key_expires_timestamp_seconds",
        "baliza_delivery_latency_seconds_bucket",
    ):
        assert wanted in alerted, wanted


def test_the_dashboard_is_an_importable_grafana_document() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    (source,) = dashboard["__inputs"]
    assert source["pluginId"] == "prometheus"
    datasource = {"type": "prometheus", "uid": "${" + source["name"] + "}"}
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        assert panel["type"] in {"timeseries", "stat", "table"}, panel["title"]
        assert panel["datasource"] == datasource, panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        taken = {
            (grid["x"] + dx, grid["y"] + dy) for dx in range(grid["w"]) for dy in range(grid["h"])
        }
        assert not taken & cells, f"{panel['title']} overlaps another panel"
        cells |= taken
        refs = [target["refId"] for target in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]
    (agency,) = dashboard["templating"]["list"]
    assert metric_names(agency["definition"]) == {"baliza_build_info"}


async def test_the_operations_guide_lists_every_served_metric(cluster: Cluster) -> None:
    _, families = await served(cluster)
    guide = (REPO / "docs" / "operations.md").read_text()
    section = guide[guide.index("## Monitoring") :]
    section = section[: section.index("\n## ", 1)]
    listed = set(re.findall(r"`((?:baliza|process)_[a-z0-9_*]+)`", section))
    patterns = [re.compile(name.replace("*", "[a-z0-9_]+") + "$") for name in listed]
    unlisted = {name for name in families if not any(p.match(name) for p in patterns)}
    assert not unlisted, f"served but not in docs/operations.md, Monitoring: {sorted(unlisted)}"
    stale = {name for name in listed if "*" not in name and name not in families}
    assert not stale, f"listed in docs/operations.md but not served: {sorted(stale)}"
