"""Who is told what, and what an e-mail may say: the notification rules, as pure functions.

Rules of this file:

- A watch entry is a filter in the API's own query form (``watch_query``):
  an identifier becomes the filter of that name (a container watch is
  ``?container=…``), a saved filter is kept as typed, and ``all`` is the
  empty filter (every notice addressed to this agency). The notifier tests
  each notice with ``services.filters.live_test`` / ``live_matches``, the
  live stream's own test, so a watch matches exactly what the same query
  would list.
- Watches see notices the node *received*; what this agency sent is no news
  to it (``watched_by``). One notification per owner and notice, however
  many of their watches match (the first entry, by creation, is named).
- A hit tells the people who published the other notice here
  (``hit_owners``), and so does a partner's request to pass one of this
  agency's notices on (``permission_owners``); an alert tells, before its expected arrival, whoever
  published it or watches it (``due_soon``).
- E-mail (``mail_state``): nothing without an address and a mode; never for
  TLP:RED unless the node's policy allows it (``[smtp] red_summaries``).
  A mail says the notice's kind, place and handling, why it is sent and
  where to read it — never a field of its content (``mail_text``).
- Retries back off exponentially to a cap (``next_try``); the digest is due
  once per period (``digest_due``).

No clock, no database: every rule is tested directly
(tests/node/test_node_notify_rules.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlencode

from baliza.protocol.errors import ReasonCode, UsageError

# What a person may watch, and the API filter each one is.
WATCH_FILTERS: Final[Mapping[str, str]] = {
    "container": "container",
    "vessel": "vessel",
    "imo": "vessel",
    "flight": "flight",
    "awb": "awb",
    "company": "company",
    "person": "person",
    "document": "document",
}
SAVED_FILTER: Final = "filter"
EVERYTHING: Final = "all"
WATCH_KINDS: Final = (*WATCH_FILTERS, SAVED_FILTER, EVERYTHING)
MAX_WATCH_VALUE: Final = 500
MAX_WATCHES: Final = 200  # per owner: each one is tested against every new notice

MODES: Final = ("off", "immediate", "digest")
DIGEST_MIN_MS: Final = 15 * 60 * 1000
DIGEST_MAX_MS: Final = 7 * 24 * 3_600_000
DUE_SOON_MS: Final = 2 * 3_600_000  # an open alert this close to its expected arrival

# Why a notification was raised, as the e-mail and the console say it.
CAUSE_TEXT: Final[Mapping[str, str]] = {
    "watch": "matches your watch list",
    "hit": "names something a notice you published names (a hit)",
    "overdue": "alert expected soon and not answered yet",
    "permission": "a share request waits for a decision",
}
KIND_TEXT: Final[Mapping[str, str]] = {
    "notice.seizure": "seizure notice",
    "notice.alert": "pre-arrival alert",
    "notice.outcome": "alert outcome",
    "notice.case": "case notice",
    "notice.correction": "correction",
    "notice.retraction": "retraction",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Facts:
    """What a notification (and its e-mail) may say of a notice: no content, only its envelope."""

    cause: str
    subject: str
    kind: str
    location: str | None
    tlp: str


def watch_query(what: str, value: str) -> str:
    """The API query string a watch entry stands for; ``UsageError`` naming the field if unusable.

    The query is checked again by ``parse_filters`` before it is stored (the
    identifier's own format, the filter names), so this only says which filter.
    """
    kind = what.strip().lower()
    text = value.strip()
    if kind not in WATCH_KINDS:
        raise UsageError(
            ReasonCode.BAD_ENUM, f"must be one of: {', '.join(WATCH_KINDS)}", path="what"
        )
    if len(text) > MAX_WATCH_VALUE:
        raise UsageError(
            ReasonCode.TOO_LARGE, f"at most {MAX_WATCH_VALUE} characters", path="value"
        )
    if kind == EVERYTHING:
        return ""
    if not text:
        raise UsageError(ReasonCode.MISSING_FIELD, "says nothing to watch", path="value")
    if kind == SAVED_FILTER:
        return text.removeprefix("?")
    return urlencode({WATCH_FILTERS[kind]: text})


def watched_by(
    item: Mapping[str, object],
    watches: Iterable[tuple[str, str]],
    passes: Callable[[str], bool],
) -> dict[str, str]:
    """The owners a received notice must tell, each with the watch entry that matched.

    ``item`` is the notice as the API lists it; ``watches`` are (owner,
    watch id) in creation order; ``passes(watch id)`` is the watch's filter
    test. A notice this agency sent tells no one.
    """
    if item.get("direction") != "in":
        return {}
    told: dict[str, str] = {}
    for owner, watch_id in watches:
        if owner not in told and passes(watch_id):
            told[owner] = watch_id
    return told


def hit_owners(
    hit_senders: Iterable[tuple[str, str]],
    here: str,
    publishers: Mapping[str, Sequence[str]],
) -> set[str]:
    """Who to tell of hits: the people who published, here, one of the other notices.

    ``hit_senders`` are (envelope id, sender) of the notices the new one
    hits; ``publishers`` maps an envelope id to its publishers' owners.
    """
    owners: set[str] = set()
    for envelope_id, sender in hit_senders:
        if sender == here:
            owners.update(publishers.get(envelope_id, ()))
    return owners


def permission_owners(publishers: Sequence[str]) -> list[str]:
    """Who decides a partner's request to pass on a notice: whoever published it here."""
    return sorted(set(publishers))


def due_soon(expected_ms: int, now: int, answered: bool) -> bool:
    """Whether an alert is about to fall overdue: unanswered, expected within ``DUE_SOON_MS``."""
    return not answered and now <= expected_ms <= now + DUE_SOON_MS


def may_mail(tlp: str, red_summaries: bool) -> bool:
    """Whether a summary of a notice with this TLP may leave by e-mail.

    A relay is outside the federation's encryption: TLP:RED stays with its
    named recipients unless the agency's policy (``[smtp] red_summaries``)
    says its own mail system may carry even a summary of it.
    """
    return tlp != "red" or red_summaries


def mail_state(email: str | None, mode: str, tlp: str, red_summaries: bool) -> str:
    """A new notification's e-mail: ``none``, ``queued`` (now) or ``pending`` (digest)."""
    if not email or mode not in ("immediate", "digest") or not may_mail(tlp, red_summaries):
        return "none"
    return "queued" if mode == "immediate" else "pending"


def digest_due(last_digest_ms: int, digest_ms: int, now: int) -> bool:
    """Whether a digest period has passed since the last digest."""
    return now >= last_digest_ms + digest_ms


def next_try(attempts: int, now: int, base_ms: int = 30_000, cap_ms: int = 3_600_000) -> int:
    """When to retry a mail after ``attempts`` failures: doubling from ``base_ms`` to ``cap_ms``."""
    doublings: int = min(max(attempts - 1, 0), 20)
    return now + min(cap_ms, base_ms * (1 << doublings))


def summary_line(facts: Facts, console_url: str) -> str:
    """One notification as an e-mail says it: kind, place, handling, why, where to read it."""
    kind = KIND_TEXT.get(facts.kind, facts.kind)
    place = facts.location or "no place given"
    why = CAUSE_TEXT.get(facts.cause, facts.cause)
    link = f"{console_url.rstrip('/')}/console/notices/{facts.subject}"
    if facts.cause == "permission":
        link = f"{console_url.rstrip('/')}/console/shares"
    return f"- {kind}, {place}, TLP:{facts.tlp.upper()}: {why}.\n  {link}"


def mail_text(agency_name: str, facts: Sequence[Facts], console_url: str) -> tuple[str, str]:
    """The subject and plain-text body of one e-mail about ``facts`` (one, or a digest).

    Says only each notice's kind, place and handling: the content stays on
    the node, behind its sign-in.
    """
    count = len(facts)
    noun = "notification" if count == 1 else "notifications"
    subject = f"[Baliza {agency_name}] {count} new {noun}"
    lines = [
        f"Baliza at {agency_name} has {count} new {noun} for you.",
        "Sign in to the console to read them; this e-mail carries no notice content.",
        "",
        *(summary_line(f, console_url) for f in facts),
        "",
        "You receive this because you asked for e-mail on the Watching page.",
    ]
    return subject, "\n".join(lines) + "\n"
