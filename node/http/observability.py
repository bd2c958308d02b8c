"""Health, Prometheus metrics and the OpenAPI document: the node's public face.

These need no token: health and metrics say nothing about notices (peer
agency ids and reason codes only), and the OpenAPI document describes the
API, not its data. A scrape of ``/metrics`` costs one read unit
(``services/metrics_snapshot.py``); everything else is in memory. The
families are listed in docs/operations.md (Monitoring), and the alert rules
and dashboard in deploy/ use them.
"""

from __future__ import annotations

import platform
from importlib import metadata

from aiohttp import web

from baliza.node.core.metrics import (
    COUNTERS,
    REFUSALS,
    REQUESTS_REFUSED,
    Labels,
    family,
    histogram_lines,
)
from baliza.node.core.process_stats import read_process_stats
from baliza.node.http.appkeys import NODE
from baliza.node.http.openapi import OPENAPI
from baliza.node.http.routes import Access, Route
from baliza.node.services.context import NodeContext
from baliza.node.services.metrics_snapshot import Snapshot, snapshot

_HISTOGRAM_HELP = {
    "baliza_delivery_latency_seconds": "From an envelope's creation to a peer's acceptance.",
    "baliza_ingest_duration_seconds": "Time to check and store one inbound batch.",
    "baliza_publish_duration_seconds": "Time to seal, store and queue one publication.",
}


async def healthz(request: web.Request) -> web.Response:
    """Whether the node is up and its database answers."""
    ctx = request.app[NODE]
    await ctx.db.ping()
    return web.json_response({"status": "ok", "agency": ctx.agency})


def _version() -> str:
    try:
        return metadata.version("baliza")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a bare checkout
        return "unknown"


def _counters(ctx: NodeContext, me: Labels) -> list[str]:
    lines: list[str] = []
    for name in sorted(COUNTERS.keys() | ctx.metrics.keys()):
        help_text = COUNTERS.get(name, "A count kept by the node.")
        lines += family(name, "counter", help_text, [(me, ctx.metrics.get(name, 0))])
    refusals = sorted(ctx.labelled.get(REFUSALS, {}).items())
    lines += family(
        REFUSALS,
        "counter",
        "Envelopes refused, by direction (in: by this node; out: by the peer), peer and reason.",
        [((*me, *labels), value) for labels, value in refusals],
    )
    answered = sorted(ctx.labelled.get(REQUESTS_REFUSED, {}).items())
    lines += family(
        REQUESTS_REFUSED,
        "counter",
        "Requests answered with an error, by reason code (unauthenticated, not_found...).",
        [((*me, *labels), value) for labels, value in answered],
    )
    return lines


def _queue(facts: Snapshot, me: Labels) -> list[str]:
    now_s = facts.now_ms / 1000
    lines = family(
        "baliza_outbox_pending",
        "gauge",
        "Envelopes waiting for delivery to a peer.",
        [((*me, ("peer", q.destination)), q.pending) for q in facts.queue],
    )
    lines += family(
        "baliza_outbox_oldest_pending_age_seconds",
        "gauge",
        "Age of the oldest envelope waiting for a peer (0 when none waits).",
        [
            ((*me, ("peer", q.destination)), max(0.0, now_s - q.oldest_created_ms / 1000))
            for q in facts.queue
        ],
    )
    lines += family(
        "baliza_peer_failing_seconds",
        "gauge",
        "How long delivery to a peer has been failing (0 when it is not).",
        [
            ((*me, ("peer", q.destination)), _failing(facts, q.destination, now_s))
            for q in facts.queue
        ],
    )
    return lines


def _failing(facts: Snapshot, peer: str, now_s: float) -> float:
    since = facts.failing_since_ms.get(peer)
    return 0.0 if since is None else max(0.0, now_s - since / 1000)


def _trust(facts: Snapshot, me: Labels) -> list[str]:
    now_s = facts.now_ms / 1000
    lines = family(
        "baliza_directory_version",
        "gauge",
        "The federation directory version in force (0 before the first).",
        [(me, facts.directory_version)],
    )
    if facts.directory_issued_ms is not None and facts.directory_expires_ms is not None:
        issued_s = facts.directory_issued_ms / 1000
        lines += family(
            "baliza_directory_issued_timestamp_seconds",
            "gauge",
            "When the directory in force was issued (Unix time).",
            [(me, issued_s)],
        )
        lines += family(
            "baliza_directory_age_seconds",
            "gauge",
            "Time since the directory in force was issued.",
            [(me, max(0.0, now_s - issued_s))],
        )
        lines += family(
            "baliza_directory_expires_timestamp_seconds",
            "gauge",
            "When the directory in force expires (Unix time): renew before.",
            [(me, facts.directory_expires_ms / 1000)],
        )
    lines += family(
        "baliza_signing_key_expires_timestamp_seconds",
        "gauge",
        "When this node's signing key stops being valid (Unix time): rotate before.",
        [(me, facts.signing_key_expires_ms / 1000)],
    )
    return lines


def _process(me: Labels) -> list[str]:
    stats = read_process_stats()
    lines = family(
        "baliza_build_info",
        "gauge",
        "The running release and Python (always 1).",
        [((*me, ("version", _version()), ("python", platform.python_version())), 1)],
    )
    lines += family(
        "process_cpu_seconds_total", "counter", "CPU time used.", [(me, stats.cpu_seconds)]
    )
    lines += family(
        "process_start_time_seconds",
        "gauge",
        "When the process started (Unix time).",
        [(me, stats.start_time_seconds)],
    )
    lines += family(
        "process_max_fds", "gauge", "The open file descriptor limit.", [(me, stats.max_fds)]
    )
    if stats.open_fds is not None:
        lines += family(
            "process_open_fds", "gauge", "Open file descriptors.", [(me, stats.open_fds)]
        )
    if stats.resident_memory_bytes is not None and stats.virtual_memory_bytes is not None:
        lines += family(
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory.",
            [(me, stats.resident_memory_bytes)],
        )
        lines += family(
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory.",
            [(me, stats.virtual_memory_bytes)],
        )
    return lines


async def metrics(request: web.Request) -> web.Response:
    """Every family in the Prometheus text format (version 0.0.4)."""
    ctx = request.app[NODE]
    facts = await snapshot(ctx)
    me: Labels = (("agency", ctx.agency),)
    lines = _counters(ctx, me)
    for name in sorted(ctx.histograms):
        lines += histogram_lines(name, _HISTOGRAM_HELP[name], me, ctx.histograms[name])
    lines += family(
        "baliza_live_followers",
        "gauge",
        "Consoles and clients following the live feed.",
        [(me, ctx.live.followers)],
    )
    lines += _queue(facts, me)
    lines += _trust(facts, me)
    lines += _process(me)
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain", charset="utf-8")


async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 description of the local API."""
    return web.json_response(OPENAPI)


ROUTES = (
    Route("GET", "/healthz", healthz, Access.PUBLIC),
    Route("GET", "/metrics", metrics, Access.PUBLIC),
    Route("GET", "/api/v1/openapi.json", openapi, Access.PUBLIC),
)
