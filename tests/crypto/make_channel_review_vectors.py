"""Write protocol/vectors/channel-review.json: what a channel proposal changes, its fingerprint.

Run ``.venv/bin/python tests/crypto/make_channel_review_vectors.py`` from the
repository root. Each case is a membership in force (or none) and a
proposal, as canonical bytes (hex), with the fingerprint an owner reads to
the others, the changes a node shows before signing (docs/spec/06-channels.md
§6), and, per agency, the changes that agency must name to sign it. Nothing
is random: ``test_crypto_channel_review.py`` checks the file reproduces.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from baliza.crypto.channel_review import membership_changes, membership_fingerprint
from baliza.protocol.channels import ChannelKind, Membership, founding_digest
from baliza.protocol.ids import AgencyId, ChannelId
from baliza.protocol.notices.common import Programme

OUT = Path(__file__).resolve().parents[2] / "protocol" / "vectors" / "channel-review.json"
CTG, ALG, MAD = AgencyId("co.polfa.ctg"), AgencyId("es.aduanas.alg"), AgencyId("es.gc.mad")
ISSUED = 1_790_000_000_000
DAY = 24 * 3600 * 1000


def jit(version: int, owners: tuple[AgencyId, ...], threshold: int, *more: AgencyId) -> Membership:
    """A JIT version; owners are members, lists sorted as the wire wants them.

    Every version after the first carries the founding of ``FOUNDED``.
    """
    return Membership(
        channel=ChannelId("jit.co-es-2026-07"),
        kind=ChannelKind.JIT,
        name="JIT Colombia-Spain 2026/07",
        programme=Programme.JIT,
        owners=tuple(sorted(owners)),
        threshold=threshold,
        members=tuple(sorted({*owners, *more})),
        version=version,
        issued_ms=ISSUED + version * DAY,
        expires_ms=ISSUED + (version + 180) * DAY,
        founding=None if version == 1 else FOUNDING,
    )


FOUNDING: bytes | None = None
FOUNDING = founding_digest(jit(1, (CTG, ALG), 2, MAD).to_bytes())


CASES: list[tuple[str, Membership | None, Membership]] = [
    ("founding", None, jit(1, (CTG, ALG), 2, MAD)),
    ("removal", jit(1, (CTG, ALG), 2, MAD), jit(2, (CTG, ALG), 2)),
    # Issue 17: one owner makes itself sole owner and re-admits the removed member.
    ("takeover", jit(2, (CTG, ALG), 2), jit(3, (CTG,), 1, ALG, MAD)),
    ("raised", jit(3, (CTG,), 1, ALG), jit(4, (CTG, ALG), 2)),
]


def deterministic() -> dict[str, Any]:
    """The whole file's content."""
    from baliza.node.services.rules.channel_signing import changes_to_name

    cases = []
    for name, old, new in CASES:
        changes = membership_changes(old, new)
        cases.append(
            {
                "name": name,
                "in_force": old.to_bytes().hex() if old else None,
                "proposal": new.to_bytes().hex(),
                "fingerprint": membership_fingerprint(new.to_bytes()),
                "changes": changes.to_json(),
                "must_name": {
                    a: sorted(n.value for n in changes_to_name(changes, a)) for a in (CTG, ALG, MAD)
                },
            }
        )
    return {
        "description": "Channel proposals reviewed against the version in force "
        "(docs/spec/06-channels.md §6). `signing`: an owner's node asked to sign the "
        "proposal of `case` for `signer`, with the fingerprint `confirm` typed (null: none) "
        "and the changes named in `accept`; `ok` or the reason code and path.",
        "cases": cases,
        "signing": signing_decisions(),
    }


# (case, signer, confirm: "own" the case's fingerprint, "other" another case's, or None, accept)
SIGNING: list[tuple[str, AgencyId, str | None, list[str]]] = [
    ("removal", CTG, "own", []),
    ("removal", CTG, None, []),
    ("removal", CTG, "other", []),
    ("takeover", CTG, "own", []),
    ("takeover", ALG, "own", []),
    ("takeover", ALG, "own", ["leave_owners"]),
    ("takeover", ALG, "own", ["leave_owners", "lower_threshold"]),
    ("raised", CTG, "own", []),
]


def signing_decisions() -> list[dict[str, Any]]:
    """What ``check_signing`` answers for each entry of ``SIGNING``."""
    from baliza.node.services.rules.channel_signing import NamedChange, check_signing
    from baliza.protocol.errors import BalizaError

    by_name = {name: (old, new) for name, old, new in CASES}
    out = []
    for case, signer, confirm, accept in SIGNING:
        old, new = by_name[case]
        fingerprint = membership_fingerprint(new.to_bytes())
        other = membership_fingerprint(by_name["founding"][1].to_bytes())
        typed = {"own": fingerprint, "other": other, None: None}[confirm]
        try:
            check_signing(
                membership_changes(old, new),
                fingerprint,
                signer,
                confirm=typed,
                accept=[NamedChange(a) for a in accept],
            )
            outcome = {"expect": "ok", "path": ""}
        except BalizaError as err:
            outcome = {"expect": err.reason.value, "path": err.path}
        out.append({"case": case, "signer": signer, "confirm": typed, "accept": accept, **outcome})
    return out


if __name__ == "__main__":
    OUT.write_text(json.dumps(deterministic(), indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(f"wrote {OUT}")
