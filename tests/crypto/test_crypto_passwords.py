"""Password hashes: Argon2id in the PHC format, verified in constant time, bounds on reading."""

from __future__ import annotations

import pytest

from baliza.crypto.passwords import (
    CURRENT,
    PasswordHash,
    hash_password,
    needs_rehash,
    verify_password,
)
from baliza.protocol.errors import InputError, ReasonCode, TrustError


def test_a_password_verifies_and_another_is_refused() -> None:
    stored = hash_password("correct horse battery")
    verify_password("correct horse battery", stored)
    for wrong in ("correct horse batterY", "correct horse battery ", "", "x" * 2000):
        with pytest.raises(TrustError) as refused:
            verify_password(wrong, stored)
        assert refused.value.reason == ReasonCode.UNAUTHENTICATED


def test_the_stored_text_carries_parameters_and_salt_and_reads_back() -> None:
    stored = hash_password("correct horse battery")
    text = stored.to_text()
    assert text.startswith(f"$argon2id$v=19$m={CURRENT['memory_kib']},t={CURRENT['iterations']},")
    again = PasswordHash.from_text(text)
    assert again == stored
    verify_password("correct horse battery", again)
    assert not needs_rehash(again)
    # A fresh salt each time: the same password never gives the same text.
    assert hash_password("correct horse battery").to_text() != text


@pytest.mark.parametrize(
    "text",
    [
        "$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$" + "A" * 43,
        "$argon2id$v=16$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$" + "A" * 43,
        # Weakened below the floor, or made to cost a gigabyte per sign-in.
        "$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$" + "A" * 43,
        "$argon2id$v=19$m=1048576,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$" + "A" * 43,
        "$argon2id$v=19$m=19456,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$" + "A" * 43,
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZQ$" + "A" * 43,
        "plain text password",
    ],
)
def test_a_tampered_or_foreign_hash_is_refused_on_reading(text: str) -> None:
    with pytest.raises(InputError):
        PasswordHash.from_text(text)
