"""Security keys as a second factor: registration, sign-in, and every way in refused.

A key in software (``soft_authenticator``) signs real ES256 assertions
over what the node sent, as a browser and its key would; each attack
changes one thing. The rules are tested directly; the use cases on a real
database of each engine.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from soft_authenticator import SoftKey, allowed_ids, b64url

from baliza.node.core.config import NodeConfig
from baliza.node.services.accounts import add_user, list_users
from baliza.node.services.person_sign_in import begin_key_sign_in, finish_key_sign_in
from baliza.node.services.security_keys import (
    CHALLENGE_TTL_MS,
    Party,
    begin_registration,
    challenge_refusal,
    finish_registration,
    remove_security_key,
    security_keys_of,
    sign_count_refusal,
)
from baliza.node.services.sessions import resume_session
from baliza.node.services.sign_in_throttle import SignInThrottle
from baliza.node.storage import Database
from baliza.node.storage.users import Challenge
from baliza.protocol.errors import ReasonCode, TrustError, UsageError
from baliza.protocol.ids import AgencyId

PASSWORD = "a long enough passphrase"
T0 = 1_800_000_000_000
PARTY = Party(rp_id="baliza.polfa.internal", origin="https://baliza.polfa.internal", name="t")
ADDRESS = "10.0.0.1"


async def person(db: Database, login: str = "jruiz") -> str:
    await add_user(
        db, login, name=login.title(), role="publisher", unit=None, password=PASSWORD, now=T0
    )
    return {u.login: u.id for u in await list_users(db)}[login]


async def register(db: Database, user_id: str, key: SoftKey, now: int = T0) -> None:
    handle, options = await begin_registration(db, PARTY, user_id, now)
    await finish_registration(
        db, PARTY, user_id, handle, key.register(options, PARTY.origin), "Blue key", now
    )


async def begin(db: Database, throttle: SignInThrottle, login: str = "jruiz") -> tuple[str, str]:
    return await begin_key_sign_in(
        db, PARTY, login, PASSWORD, T0 + 10, address=ADDRESS, throttle=throttle
    )


async def finish(
    db: Database, handle: str, answer: str, throttle: SignInThrottle, now: int = T0 + 20
) -> str:
    session_id, _ = await finish_key_sign_in(
        db, PARTY, handle, answer, now, address=ADDRESS, throttle=throttle
    )
    return session_id


# ---------------------------------------------------------------------- rules


def test_a_counter_must_move_forward_unless_the_key_keeps_none() -> None:
    assert sign_count_refusal(0, 0) is None
    assert sign_count_refusal(0, 1) is None
    assert sign_count_refusal(5, 6) is None
    for stored, received in ((5, 5), (5, 4), (5, 0), (1, 0)):
        refused = sign_count_refusal(stored, received)
        assert refused is not None and refused.reason == ReasonCode.SIGN_COUNT_BACKWARDS


def test_a_challenge_answers_only_its_own_use_until_it_expires() -> None:
    found = Challenge(user_id="u1", purpose="sign_in", challenge=b"c" * 32, expires_ms=T0)
    assert challenge_refusal(found, purpose="sign_in", user_id=None, now=T0 - 1) is None
    assert challenge_refusal(found, purpose="sign_in", user_id="u1", now=T0 - 1) is None
    for refused in (
        challenge_refusal(None, purpose="sign_in", user_id=None, now=T0 - 1),
        challenge_refusal(found, purpose="sign_in", user_id=None, now=T0),
        challenge_refusal(found, purpose="register", user_id=None, now=T0 - 1),
        challenge_refusal(found, purpose="sign_in", user_id="u2", now=T0 - 1),
    ):
        assert refused is not None and refused.reason == ReasonCode.UNAUTHENTICATED


def test_the_party_is_the_consoles_origin_and_host() -> None:
    config = NodeConfig(
        agency=AgencyId("co.polfa.ctg"), name="POLFA", data_dir=Path("/nowhere"), port=9000
    )
    assert Party.of(config).origin == "http://localhost:9000"
    assert Party.of(config).rp_id == "localhost"
    named = NodeConfig(
        agency=AgencyId("co.polfa.ctg"),
        name="POLFA",
        data_dir=Path("/nowhere"),
        console_url="https://baliza.polfa.internal:8443/console/",
    )
    assert Party.of(named).origin == "https://baliza.polfa.internal:8443"
    assert Party.of(named).rp_id == "baliza.polfa.internal"


# ------------------------------------------------------------------ use cases


async def test_a_registered_key_signs_in_as_its_person(database: Database) -> None:
    user_id = await person(database)
    key = SoftKey()
    await register(database, user_id, key)
    [stored] = await security_keys_of(database, user_id)
    assert stored.credential_id == key.credential_id and stored.name == "Blue key"
    throttle = SignInThrottle()
    handle, options = await begin(database, throttle)
    assert allowed_ids(options) == [key.credential_id]
    session_id = await finish(database, handle, key.assert_(options, PARTY.origin), throttle)
    signed_in = await resume_session(database, session_id, T0 + 30)
    assert signed_in is not None and signed_in.caller.user_id == user_id
    [after] = await security_keys_of(database, user_id)
    assert after.sign_count == key.counter and after.last_used_ms == T0 + 20


async def test_a_replayed_assertion_is_refused(database: Database) -> None:
    user_id = await person(database)
    key = SoftKey()
    await register(database, user_id, key)
    throttle = SignInThrottle()
    handle, options = await begin(database, throttle)
    answer = key.assert_(options, PARTY.origin)
    await finish(database, handle, answer, throttle)
    # The same answer to the same challenge, through the same pending sign-in: gone.
    with pytest.raises(TrustError) as again:
        await finish(database, handle, answer, throttle, now=T0 + 21)
    assert again.value.reason == ReasonCode.UNAUTHENTICATED
    # Nor through a new pending sign-in: its challenge differs, so the signature does not match.
    handle2, _ = await begin(database, throttle)
    with pytest.raises(TrustError):
        await finish(database, handle2, answer, throttle, now=T0 + 22)


async def test_an_assertion_with_another_persons_key_is_refused(database: Database) -> None:
    julia = await person(database, "jruiz")
    pedro = await person(database, "pgomez")
    julia_key, pedro_key = SoftKey(), SoftKey()
    await register(database, julia, julia_key)
    await register(database, pedro, pedro_key)
    throttle = SignInThrottle()
    # Pedro knows Julia's password, but holds only his own key.
    handle, options = await begin(database, throttle, "jruiz")
    with pytest.raises(TrustError) as refused:
        await finish(database, handle, pedro_key.assert_(options, PARTY.origin), throttle)
    assert refused.value.reason == ReasonCode.UNAUTHENTICATED


async def test_an_assertion_for_another_origin_or_rp_is_refused(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    user_id = await person(database)
    key = SoftKey()
    await register(database, user_id, key)
    throttle = SignInThrottle()
    caplog.set_level(logging.INFO, logger="baliza.node.services.person_sign_in")
    handle, options = await begin(database, throttle)
    phished = key.assert_(options, "https://baliza-polfa.example")
    with pytest.raises(TrustError):
        await finish(database, handle, phished, throttle)
    handle, options = await begin(database, throttle)
    other_rp = key.assert_(options, PARTY.origin, rp_id="example.org")
    with pytest.raises(TrustError):
        await finish(database, handle, other_rp, throttle)
    causes = [getattr(r, "cause", None) for r in caplog.records]
    assert causes == ["bad_assertion", "bad_assertion"]
    # A registration made for another origin stores nothing.
    handle, options = await begin_registration(database, PARTY, user_id, T0)
    with pytest.raises(TrustError):
        await finish_registration(
            database,
            PARTY,
            user_id,
            handle,
            SoftKey().register(options, "https://evil.example"),
            "Phished",
            T0,
        )
    assert len(await security_keys_of(database, user_id)) == 1


async def test_a_counter_that_goes_backwards_is_refused(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    user_id = await person(database)
    key = SoftKey()
    await register(database, user_id, key)
    throttle = SignInThrottle()
    handle, options = await begin(database, throttle)
    await finish(database, handle, key.assert_(options, PARTY.origin, counter=7), throttle)
    caplog.set_level(logging.INFO, logger="baliza.node.services.person_sign_in")
    # A clone of the key, copied when its counter stood at 3.
    handle, options = await begin(database, throttle)
    with pytest.raises(TrustError):
        await finish(database, handle, key.assert_(options, PARTY.origin, counter=4), throttle)
    assert [getattr(r, "cause", None) for r in caplog.records] == ["sign_count_backwards"]
    [stored] = await security_keys_of(database, user_id)
    assert stored.sign_count == 7


async def test_an_expired_challenge_or_a_person_without_keys_is_refused(
    database: Database,
) -> None:
    user_id = await person(database)
    throttle = SignInThrottle()
    with pytest.raises(TrustError):  # no key registered: refused like a wrong password
        await begin(database, throttle)
    key = SoftKey()
    await register(database, user_id, key)
    handle, options = await begin(database, throttle)
    late = T0 + 10 + CHALLENGE_TTL_MS
    with pytest.raises(TrustError):
        await finish(database, handle, key.assert_(options, PARTY.origin), throttle, now=late)
    with pytest.raises(TrustError):  # a wrong password never reaches the key
        await begin_key_sign_in(
            database, PARTY, "jruiz", "not the password", T0, address=ADDRESS, throttle=throttle
        )


async def test_a_registration_challenge_is_the_persons_and_single_use(
    database: Database,
) -> None:
    julia = await person(database, "jruiz")
    pedro = await person(database, "pgomez")
    handle, options = await begin_registration(database, PARTY, julia, T0)
    answer = SoftKey().register(options, PARTY.origin)
    with pytest.raises(TrustError):  # Pedro cannot finish Julia's registration
        await finish_registration(database, PARTY, pedro, handle, answer, "x", T0)
    with pytest.raises(TrustError):  # and the attempt used the challenge up
        await finish_registration(database, PARTY, julia, handle, answer, "x", T0)
    assert await security_keys_of(database, julia) == []
    assert await security_keys_of(database, pedro) == []


async def test_a_key_is_removed_only_by_its_person(database: Database) -> None:
    julia = await person(database, "jruiz")
    pedro = await person(database, "pgomez")
    key = SoftKey()
    await register(database, julia, key)
    with pytest.raises(UsageError) as missing:
        await remove_security_key(database, pedro, b64url(key.credential_id), T0)
    assert missing.value.reason == ReasonCode.NOT_FOUND
    await remove_security_key(database, julia, b64url(key.credential_id), T0)
    assert await security_keys_of(database, julia) == []
    throttle = SignInThrottle()
    with pytest.raises(TrustError):
        await begin(database, throttle)
