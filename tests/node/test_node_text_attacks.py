"""Invisible format characters in notice text, attacked on real nodes (issue 17, item 16).

A right-to-left override makes "gnp.exe" read "exe.png"; a zero-width space
makes one name two. Refused when an officer publishes through the API, and
when a member's modified node seals one into an envelope and pushes it (the
receiving node refuses it after decrypting, on either storage engine).
"""

from __future__ import annotations

from typing import Any

import pytest
from hardening_kit import call, push, reason, sealed
from node_harness import Cluster
from notice_json import publish_body, seizure

from baliza.protocol.notices import FreeText, SeizureNotice, notice_from_json

OVERRIDE = "Pago en efectivo \u202egnp.exe"


async def test_a_notice_with_a_bidi_override_is_refused_on_publish_and_on_receipt(
    cluster: Cluster, database_engine: str
) -> None:
    gye, ctg = await cluster(2, database_engine)
    body: dict[str, Any] = publish_body(gye.agency, [ctg.agency])
    body["notice"]["text"]["text"] = OVERRIDE
    status, answer = await call(gye, "POST", "/api/v1/notices", role="publisher", json=body)
    assert (status, reason(answer)) == (422, "format_character"), answer
    assert answer["error"]["path"].endswith("text.text"), answer
    body["notice"]["unit"]["name"] = "Unidad\u200bNorte"
    body["notice"]["text"]["text"] = "visible"
    status, answer = await call(gye, "POST", "/api/v1/notices", role="publisher", json=body)
    assert (status, reason(answer)) == (422, "format_character"), answer
    status, listed = await call(gye, "GET", "/api/v1/notices", role="analyst")
    assert status == 200 and listed["items"] == [], listed

    # A modified node skips its own checks: the notice is built, then its text swapped.
    notice = notice_from_json(seizure(gye.agency))
    assert isinstance(notice, SeizureNotice) and isinstance(notice.text, FreeText)
    object.__setattr__(notice.text, "text", OVERRIDE)
    envelope = sealed(gye.keys, [ctg.keys, gye.keys], notice=notice)
    assert await push(gye, ctg, [envelope.raw]) == [("refused", "format_character")]
    status, listed = await call(ctg, "GET", "/api/v1/notices", role="analyst")
    assert status == 200 and listed["items"] == [], listed


@pytest.mark.parametrize("char", ["\u2066", "\u200f", "\ufeff", "\u2028"])
async def test_other_invisible_characters_are_refused_on_publish(
    cluster: Cluster, char: str
) -> None:
    [gye] = await cluster(1)
    body: dict[str, Any] = publish_body(gye.agency, [])
    body["notice"]["commodities"][0]["packaging"] = f"50 bricks{char}in 2 bags"
    status, answer = await call(gye, "POST", "/api/v1/notices", role="publisher", json=body)
    assert (status, reason(answer)) == (422, "format_character"), answer
