"""The ``Baliza-Signature`` header of scheme v2: one form in, every other refused by name."""

from __future__ import annotations

import base64

import pytest

from baliza.protocol.errors import ReasonCode, TrustError
from baliza.protocol.federation import (
    HEADER_SIGNATURE,
    REQUEST_SCHEME,
    parse_signature_header,
    signature_header,
)

SIG = bytes(range(64))
GOOD = signature_header(SIG)


def refused(value: str) -> TrustError:
    with pytest.raises(TrustError) as info:
        parse_signature_header(value)
    assert info.value.path == HEADER_SIGNATURE
    return info.value


def test_the_header_names_its_scheme_and_round_trips() -> None:
    assert f"{REQUEST_SCHEME} {base64.urlsafe_b64encode(SIG).decode()}" == GOOD
    assert GOOD.startswith("baliza-fed-request-v2 ")
    assert parse_signature_header(GOOD) == SIG


def test_a_v1_signature_map_is_refused_by_name() -> None:
    # v1: base64url of the canonical map {"ed25519": bin(64)}, one token.
    v1 = base64.urlsafe_b64encode(b"\x81\xa7ed25519\xc4\x40" + SIG).decode()
    err = refused(v1)
    assert err.reason is ReasonCode.REQUEST_SCHEME_UNSUPPORTED
    assert "baliza-fed-request-v1" in err.detail
    assert REQUEST_SCHEME in err.detail


@pytest.mark.parametrize(
    "value", [GOOD.replace("-v2 ", "-v3 "), "ed25519 " + GOOD.split(" ")[1], "", " " + GOOD]
)
def test_other_schemes_are_refused_by_name(value: str) -> None:
    assert refused(value).reason is ReasonCode.REQUEST_SCHEME_UNSUPPORTED


@pytest.mark.parametrize(
    "value",
    [
        GOOD.rstrip("="),  # padding is part of the one form
        GOOD + " ",
        GOOD + " extra",
        f"{REQUEST_SCHEME} {base64.b64encode(SIG).decode()}",  # the other base64 alphabet
        f"{REQUEST_SCHEME} {base64.urlsafe_b64encode(SIG[:63]).decode()}",
        f"{REQUEST_SCHEME} {base64.urlsafe_b64encode(SIG + b'x').decode()}",
        f"{REQUEST_SCHEME} " + "A" * 100_000,
        f"{REQUEST_SCHEME} é{GOOD.split(' ')[1][1:]}",
        REQUEST_SCHEME,
    ],
)
def test_anything_but_64_bytes_of_padded_base64url_is_a_bad_signature(value: str) -> None:
    assert refused(value).reason is ReasonCode.BAD_SIGNATURE


def test_only_ed25519_lengths_are_encoded() -> None:
    with pytest.raises(Exception) as info:
        signature_header(SIG[:32])
    assert getattr(info.value, "reason", None) is ReasonCode.BAD_LENGTH
