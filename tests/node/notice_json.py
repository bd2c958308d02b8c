"""Notices in their JSON form, as an officer's client would post them."""

from __future__ import annotations

from typing import Any

from baliza.node.core.clock import now_ms


def seizure(agency: str, container: str = "MSCU1234566", grams: int = 25_000) -> dict[str, Any]:
    """A seizure of cocaine in a container at Algeciras."""
    return {
        "v": 1,
        "kind": "notice.seizure",
        "programme": "ccp",
        "unit": {"agency": agency},
        "seized_ms": now_ms() - 3_600_000,
        "location": {"locode": "ESALG"},
        "transport": "sea",
        "commodities": [{"category": "cocaine", "quantity": {"amount": grams, "unit": "g"}}],
        "conveyance": {"container": container},
        "text": {"lang": "en", "text": "Holdalls behind the doors."},
    }


def publish_body(agency: str, recipients: list[str], **kwargs: Any) -> dict[str, Any]:
    """The body of ``POST /api/v1/notices``."""
    return {
        "notice": seizure(agency, **kwargs),
        "recipients": recipients,
        "handling": {"tlp": "amber", "codes": ["h0"]},
    }
