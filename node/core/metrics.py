"""The node's own measurements, held in memory and written as Prometheus text.

Why not a client library: the node needs three shapes (counters, counters
with labels, histograms with fixed buckets) and one output format, and every
value here is one process's (each worker of a PostgreSQL deployment is
scraped on its own, as Prometheus expects). Nothing here does I/O; the
``/metrics`` handler asks the services for what only storage knows, in one
read unit, and writes the rest from memory.

Rules of this file: metric names are ``baliza_*`` (or the standard
``process_*``), counters end in ``_total``, durations are in seconds and
times are Unix timestamps in seconds, as Prometheus's conventions ask.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

Labels = tuple[tuple[str, str], ...]

# Inbound batches and publications take milliseconds; a slow disk or a
# saturated database shows in the upper buckets.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# From creation to a peer's acceptance: sub-second on a healthy federation,
# minutes to hours while a peer is down and the outbox waits.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

# Every plain counter the node keeps, written from zero at start so that an
# alert's ``rate()`` and a dashboard see the series before the first event.
COUNTERS = {
    "baliza_notices_published_total": "Notices this node published.",
    "baliza_envelopes_received_total": "Envelopes peers pushed or this node pulled.",
    "baliza_envelopes_accepted_total": "Received envelopes accepted and stored (not duplicates).",
    "baliza_envelopes_refused_total": "Received envelopes this node refused (by reason: "
    "baliza_envelope_refusals_total).",
    "baliza_envelopes_delivered_total": "Envelopes peers accepted from this node.",
    "baliza_envelopes_refused_by_peer_total": "Envelopes peers refused for good.",
    "baliza_delivery_failures_total": "Delivery rounds that failed as a whole "
    "(unreachable, refused).",
    "baliza_directory_versions_applied_total": "Directory versions put in force.",
    "baliza_attachment_requests_total": "Attachment requests from members, served or not.",
    "baliza_attachments_fetched_total": "Attachments fetched from senders.",
    "baliza_channel_signature_checks_total": "Signature checks of channel versions.",
    "baliza_channel_versions_applied_total": "Channel membership versions applied.",
    "baliza_channel_conflicts_total": "Conflicting channel versions seen (an alarm).",
    "baliza_channel_sends_paused_total": "Channel sends paused by a conflict.",
    "baliza_audit_peer_heads_checked_total": "Peer audit-log heads checked.",
    "baliza_audit_peer_heads_refused_total": "Peer audit-log heads refused.",
    "baliza_audit_equivocations_total": "Peers caught showing two histories (an alarm).",
    "baliza_mail_sent_total": "Notification e-mails the agency's relay accepted.",
    "baliza_mail_failed_total": "Tries to hand a notification e-mail to the relay that failed.",
}

HISTOGRAMS = {
    "baliza_delivery_latency_seconds": LATENCY_BUCKETS,
    "baliza_ingest_duration_seconds": DURATION_BUCKETS,
    "baliza_publish_duration_seconds": DURATION_BUCKETS,
}


@dataclass(slots=True)
class Histogram:
    """Cumulative buckets, a sum and a count: what ``histogram_quantile`` needs."""

    bounds: tuple[float, ...]
    buckets: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        if not self.buckets:
            self.buckets = [0] * len(self.bounds)

    def observe(self, value: float) -> None:
        """Count one observation (negative values, from a clock step, count as 0)."""
        value = max(value, 0.0)
        for index, bound in enumerate(self.bounds):
            if value <= bound:
                self.buckets[index] += 1
        self.total += value
        self.count += 1


def escape(value: str) -> str:
    """A label value as the text format requires (backslash, quote, newline escaped)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def number(value: float) -> str:
    """A sample value: integers without a decimal point, infinities as ``+Inf``."""
    if isinstance(value, int):
        return str(value)
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def sample(name: str, labels: Labels, value: float) -> str:
    """One line of the text format."""
    inside = ",".join(f'{key}="{escape(val)}"' for key, val in labels)
    return f"{name}{{{inside}}} {number(value)}"


def family(
    name: str, kind: str, help_text: str, samples: Iterable[tuple[Labels, float]]
) -> list[str]:
    """A metric family: its HELP and TYPE lines, then its samples."""
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    lines.extend(sample(name, labels, value) for labels, value in samples)
    return lines


def histogram_lines(name: str, help_text: str, base: Labels, histogram: Histogram) -> list[str]:
    """A histogram family: ``_bucket`` lines up to ``+Inf``, then ``_sum`` and ``_count``."""
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
    for bound, cumulative in zip(histogram.bounds, histogram.buckets, strict=True):
        lines.append(sample(f"{name}_bucket", (*base, ("le", number(bound))), cumulative))
    lines.append(sample(f"{name}_bucket", (*base, ("le", "+Inf")), histogram.count))
    lines.append(sample(f"{name}_sum", base, histogram.total))
    lines.append(sample(f"{name}_count", base, histogram.count))
    return lines


REFUSALS = "baliza_envelope_refusals_total"
REQUESTS_REFUSED = "baliza_requests_refused_total"


def refusal_labels(direction: str, peer: str, reason: str) -> Labels:
    """The labels of one refusal: ``in`` (this node refused a peer's envelope) or ``out``."""
    return (("direction", direction), ("peer", peer), ("reason", reason))
