"""Notices in their JSON form, as an officer's client would post them."""

from __future__ import annotations

import zlib
from typing import Any

from stdnum import iso6346

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


def container_for(agency: str) -> str:
    """A valid container number of ``agency``'s own: another agency's copy of one seizure
    is a re-publication (spec 03), so senders of the same test seizure each name their own."""
    serial = f"{zlib.crc32(agency.encode()) % 1_000_000:06d}"
    return f"MSCU{serial}{iso6346.calc_check_digit('MSCU' + serial)}"


def publish_body(agency: str, recipients: list[str], **kwargs: Any) -> dict[str, Any]:
    """The body of ``POST /api/v1/notices``."""
    return {
        "notice": seizure(agency, **kwargs),
        "recipients": recipients,
        "handling": {"tlp": "amber", "codes": ["h0"]},
    }


def alert_notice(
    agency: str,
    container: str = "MSCU1234566",
    expected_ms: int | str | None = None,
    **more: Any,
) -> dict[str, Any]:
    """A pre-arrival alert on a container from Guayaquil to Algeciras, due in a day unless
    ``expected_ms`` says when; ``more`` adds fields (indicators, text)."""
    return {
        "v": 1,
        "kind": "notice.alert",
        "programme": "ccp",
        "unit": {"agency": agency},
        "origin": {"locode": "ECGYE"},
        "destination": {"locode": "ESALG"},
        "subject": {"type": "container", "container": container},
        "expected_ms": now_ms() + 86_400_000 if expected_ms is None else expected_ms,
        **more,
    }
