"""protocol/vectors/rules.json: reproduced by its generator, and each outcome holds.

Outcomes are recomputed here from the file's own bytes and facts (headers
parsed from hex), so a rule that changes its reason code or path fails
even if nobody regenerates the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from make_rule_vectors import (
    OUT,
    _change,
    _nominal,
    _publish_channel,
    _publish_supersedes,
    _republish,
    render,
)

from baliza.node.services.rules.audience import check_jit_kind, check_not_from_jit
from baliza.node.services.rules.lifecycle import check_supersedes_owner
from baliza.node.services.rules.shares import check_share_of
from baliza.protocol.envelope import Header, MessageKind
from baliza.protocol.errors import BalizaError
from baliza.protocol.ids import ChannelId, EnvelopeId

FILE: dict[str, Any] = json.loads(OUT.read_text(encoding="utf-8"))


def _header(raw: str) -> Header:
    return Header.from_bytes(bytes.fromhex(raw))


def _holds(case: dict[str, Any], run: Callable[[], object]) -> None:
    try:
        run()
    except BalizaError as err:
        assert (err.reason.value, err.path) == (case["expect"], case["path"])
    else:
        assert case["expect"] == "ok"


def test_the_generator_reproduces_the_file() -> None:
    assert OUT.read_text(encoding="utf-8") == render()


@pytest.mark.parametrize("case", FILE["shares"], ids=lambda c: c["name"])
def test_shares(case: dict[str, Any]) -> None:
    _holds(case, lambda: check_share_of(_header(case["share"]), _header(case["original"])))


@pytest.mark.parametrize("case", FILE["supersedes"], ids=lambda c: c["name"])
def test_supersedes_at_the_publisher(case: dict[str, Any]) -> None:
    _holds(case, lambda: _publish_supersedes(_header(case["header"]), case["held"]))


@pytest.mark.parametrize("case", FILE["received"], ids=lambda c: c["name"])
def test_supersedes_at_a_receiver(case: dict[str, Any]) -> None:
    h = _header(case["header"])
    target = EnvelopeId(str(h.supersedes))
    _holds(
        case,
        lambda: check_supersedes_owner(
            h.sender, target, case["held_sender"], path="header.supersedes"
        ),
    )


@pytest.mark.parametrize("case", FILE["jit"], ids=lambda c: c["name"])
def test_case_notices_stay_in_jits(case: dict[str, Any]) -> None:
    kind = MessageKind(case["kind"])
    _holds(case, lambda: check_jit_kind(kind, case["channel_kind"], path="channel"))


@pytest.mark.parametrize("case", FILE["shared_from"], ids=lambda c: c["name"])
def test_nothing_leaves_a_jit_by_a_share(case: dict[str, Any]) -> None:
    channel = None if case["channel"] is None else ChannelId(case["channel"])
    _holds(case, lambda: check_not_from_jit(channel, case["channel_kind"]))


@pytest.mark.parametrize("case", FILE["nominal"], ids=lambda c: c["name"])
def test_nominal_data_policy(case: dict[str, Any]) -> None:
    _holds(
        case,
        lambda: _nominal(case["nominal_recipients"], case["recipients"], case["subscriber"]),
    )


@pytest.mark.parametrize("case", FILE["publish_channel"], ids=lambda c: c["name"])
def test_publishing_to_a_channel(case: dict[str, Any]) -> None:
    _holds(case, lambda: _publish_channel(case["held"], case["now_ms"]))


@pytest.mark.parametrize("case", FILE["subscription_changes"], ids=lambda c: c["name"])
def test_subscription_changes(case: dict[str, Any]) -> None:
    _holds(case, lambda: _change(case["state"], case["paused_by"], case["by"], case["new"]))


@pytest.mark.parametrize("case", FILE["republish"], ids=lambda c: c["name"])
def test_a_received_notice_is_not_republished(case: dict[str, Any]) -> None:
    notices = {name: bytes.fromhex(raw) for name, raw in FILE["notices"].items()}
    _holds(case, lambda: _republish(notices[case["published"]], notices[case["received"]]))
