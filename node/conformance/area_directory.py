"""Directory updates, rollbacks and revocations (chapter 04 §4–5, chapter 05 §4).

The suite is the federation's only administrator (threshold 1), so it can
sign what a genuine administrator would, and what an attacker would: a
replayed old version, a fork, a document of another federation, one signed
by a member's node key, an expired one, one that quietly withdraws a
revocation. The first update revokes member R's key; from then on R's
requests must be refused ``key_revoked``.
"""

from __future__ import annotations

import dataclasses

from baliza.crypto.directory import signers
from baliza.node.conformance.checks import Run, check
from baliza.node.conformance.kit import ROLES
from baliza.node.conformance.verdict import Failed
from baliza.node.core.clock import now_ms
from baliza.protocol.canonical import decode, encode
from baliza.protocol.directory import (
    Directory,
    Member,
    PublicKeysWire,
    RevocationReason,
    SignedDirectory,
)
from baliza.protocol.federation import decode_directory_chain

PATH = "/fed/v1/directory"
SECTION = "04 §4"


async def _served(run: Run) -> bytes:
    answer = await run.target.call(run.kit["a"], "GET", PATH)
    return answer.expect_msgpack(f"GET {PATH}")


def _revoke_r(directory: Directory, at_ms: int) -> Directory:
    """``directory`` with member R's key revoked at ``at_ms`` (kept if already revoked)."""
    members: list[Member] = []
    for member in directory.members:
        if member.agency == ROLES["r"]:
            records = tuple(
                k
                if k.revoked_ms is not None
                else dataclasses.replace(
                    k, revoked_ms=at_ms, revocation_reason=RevocationReason.KEY_COMPROMISE
                )
                for k in member.keys
            )
            member = dataclasses.replace(member, keys=records)
        members.append(member)
    return dataclasses.replace(directory, members=tuple(members))


async def _updated(run: Run) -> tuple[bytes, bytes]:
    """(the version the target held, the next one it applied), pushing the update once per run."""
    known = run.facts.get("directory")
    if isinstance(known, tuple):
        return known
    before = await _served(run)
    current = SignedDirectory.from_bytes(before).directory
    nxt = run.kit.sign(_revoke_r(run.kit.next_directory(current), now_ms()))
    answer = await run.target.call(run.kit["a"], "POST", PATH, nxt)
    got = answer.expect_ok(f"POST {PATH}").json()
    if got != {"applied": True, "version": current.version + 1}:
        raise Failed(f"expected applied version {current.version + 1}, got {got}")
    run.facts["directory"] = (before, nxt)
    return before, nxt


async def _post_refused(run: Run, signed: bytes, reason: str, status: int) -> None:
    answer = await run.target.call(run.kit["a"], "POST", PATH, signed)
    answer.expect_refusal(reason, status)


@check("directory", "served", "05 §4", "GET serves the directory in force, as signed")
async def served(run: Run) -> None:
    document = SignedDirectory.from_bytes(await _served(run))
    if document.directory.federation != run.kit.federation:
        raise Failed(f"the target serves federation {document.directory.federation}")
    admin = run.kit.public("admin")
    if signers(document.to_bytes(), [admin]) != (admin,):
        raise Failed("the directory served does not carry the administrator's signature")


@check("directory", "update-applied", SECTION, "a newer version signed by the threshold applies")
async def update_applied(run: Run) -> None:
    _, nxt = await _updated(run)
    if await _served(run) != nxt:
        raise Failed("after the update, GET does not serve the exact bytes applied")


@check("directory", "same-again", "05 §4", "the version in force again: applied false")
async def same_again(run: Run) -> None:
    _, nxt = await _updated(run)
    answer = await run.target.call(run.kit["a"], "POST", PATH, nxt)
    got = answer.expect_ok(f"POST {PATH}").json()
    version = SignedDirectory.from_bytes(nxt).directory.version
    if got != {"applied": False, "version": version}:
        raise Failed(f"expected applied false at version {version}, got {got}")


@check("directory", "rollback", SECTION, "an older version: 403 directory_rollback")
async def rollback(run: Run) -> None:
    before, _ = await _updated(run)
    await _post_refused(run, before, "directory_rollback", 403)


@check("directory", "fork", SECTION, "the same version, other content: 403 directory_mismatch")
async def fork(run: Run) -> None:
    _, nxt = await _updated(run)
    held = SignedDirectory.from_bytes(nxt).directory
    other = run.kit.sign(dataclasses.replace(held, expires_ms=held.expires_ms - 60_000))
    await _post_refused(run, other, "directory_mismatch", 403)


