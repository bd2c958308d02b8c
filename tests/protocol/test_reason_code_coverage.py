"""Every reason code of chapter 09 is produced by at least one vector in protocol/vectors/.

An implementation written from docs/ and the vectors alone must be able to
check every refusal it makes against ours. So each code listed in
docs/spec/09-reason-codes.md (which must equal ``ReasonCode``) needs a vector
whose expected outcome is that code: a file's ``expect``, ``reason`` or
``verdict`` field. A code that no pure vector can produce, because only a
running node's local state, clock or transport makes it, is listed in
``NOT_BY_VECTOR`` with the reason and the node test that produces it; that
list may only shrink: a listed code that a vector does produce fails too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from baliza.protocol.errors import ReasonCode

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "protocol" / "vectors"
CHAPTER_09 = ROOT / "docs" / "spec" / "09-reason-codes.md"
SPEC = ROOT / "docs" / "SPEC.md"
# Fields whose value is the outcome a vector expects.
OUTCOME_FIELDS = frozenset({"expect", "reason", "verdict"})

# code -> (why no pure vector can produce it, "tests/…/file.py::test that does")
NOT_BY_VECTOR: dict[str, tuple[str, str]] = {
    "replay": (
        "reserved, never raised: an envelope received twice is answered `duplicate`, "
        "an id reused with other bytes `conflict` (09); the test shows the `duplicate`",
        "tests/node/test_node_inbox_attacks.py::test_valid_envelope_is_accepted_once_then_duplicate",
    ),
    "bad_config": (
        "a node's own configuration file, read at start",
        "tests/node/test_node_cli.py::test_errors_are_one_line_with_a_reason",
    ),
    "storage_failed": (
        "the node's database failing",
        "tests/node/test_storage.py::test_ping_and_unreachable_database",
    ),
    "node_unreachable": (
        "the CLI failing to reach its own node's local API",
        "tests/node/test_node_cli_local.py::test_baliza_url_names_the_node",
    ),
    "peer_unreachable": (
        "a peer that does not answer: transport, not bytes",
        "tests/node/test_node_attachment_transport.py::"
        "test_a_sender_that_is_down_is_named_and_nothing_is_kept",
    ),
    "peer_refused": (
        "what this node reports when a peer refuses it or answers short; the peer's own "
        "refusal has its own code and vectors",
        "tests/node/test_node_attachment_transport.py::"
        "test_content_that_is_not_what_the_notice_signed_is_refused_and_not_kept",
    ),
    "busy": (
        "admission: how many requests one caller made lately (HTTP 429)",
        "tests/node/test_node_hardening_connections.py::"
        "test_a_members_flood_of_bad_envelopes_is_refused_cheaply_and_others_go_through",
    ),
    "timeout": (
        "a request body that does not arrive in time (HTTP 408): a clock on a socket",
        "tests/node/test_node_hardening_connections.py::"
        "test_a_body_that_never_ends_gets_a_timeout_answer",
    ),
    "sign_in_throttled": (
        "console sign-in failures counted per token and address over time: local, not protocol",
        "tests/node/test_node_sign_in_throttle.py::"
        "test_a_lock_out_ends_and_old_failures_are_forgotten",
    ),
    "weak_password": (
        "a person's console password checked against the node's local policy: not protocol",
        "tests/node/test_node_accounts.py::test_a_short_password_or_the_login_name_is_refused",
    ),
    "sign_count_backwards": (
        "a security key's counter compared with the one this node stored: local, not protocol",
        "tests/node/test_node_security_keys.py::test_a_counter_that_goes_backwards_is_refused",
    ),
    "permission_refused": (
        "the state of a share request after the originator's officer refused it; the signed "
        "refusal itself is a vector (`subscriptions.json`, a PermissionDecision `refused`)",
        "tests/node/test_node_handling.py::test_a_refused_permission_sends_nothing_and_says_why",
    ),
}


def chapter_09_codes() -> list[str]:
    """The codes of chapter 09's tables, in order: first cell of each row, in backquotes."""
    text = CHAPTER_09.read_text(encoding="utf-8")
    return re.findall(r"^\| `([a-z_]+)` \|", text, re.MULTILINE)


def _outcomes(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in OUTCOME_FIELDS and isinstance(item, str):
                yield item
            yield from _outcomes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _outcomes(item)


def produced_by_vectors() -> dict[str, list[str]]:
    """Each reason code some vector expects, with the files that do."""
    codes = {c.value for c in ReasonCode}
    found: dict[str, list[str]] = {}
    for path in sorted(VECTORS.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for outcome in set(_outcomes(data)) & codes:
            found.setdefault(outcome, []).append(path.name)
    return found


def test_chapter_09_lists_every_code_once_and_nothing_else() -> None:
    listed = chapter_09_codes()
    assert len(listed) == len(set(listed)), "a code listed twice in chapter 09"
    assert set(listed) == {c.value for c in ReasonCode}


def test_every_code_has_a_vector_or_a_reason_why_it_cannot() -> None:
    produced = produced_by_vectors()
    missing = [c for c in chapter_09_codes() if c not in produced and c not in NOT_BY_VECTOR]
    assert missing == [], f"reason codes without a vector: {missing}"


def test_the_list_without_vectors_stays_honest() -> None:
    produced = produced_by_vectors()
    now_covered = sorted(set(NOT_BY_VECTOR) & set(produced))
    assert now_covered == [], f"these have vectors now; take them off NOT_BY_VECTOR: {now_covered}"
    assert set(NOT_BY_VECTOR) <= set(chapter_09_codes())
    for code, (why, where) in NOT_BY_VECTOR.items():
        assert why, code
        file, _, test = where.partition("::")
        source = (ROOT / file).read_text(encoding="utf-8")
        assert re.search(rf"def {re.escape(test)}\(", source), f"{code}: no {where}"


def test_spec_names_every_vector_file_and_every_generator() -> None:
    text = SPEC.read_text(encoding="utf-8")
    for path in sorted(VECTORS.glob("*.json")):
        assert f"`protocol/vectors/{path.name}`" in text, f"SPEC.md omits {path.name}"
    generators = sorted(p.relative_to(ROOT) for p in (ROOT / "tests").rglob("make_*vectors.py"))
    assert generators, "no generator found"
    regenerate = text[text.index("Regenerate") :]
    for generator in generators:
        assert f"`{generator.as_posix()}`" in regenerate, f"SPEC.md Regenerate omits {generator}"
