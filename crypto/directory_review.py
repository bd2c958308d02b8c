"""What changes between two directory versions, in lines an administrator reads before signing.

An administrator signs bytes they cannot read; this is what they read
instead. Keys are named by agency and fingerprint (the string people compare
over the phone) and matched across versions by fingerprint, so renewing a
key's validity shows as a changed period, not as a removed and an added key.
Lines that widen or alarm (a new administrator, a revocation) say so plainly.
Times are printed in UTC without reading a clock or importing ``datetime``:
crypto/ stays pure.
"""

from __future__ import annotations

from baliza.crypto.keys import PublicKeys
from baliza.protocol.directory import Directory, KeyRecord, Member, PublicKeysWire


def diff(old: Directory, new: Directory) -> list[str]:
    """Human-readable lines, one per change from ``old`` to ``new``; empty when equal.

    Covers the federation, version, expiry, threshold, administrators added
    and removed, members added, removed and edited, and keys added, rotated,
    re-dated, revoked and removed. Raises ``InputError`` if a key set does not
    parse (``propose`` and ``TrustedDirectory`` refuse such documents anyway).
    """
    lines: list[str] = []
    if old.federation != new.federation:
        lines.append(f"FEDERATION CHANGED: {old.federation} → {new.federation}")
    if old.version != new.version:
        lines.append(f"version {old.version} → {new.version}")
    if old.expires_ms != new.expires_ms:
        lines.append(f"expires {utc(old.expires_ms)} → {utc(new.expires_ms)}")
    if old.threshold != new.threshold:
        lines.append(f"threshold {old.threshold} → {new.threshold} administrator signatures")
    lines += _administrators(old.administrators, new.administrators)
    old_members = {m.agency: m for m in old.members}
    new_members = {m.agency: m for m in new.members}
    for agency in sorted(old_members.keys() | new_members.keys()):
        before, after = old_members.get(agency), new_members.get(agency)
        if before is None and after is not None:
            lines.append(
                f"member added: {agency} ({after.name}, {after.country}) at {after.node_url}"
            )
            lines += [f"key added: {agency} {_describe(r)}" for r in after.keys]
        elif after is None and before is not None:
            lines.append(f"member removed: {agency} ({before.name})")
        elif before is not None and after is not None:
            lines += _member(before, after)
    return lines


def utc(time_ms: int) -> str:
    """``time_ms`` (Unix milliseconds) as ``YYYY-MM-DDTHH:MM:SSZ``.

    Days to civil date after H. Hinnant's ``civil_from_days``, valid for
    every time a directory can hold.
    """
    days, seconds = divmod(time_ms // 1000, 86_400)
    hour, rest = divmod(seconds, 3600)
    minute, second = divmod(rest, 60)
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}Z"


def _administrators(old: tuple[PublicKeysWire, ...], new: tuple[PublicKeysWire, ...]) -> list[str]:
    before = {_fingerprint(w): _keys(w) for w in old}
    after = {_fingerprint(w): _keys(w) for w in new}
    lines = [
        f"ADMINISTRATOR ADDED: {after[f].agency} {f}" for f in sorted(after.keys() - before.keys())
    ]
    lines += [
        f"administrator removed: {before[f].agency} {f}"
        for f in sorted(before.keys() - after.keys())
    ]
    return lines


def _member(before: Member, after: Member) -> list[str]:
    agency = after.agency
    lines: list[str] = []
    for name in ("name", "country", "node_url"):
        was, now = getattr(before, name), getattr(after, name)
        if was != now:
            lines.append(f"member {agency}: {name} {was!r} → {now!r}")
    if before.programmes != after.programmes:
        was_p = ", ".join(p.value for p in before.programmes) or "none"
        now_p = ", ".join(p.value for p in after.programmes) or "none"
        lines.append(f"member {agency}: programmes {was_p} → {now_p}")
    old_keys = {_fingerprint(r.keys): r for r in before.keys}
    new_keys = {_fingerprint(r.keys): r for r in after.keys}
    kept = old_keys.keys() & new_keys.keys()
    for fpr in sorted(new_keys.keys() - old_keys.keys()):
        record = new_keys[fpr]
        if kept:
            previous = ", ".join(
                f"{f} until {utc(new_keys[f].valid_until_ms)}" for f in sorted(kept)
            )
            lines.append(f"key rotated: {agency} new {_describe(record)}; still listed: {previous}")
        else:
            lines.append(f"key added: {agency} {_describe(record)}")
    for fpr in sorted(old_keys.keys() - new_keys.keys()):
        lines.append(f"key removed: {agency} {fpr}")
    for fpr in sorted(kept):
        lines += _key_change(agency, fpr, old_keys[fpr], new_keys[fpr])
    return lines


def _key_change(agency: str, fpr: str, was: KeyRecord, now: KeyRecord) -> list[str]:
    lines: list[str] = []
    if (was.valid_from_ms, was.valid_until_ms) != (now.valid_from_ms, now.valid_until_ms):
        lines.append(f"key validity changed: {agency} {fpr} {_period(was)} → {_period(now)}")
    if was.revoked_ms != now.revoked_ms or was.revocation_reason != now.revocation_reason:
        if now.revoked_ms is None:
            lines.append(f"KEY REVOCATION WITHDRAWN: {agency} {fpr} (nodes refuse this)")
        else:
            reason = now.revocation_reason.value if now.revocation_reason else "no reason given"
            lines.append(f"KEY REVOKED: {agency} {fpr} from {utc(now.revoked_ms)} ({reason})")
    return lines


def _describe(record: KeyRecord) -> str:
    text = f"{_fingerprint(record.keys)} ({_keys(record.keys).suite.value}) {_period(record)}"
    if record.revoked_ms is not None:
        text += f", REVOKED from {utc(record.revoked_ms)}"
    return text


def _period(record: KeyRecord) -> str:
    return f"valid {utc(record.valid_from_ms)} – {utc(record.valid_until_ms)}"


def _keys(wire: PublicKeysWire) -> PublicKeys:
    return PublicKeys.from_wire(wire.to_wire())


def _fingerprint(wire: PublicKeysWire) -> str:
    return _keys(wire).fingerprint()
