"""Subscription and permission messages: vectors, strict readers, filter matching, rules."""

from __future__ import annotations

import json
from typing import Any

import make_subscription_vectors
import pytest

from baliza.protocol.errors import InputError, ReasonCode, TrustError
from baliza.protocol.handling import Handling, HandlingCode, Tlp
from baliza.protocol.sharing import SharedOriginal, ShareNeed, share_rule, subscriber_rule
from baliza.protocol.subscriptions import (
    PermissionDecision,
    PermissionRequest,
    SubscriptionFilter,
    SubscriptionRequest,
    SubscriptionUpdate,
)

READERS: dict[str, Any] = {
    "SubscriptionRequest": SubscriptionRequest,
    "SubscriptionUpdate": SubscriptionUpdate,
    "PermissionRequest": PermissionRequest,
    "PermissionDecision": PermissionDecision,
    "SharedOriginal": SharedOriginal,
}
VECTORS = json.loads(make_subscription_vectors.OUT.read_text(encoding="utf-8"))


def test_committed_vectors_equal_the_generator_output() -> None:
    assert make_subscription_vectors.OUT.read_text(encoding="utf-8") == (
        make_subscription_vectors.render()
    )


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector(vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["hex"])
    reader = READERS[vector["message"]]
    if vector["expect"] == "ok":
        assert reader.from_bytes(data).to_bytes() == data
        return
    with pytest.raises(InputError) as caught:
        reader.from_bytes(data)
    assert (caught.value.reason, caught.value.path) == (
        ReasonCode(vector["expect"]),
        vector["path"],
    )


SEIZURE: dict[str, Any] = {
    "kind": "notice.seizure",
    "programme": "ccp",
    "location": {"locode": "ESALG"},
    "commodities": [{"category": "cocaine"}],
    "route": {"loading": {"locode": "ECGYE"}, "transit": [{"locode": "PAMIT"}]},
}


@pytest.mark.parametrize(
    ("terms", "matches"),
    [
        ({}, True),
        ({"kinds": ("notice.seizure",)}, True),
        ({"kinds": ("notice.alert",)}, False),
        ({"programmes": ("aircop",)}, False),
        ({"categories": ("cocaine", "heroin")}, True),
        ({"categories": ("heroin",)}, False),
        ({"countries": ("PA",)}, True),  # a transit port on the route
        ({"countries": ("CO",)}, False),
        ({"places": ("ECGYE",)}, True),
        ({"places": ("NLRTM",)}, False),
        ({"programmes": ("ccp",), "places": ("NLRTM",)}, False),  # every term must hold
    ],
)
def test_filter_matching(terms: dict[str, tuple[str, ...]], matches: bool) -> None:
    assert SubscriptionFilter(**terms).matches("notice.seizure", SEIZURE) is matches


@pytest.mark.parametrize("tlp", [Tlp.RED, Tlp.AMBER_STRICT])
def test_red_and_amber_strict_go_neither_to_subscribers_nor_onward(tlp: Tlp) -> None:
    handling = Handling(tlp=tlp)
    assert subscriber_rule(handling) is not None
    with pytest.raises(TrustError) as caught:
        share_rule(handling)
    assert (caught.value.reason, caught.value.path) == (ReasonCode.HANDLING_FORBIDS, "handling.tlp")


@pytest.mark.parametrize(
    ("codes", "need"),
    [
        ((), ShareNeed.FREE),
        ((HandlingCode.H0, HandlingCode.H1), ShareNeed.FREE),
        ((HandlingCode.H2,), ShareNeed.PERMISSION),
        ((HandlingCode.H3,), ShareNeed.PERMISSION),
    ],
)
def test_which_codes_need_the_originators_permission(
    codes: tuple[HandlingCode, ...], need: ShareNeed
) -> None:
    restrictions = "x" if HandlingCode.H3 in codes else None
    handling = Handling(tlp=Tlp.AMBER, codes=codes, restrictions=restrictions)
    assert share_rule(handling).need is need
    assert subscriber_rule(handling) is None
