"""The sign-in throttle's clock, without a node: windows slide, lock-outs end."""

from __future__ import annotations

import pytest

from baliza.node.services.sign_in_throttle import (
    ACCOUNT_FAILURES,
    ADDRESS_FAILURES,
    LOCKOUT_MS,
    MAX_TRACKED,
    WINDOW_MS,
    SignInThrottle,
    account_of,
)
from baliza.protocol.errors import ReasonCode, TrustError


def locked(throttle: SignInThrottle, account: str | None, address: str, now: int) -> bool:
    try:
        throttle.check(account, address, now)
    except TrustError as err:
        assert err.reason is ReasonCode.SIGN_IN_THROTTLED
        return True
    return False


def test_a_lock_out_ends_and_old_failures_are_forgotten() -> None:
    throttle = SignInThrottle()
    for n in range(ACCOUNT_FAILURES - 1):
        assert throttle.failed("abc123", f"10.0.0.{n}", now=n) == []
    # The earlier failures slid out of the window: this one does not lock.
    late = WINDOW_MS + ACCOUNT_FAILURES
    assert throttle.failed("abc123", "10.0.0.9", now=late) == []
    assert not locked(throttle, "abc123", "10.0.0.9", late)
    for n in range(ACCOUNT_FAILURES - 2):
        throttle.failed("abc123", "10.0.0.9", now=late + n)
    assert throttle.failed("abc123", "10.0.0.9", now=late + 10) == ["token abc123"]
    assert locked(throttle, "abc123", "10.0.0.200", late + 10)
    assert not locked(throttle, "abc123", "10.0.0.200", late + 10 + LOCKOUT_MS)


def test_an_address_locks_whatever_tokens_it_names() -> None:
    throttle = SignInThrottle()
    for n in range(ADDRESS_FAILURES - 1):
        assert "address 10.0.0.1" not in throttle.failed(f"{n:012x}", "10.0.0.1", now=n)
    assert throttle.failed(None, "10.0.0.1", now=100) == ["address 10.0.0.1"]
    assert locked(throttle, None, "10.0.0.1", 101)
    assert not locked(throttle, None, "10.0.0.2", 101)


def test_memory_stays_bounded_under_a_spray_of_names() -> None:
    throttle = SignInThrottle()
    for n in range(3 * MAX_TRACKED):
        throttle.failed(f"{n:012x}", f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}", now=n)
    assert len(throttle._records) <= MAX_TRACKED + 2


@pytest.mark.parametrize(
    ("typed", "account"),
    [
        ("bz_0123456789ab_secret", "0123456789ab"),
        ("  bz_0123456789ab_se_cr_et  ", "0123456789ab"),
        ("bz_not\nhex_secret", None),
        ("password123", None),
        ("", None),
    ],
)
def test_only_a_sane_token_id_is_ever_named(typed: str, account: str | None) -> None:
    assert account_of(typed) == account
