"""Settings that weaken security are named when the node starts (issue 17, item 14).

``baliza doctor`` names them too (tests/deploy/test_doctor.py).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from node_harness import make_node

from baliza.node.core.weak_settings import weak_settings

WARNING = "setting that weakens security"


def warned(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if WARNING in r.getMessage()]


async def test_a_node_started_with_weak_settings_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    weak = make_node(
        tmp_path,
        "co.polfa.ctg",
        f"sqlite+aiosqlite:///{tmp_path / 'a.db'}",
        public_url="http://baliza.polfa.example",
        request_skew_ms=3_600_000,
        peer_requests_per_s=1_000_000,
    )
    await weak.start()
    await weak.stop()
    said = warned(caplog)
    assert [line.split(": ")[1] for line in said] == [
        "public_url",
        "request_skew_ms",
        "peer_requests_per_s",
    ], said
    caplog.clear()
    sound = make_node(tmp_path, "es.aduanas.alg", f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
    await sound.start()
    await sound.stop()
    assert warned(caplog) == []


@pytest.mark.parametrize(
    ("setting", "value", "key"),
    [
        ("host", "0.0.0.0", "host"),
        ("host", "::", "host"),
        ("public_url", "http://10.1.2.3:8470", "public_url"),
        ("replay_window_ms", 365 * 24 * 3_600_000, "replay_window_ms"),
        ("body_timeout_ms", 3_600_000, "body_timeout_ms"),
        ("trusted_proxies", ["0.0.0.0/0"], "trusted_proxies"),
    ],
)
def test_each_weak_setting_is_named(tmp_path: Path, setting: str, value: object, key: str) -> None:
    settings: dict[str, Any] = {setting: value}
    config = make_node(tmp_path, "co.polfa.ctg", "sqlite://", **settings).config
    assert [w.split(":")[0] for w in weak_settings(config)] == [key]


def test_sound_settings_are_not_named(tmp_path: Path) -> None:
    for settings in (
        {},
        {"public_url": "https://baliza.polfa.example", "host": "10.1.2.3"},
        {"trusted_proxies": ["127.0.0.1", "172.30.0.0/24"], "request_skew_ms": 600_000},
    ):
        config = make_node(tmp_path, "co.polfa.ctg", "sqlite://", **settings).config
        assert weak_settings(config) == [], settings