@check("directory", "other-federation", SECTION, "another federation's: 403 directory_mismatch")
async def other_federation(run: Run) -> None:
    _, nxt = await _updated(run)
    held = SignedDirectory.from_bytes(nxt).directory
    other = run.kit.next_directory(held, federation=f"{run.kit.federation}-other")
    await _post_refused(run, run.kit.sign(other), "directory_mismatch", 403)


@check("directory", "not-an-administrator", SECTION, "signed by a member: not_an_administrator")
async def not_an_administrator(run: Run) -> None:
    _, nxt = await _updated(run)
    held = SignedDirectory.from_bytes(nxt).directory
    forged = run.kit.sign(run.kit.next_directory(held), by="a")
    await _post_refused(run, forged, "not_an_administrator", 403)


@check("directory", "expired", SECTION, "a newer version already expired: directory_expired")
async def expired(run: Run) -> None:
    _, nxt = await _updated(run)
    held = SignedDirectory.from_bytes(nxt).directory
    now = now_ms()
    old = run.kit.next_directory(held, issued_ms=now - 120_000, expires_ms=now - 60_000)
    await _post_refused(run, run.kit.sign(old), "directory_expired", 403)


@check("directory", "revocation-withdrawn", SECTION, "a revocation undone: revocation_withdrawn")
async def revocation_withdrawn(run: Run) -> None:
    _, nxt = await _updated(run)
    held = SignedDirectory.from_bytes(nxt).directory
    members = tuple(
        dataclasses.replace(
            m,
            keys=tuple(
                dataclasses.replace(k, revoked_ms=None, revocation_reason=None) for k in m.keys
            ),
        )
        if m.agency == ROLES["r"]
        else m
        for m in held.members
    )
    undone = run.kit.next_directory(held, members=members)
    await _post_refused(run, run.kit.sign(undone), "revocation_withdrawn", 403)


@check(
    "directory",
    "new-administrators-consent",
    SECTION,
    "a second administrator added without its signature: directory_threshold",
)
async def new_administrators_consent(run: Run) -> None:
    _, nxt = await _updated(run)
    held = SignedDirectory.from_bytes(nxt).directory
    # B's keys stand in for a new administrator (threshold 2 of 2): only the old one signs.
    admins = sorted(
        [*held.administrators, PublicKeysWire(data=run.kit.public("b").to_bytes())],
        key=lambda w: w.data,
    )
    grown = run.kit.next_directory(held, administrators=tuple(admins), threshold=2)
    await _post_refused(run, run.kit.sign(grown), "directory_threshold", 403)


@check("directory", "unknown-field", "04 §1", "a signed directory with an extra field: 422")
async def unknown_field(run: Run) -> None:
    _, nxt = await _updated(run)
    fields = decode(nxt)
    assert isinstance(fields, dict)
    fields["comment"] = "unsigned"
    await _post_refused(run, encode(fields), "unknown_field", 422)


@check("directory", "unknown-version", "04 §1", "a signed directory of version 2: unknown_version")
async def unknown_version(run: Run) -> None:
    _, nxt = await _updated(run)
    fields = decode(nxt)
    assert isinstance(fields, dict)
    fields["v"] = 2
    await _post_refused(run, encode(fields), "unknown_version", 422)


@check("directory", "revoked-key", "04 §5", "a request by the revoked key: 403 key_revoked")
async def revoked_key(run: Run) -> None:
    await _updated(run)
    answer = await run.target.call(run.kit["r"], "GET", PATH)
    answer.expect_refusal("key_revoked", 403)


@check("directory", "chain-bad-since", "05 §4", "GET ?since=abc: 422 bad_format")
async def chain_bad_since(run: Run) -> None:
    answer = await run.target.call(run.kit["a"], "GET", f"{PATH}?since=abc")
    answer.expect_refusal("bad_format", 422)


@check("directory", "chain", "05 §4", "GET ?since=N serves the versions after N, oldest first")
async def chain(run: Run) -> None:
    before, nxt = await _updated(run)
    version = SignedDirectory.from_bytes(before).directory.version
    path = f"{PATH}?since={version}"
    answer = await run.target.call(run.kit["a"], "GET", path)
    versions = decode_directory_chain(answer.expect_msgpack(f"GET {path}"))
    if versions != [nxt]:
        raise Failed(f"expected exactly the version applied after {version}, got {len(versions)}")
