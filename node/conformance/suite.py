"""The whole suite: every area module imported, so that its checks are registered."""

from __future__ import annotations

from baliza.node.conformance import (  # noqa: F401  (imported to register their checks)
    area_attachments,
    area_channels,
    area_directory,
    area_envelopes,
    area_pull,
    area_requests,
    area_subscriptions,
)
from baliza.node.conformance.checks import AREAS, Check, registered


def all_checks() -> list[Check]:
    """Every check, areas in spec order, and within an area in the order written."""
    order = {a: i for i, a in enumerate(AREAS)}
    return sorted(registered(), key=lambda c: order[c.area])  # sorted() is stable
