"""People's accounts: the rules, enrolment, and every way into a sign-in refused.

The rules are tested directly; the use cases on a real database of each
engine. Codes are computed with pyotp from the enrolment's secret, as an
authenticator app would.
"""

from __future__ import annotations

import logging

import pyotp
import pytest

from baliza.node.services import accounts
from baliza.node.services.accounts import (
    LOCKOUT_MS,
    MAX_FAILURES,
    Enrolment,
    add_user,
    after_failure,
    disable_user,
    fold_login,
    list_users,
    password_refusal,
    reset_user,
    totp_step,
)
from baliza.node.services.person_sign_in import open_person_session
from baliza.node.services.sessions import resume_session
from baliza.node.services.sign_in_throttle import ADDRESS_FAILURES, SignInThrottle
from baliza.node.storage import Database
from baliza.protocol.errors import ReasonCode, TrustError, UsageError

PASSWORD = "a long enough passphrase"
T0 = 1_800_000_000_000  # a fixed "now" (ms), in the middle of a 30 s step


def code_at(enrolment: Enrolment, now_ms: int) -> str:
    return pyotp.TOTP(enrolment.totp_secret).at(now_ms // 1000)


async def enrol(db: Database, login: str = "jruiz", role: str = "publisher") -> Enrolment:
    return await add_user(
        db, login, name="Julia Ruiz", role=role, unit="Port unit", password=PASSWORD, now=T0
    )


async def sign_in(
    db: Database,
    code: str,
    now: int,
    *,
    login: str = "jruiz",
    password: str = PASSWORD,
    address: str = "10.0.0.1",
    throttle: SignInThrottle | None = None,
) -> str:
    session_id, _ = await open_person_session(
        db,
        login,
        password,
        code,
        now,
        address=address,
        throttle=throttle or SignInThrottle(),
    )
    return session_id


async def refused(db: Database, code: str, now: int, **kw: object) -> ReasonCode:
    with pytest.raises(TrustError) as err:
        await sign_in(db, code, now, **kw)  # type: ignore[arg-type]
    return err.value.reason


# ---------------------------------------------------------------- the rules


def test_login_names_are_case_folded_and_checked() -> None:
    assert fold_login("  JRuiz ") == "jruiz"
    for bad in ("", "j", "j ruiz", "ju<script>", "x" * 65, "-lead"):
        with pytest.raises(UsageError) as err:
            fold_login(bad)
        assert err.value.path == "login"


def test_a_short_password_or_the_login_name_is_refused() -> None:
    short = password_refusal("elevenchars", "jruiz")
    assert short is not None and short.reason == ReasonCode.WEAK_PASSWORD
    same = password_refusal("JRuizJRuizJRuiz", "jruizjruizjruiz")
    assert same is not None and same.reason == ReasonCode.WEAK_PASSWORD
    assert password_refusal("twelve chars", "jruiz") is None


def test_a_totp_code_is_accepted_one_step_either_side_and_no_further() -> None:
    secret = pyotp.random_base32()
    totp = pyotp.TOTP(secret)
    now_step = T0 // 1000 // 30
    for offset in (-1, 0, 1):
        code = totp.generate_otp(now_step + offset)
        assert totp_step(secret, code, T0) == now_step + offset
    for offset in (-3, -2, 2, 3):
        code = totp.generate_otp(now_step + offset)
        # Unless by chance it equals a code inside the window.
        inside = {totp.generate_otp(now_step + o) for o in (-1, 0, 1)}
        if code not in inside:
            assert totp_step(secret, code, T0) is None


def test_the_fifth_consecutive_failure_locks_the_account() -> None:
    failures, locked = 0, 0
    for _ in range(MAX_FAILURES - 1):
        failures, locked = after_failure(failures, T0)
        assert locked == 0
    failures, locked = after_failure(failures, T0)
    assert (failures, locked) == (0, T0 + LOCKOUT_MS)


# ------------------------------------------------------------ enrolment


async def test_enrolment_shows_secrets_once_and_stores_none_in_clear(database: Database) -> None:
    enrolment = await enrol(database, login="JRuiz")
    assert enrolment.login == "jruiz"
    assert enrolment.password is None  # chosen by the administrator, not generated
    assert enrolment.totp_uri.startswith("otpauth://totp/")
    assert enrolment.totp_secret in enrolment.totp_uri
    assert len(enrolment.recovery_codes) == 10 == len(set(enrolment.recovery_codes))
    (user,) = await list_users(database)
    assert (user.login, user.name, user.unit, user.role) == (
        "jruiz",
        "Julia Ruiz",
        "Port unit",
        "publisher",
    )
    assert user.password.startswith("$argon2id$") and PASSWORD not in user.password

    def dump(connection: object) -> str:
        from sqlalchemy import Connection, text

        assert isinstance(connection, Connection)
        rows = connection.execute(text("SELECT code_hash FROM recovery_codes")).all()
        return repr(rows)

    stored_codes = await database.run(dump, write=False)
    for code in enrolment.recovery_codes:
        assert code.replace("-", "") not in stored_codes


async def test_a_generated_password_is_returned_once_and_signs_in(database: Database) -> None:
    enrolment = await add_user(
        database, "mlopez", name="M. López", role="analyst", unit=None, password=None, now=T0
    )
    assert enrolment.password is not None and len(enrolment.password) >= 12
    await sign_in(database, code_at(enrolment, T0), T0, login="mlopez", password=enrolment.password)


async def test_a_taken_login_a_weak_password_or_a_bad_role_stores_nothing(
    database: Database,
) -> None:
    await enrol(database)
    with pytest.raises(UsageError) as taken:
        await enrol(database, login="JRUIZ")
    assert taken.value.reason == ReasonCode.CONFLICT
    with pytest.raises(UsageError) as weak:
        await add_user(
            database, "other", name="O", role="analyst", unit=None, password="short", now=T0
        )
    assert weak.value.reason == ReasonCode.WEAK_PASSWORD
    with pytest.raises(UsageError) as role:
        await add_user(
            database, "other", name="O", role="root", unit=None, password=PASSWORD, now=T0
        )
    assert role.value.reason == ReasonCode.BAD_ENUM
    assert [u.login for u in await list_users(database)] == ["jruiz"]


# ------------------------------------------------------- sign-in attacks


async def test_the_right_password_and_code_sign_in_as_the_person(database: Database) -> None:
    enrolment = await enrol(database)
    session_id = await sign_in(database, code_at(enrolment, T0), T0, login="JRuiz")
    signed_in = await resume_session(database, session_id, T0 + 1)
    assert signed_in is not None
    caller = signed_in.caller
    assert (caller.name, caller.role.value, caller.unit) == ("Julia Ruiz", "publisher", "Port unit")
    assert caller.user_id is not None
    (user,) = await list_users(database)
    assert user.last_sign_in_ms == T0


async def test_a_wrong_password_with_the_right_code_is_refused(database: Database) -> None:
    enrolment = await enrol(database)
    reason = await refused(database, code_at(enrolment, T0), T0, password=PASSWORD + "!")
    assert reason == ReasonCode.UNAUTHENTICATED


async def test_an_unknown_login_is_refused_like_a_wrong_password(database: Database) -> None:
    enrolment = await enrol(database)
    assert await refused(database, code_at(enrolment, T0), T0, login="nobody") == (
        ReasonCode.UNAUTHENTICATED
    )
    assert await refused(database, code_at(enrolment, T0), T0, login="<bad login>") == (
        ReasonCode.UNAUTHENTICATED
    )


async def test_a_wrong_or_stale_code_is_refused(database: Database) -> None:
    enrolment = await enrol(database)
    right = code_at(enrolment, T0)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    assert await refused(database, wrong, T0) == ReasonCode.UNAUTHENTICATED
    # The code of three steps ago (90 s) is outside the window.
    assert await refused(database, code_at(enrolment, T0 - 90_000), T0) == (
        ReasonCode.UNAUTHENTICATED
    )
    assert await refused(database, "", T0) == ReasonCode.UNAUTHENTICATED


async def test_a_used_code_cannot_sign_in_again_within_its_window(database: Database) -> None:
    enrolment = await enrol(database)
    code = code_at(enrolment, T0)
    await sign_in(database, code, T0)
    # The same code, still inside the window, by an onlooker 20 s later.
    assert await refused(database, code, T0 + 20_000) == ReasonCode.UNAUTHENTICATED
    # Nor an earlier step's code once a later one was used.
    assert await refused(database, code_at(enrolment, T0 - 30_000), T0 + 20_000) == (
        ReasonCode.UNAUTHENTICATED
    )
    # The next step's code is a new code.
    await sign_in(database, code_at(enrolment, T0 + 30_000), T0 + 30_000)


async def test_a_recovery_code_signs_in_once(database: Database) -> None:
    enrolment = await enrol(database)
    code = enrolment.recovery_codes[3]
    await sign_in(database, code.upper().replace("-", " "), T0)
    assert await refused(database, code, T0 + 1000) == ReasonCode.UNAUTHENTICATED
    # Another of the ten still works; a made-up one does not.
    await sign_in(database, enrolment.recovery_codes[4], T0 + 2000)
    assert await refused(database, "aaaa-bbbb-cccc-dddd", T0 + 3000) == (ReasonCode.UNAUTHENTICATED)


async def test_a_disabled_user_cannot_sign_in_and_their_sessions_end(
    database: Database,
) -> None:
    enrolment = await enrol(database)
    session_id = await sign_in(database, code_at(enrolment, T0), T0)
    await disable_user(database, "jruiz", T0 + 1000, actor="test")
    assert await resume_session(database, session_id, T0 + 2000) is None
    assert await refused(database, code_at(enrolment, T0 + 30_000), T0 + 30_000) == (
        ReasonCode.UNAUTHENTICATED
    )
    with pytest.raises(UsageError) as unknown:
        await disable_user(database, "nobody", T0, actor="test")
    assert unknown.value.reason == ReasonCode.NOT_FOUND


async def test_a_session_of_a_user_disabled_elsewhere_ends_at_its_next_request(
    database: Database,
) -> None:
    # Disabled by a statement that leaves the sessions in place (another process,
    # an older node): the session's own check still ends it.
    from sqlalchemy import Connection, text

    enrolment = await enrol(database)
    session_id = await sign_in(database, code_at(enrolment, T0), T0)

    def disable(connection: Connection) -> None:
        connection.execute(text("UPDATE users SET disabled = :yes"), {"yes": True})

    await database.run(disable, write=True)
    assert await resume_session(database, session_id, T0 + 1000) is None


async def test_repeated_failures_lock_the_account_even_for_the_right_secrets(
    database: Database,
) -> None:
    enrolment = await enrol(database)
    throttle = SignInThrottle()
    for n in range(MAX_FAILURES):
        reason = await refused(
            database, code_at(enrolment, T0), T0 + n, password="wrong guess!!", throttle=throttle
        )
        assert reason == ReasonCode.UNAUTHENTICATED
    # Locked: the right password and code from another address are refused too.
    now = T0 + 30_000
    reason = await refused(database, code_at(enrolment, now), now, address="10.9.9.9")
    assert reason == ReasonCode.SIGN_IN_THROTTLED
    # The lock is stored, not in this process's memory: a new throttle is no way round.
    later = T0 + LOCKOUT_MS + 60_000
    await sign_in(database, code_at(enrolment, later), later, address="10.9.9.9")


async def test_an_address_that_fails_often_is_throttled_whatever_login_it_tries(
    database: Database,
) -> None:
    enrolment = await enrol(database)
    throttle = SignInThrottle()
    for n in range(ADDRESS_FAILURES):
        await refused(database, "000000", T0 + n, login=f"guess{n}", throttle=throttle)
    reason = await refused(database, code_at(enrolment, T0), T0 + 100, throttle=throttle)
    assert reason == ReasonCode.SIGN_IN_THROTTLED


async def test_every_failure_and_success_is_logged_with_its_cause(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    enrolment = await enrol(database)
    caplog.set_level(logging.INFO, logger="baliza.node.services.person_sign_in")
    await refused(database, code_at(enrolment, T0), T0, password="not the password")
    code = code_at(enrolment, T0)
    await sign_in(database, code, T0 + 1)
    await refused(database, code, T0 + 2)
    causes = [getattr(r, "cause", None) for r in caplog.records]
    assert causes == ["wrong_password", None, "replayed_code"]
    assert all(getattr(r, "client", None) == "10.0.0.1" for r in caplog.records)
    assert all(getattr(r, "login", None) == "jruiz" for r in caplog.records)
    assert PASSWORD not in caplog.text and "not the password" not in caplog.text
    assert not any(r.exc_info for r in caplog.records)


async def test_a_reset_gives_new_secrets_and_ends_the_old_ones(database: Database) -> None:
    old = await enrol(database)
    session_id = await sign_in(database, code_at(old, T0), T0)
    await disable_user(database, "jruiz", T0 + 1, actor="test")
    new = await reset_user(database, "jruiz", password=None, now=T0 + 2)
    assert new.password is not None and new.totp_secret != old.totp_secret
    assert await resume_session(database, session_id, T0 + 3) is None
    now = T0 + 60_000
    # The old password, the old secret's code and an old recovery code all fail.
    assert await refused(database, code_at(new, now), now) == ReasonCode.UNAUTHENTICATED
    assert await refused(database, old.recovery_codes[0], now + 1, password=new.password) == (
        ReasonCode.UNAUTHENTICATED
    )
    if code_at(old, now) != code_at(new, now):
        assert await refused(database, code_at(old, now), now + 2, password=new.password) == (
            ReasonCode.UNAUTHENTICATED
        )
    await sign_in(database, code_at(new, now), now + 3, password=new.password)


def test_the_module_names_its_limits() -> None:
    assert accounts.MIN_PASSWORD_LEN == 12 and accounts.TOTP_WINDOW == 1
