"""The live follower's cursor (services/live.py), one table of scenarios, no node.

Each scenario feeds the cursor a sequence of inputs (start, a stored page,
an announcement, a database verdict) and states what each must answer: the
action and the events it carries, written ``n7`` for the notice event of
seq 7 and ``h7`` for a hit event of seq 7.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from baliza.node.services.live import (
    Action,
    Decide,
    Event,
    LiveCursor,
    ReadStored,
    Send,
    Skip,
)
from baliza.node.storage.notices import Direction, StoredNotice
from baliza.protocol.errors import UsageError


@dataclass(frozen=True)
class Start:
    pass


@dataclass(frozen=True)
class Page:
    seqs: tuple[int, ...]


@dataclass(frozen=True)
class Announce:
    seq: int
    hits: int = 0


@dataclass(frozen=True)
class Verdict:
    passes: bool


Step = tuple[Start | Page | Announce | Verdict, str]


def row(seq: int) -> StoredNotice:
    return StoredNotice(
        seq=seq,
        envelope_id=f"e{seq}",
        direction=Direction.IN,
        kind="notice.seizure",
        sender="co.polfa.ctg",
        recipients=(),
        created_ms=seq,
        stored_ms=seq,
        programme="ccp",
        tlp="amber",
        location=None,
        summary=f"notice {seq}",
        notice_json="{}",
        supersedes=None,
        refs=(),
    )


def item(seq: int, hits: int = 0) -> dict[str, Any]:
    hit = {"id": "other", "sender": "es.aduana.alg", "summary": "s", "ref": ["vessel", "IMO1"]}
    return {"id": f"e{seq}", "seq": seq, "kind": "notice.seizure", "hits": [hit] * hits}


def events(found: tuple[Event, ...]) -> str:
    return " ".join(f"{'n' if e.name == 'notice' else 'h'}{e.data['seq']}" for e in found)


def describe(action: Action) -> str:
    """``read 5: n3 n4``, ``send n7 h7``, ``skip``, ``decide 8``."""
    if isinstance(action, ReadStored):
        return f"read {action.after}" + (f": {events(action.events)}" if action.events else "")
    if isinstance(action, Send):
        return f"send {events(action.events)}".rstrip()
    if isinstance(action, Decide):
        return f"decide {action.item['seq']}"
    assert isinstance(action, Skip)
    return "skip"


def odd(announced: Mapping[str, Any]) -> bool:
    return int(announced["seq"]) % 2 == 1


def everything(_announced: Mapping[str, Any]) -> bool:
    return True


@dataclass(frozen=True)
class Scenario:
    name: str
    cursor: int
    test: Callable[[Mapping[str, Any]], bool] | None
    steps: tuple[Step, ...]
    final_cursor: int
    page: int = 3


SCENARIOS = (
    Scenario(
        "resume after Last-Event-ID: replay in pages, then live",
        5,
        everything,
        (
            (Start(), "read 5"),
            (Page((6, 7, 8)), "read 8: n6 n7 n8"),
            (Page((9,)), "send n9"),
            (Announce(10, hits=2), "send n10 h10 h10"),
        ),
        10,
    ),
    Scenario(
        "an empty replay sends nothing",
        0,
        everything,
        ((Start(), "read 0"), (Page(()), "send")),
        0,
    ),
    Scenario(
        "a duplicate announcement, or one the replay already sent, is skipped",
        0,
        everything,
        (
            (Start(), "read 0"),
            (Page((1, 2)), "send n1 n2"),
            (Announce(2, hits=1), "skip"),
            (Announce(3), "send n3"),
            (Announce(3), "skip"),
        ),
        3,
    ),
    Scenario(
        "a gap (11 before 10): storage says what, in order; then 11's hits; 10 comes once",
        9,
        everything,
        (
            (Start(), "read 9"),
            (Page(()), "send"),
            (Announce(11, hits=1), "read 9"),
            (Page((10, 11)), "send n10 n11 h11"),
            (Announce(10), "skip"),
            (Announce(12), "send n12"),
        ),
        12,
    ),
    Scenario(
        "a gap whose announced notice the filter leaves out moves the cursor past it",
        0,
        odd,
        (
            (Start(), "read 0"),
            (Page(()), "send"),
            (Announce(4, hits=1), "read 0"),
            (Page((1, 3)), "send n1 n3"),
            (Announce(5), "send n5"),
        ),
        5,
    ),
    Scenario(
        "a late commit (a lower number after a higher) is sent as it comes, if it passes",
        0,
        odd,
        (
            (Start(), "read 0"),
            (Page((1, 5)), "send n1 n5"),
            (Announce(3, hits=1), "send n3 h3"),
            (Announce(2), "skip"),
            (Announce(3), "skip"),
        ),
        5,
    ),
    Scenario(
        "the filter decides in Python: the cursor moves past what it leaves out",
        0,
        odd,
        (
            (Start(), "read 0"),
            (Page(()), "send"),
            (Announce(1, hits=1), "send n1 h1"),
            (Announce(2, hits=1), "skip"),
            (Announce(3), "send n3"),
        ),
        3,
    ),
    Scenario(
        "full text: the database decides",
        0,
        None,
        (
            (Start(), "read 0"),
            (Page(()), "send"),
            (Announce(1, hits=1), "decide 1"),
            (Verdict(True), "send n1 h1"),
            (Announce(2), "decide 2"),
            (Verdict(False), "skip"),
            (Announce(1), "skip"),
        ),
        2,
    ),
)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_live_cursor(scenario: Scenario) -> None:
    live = LiveCursor(scenario.cursor, scenario.test, page=scenario.page)
    for given, expected in scenario.steps:
        action: Action
        if isinstance(given, Start):
            action = live.start()
        elif isinstance(given, Page):
            action = live.on_stored_page([row(s) for s in given.seqs])
        elif isinstance(given, Announce):
            action = live.on_announced(item(given.seq, given.hits))
        else:
            action = live.on_verdict(given.passes)
        assert describe(action) == expected, given
    assert live.cursor == scenario.final_cursor


def test_an_announced_notice_event_is_the_stored_one_without_hits() -> None:
    live = LiveCursor(0, everything)
    live.start()
    live.on_stored_page([])
    action = live.on_announced(item(1, hits=1))
    assert isinstance(action, Send)
    notice, hit = action.events
    assert "hits" not in notice.data
    assert notice.encode().startswith(b"id: 1\nevent: notice\ndata: {")
    assert hit.encode().startswith(b"event: hit\ndata: {")


def test_the_sent_set_is_pruned_to_numbers_near_the_cursor() -> None:
    live = LiveCursor(0, everything, kept=8)
    live.start()
    live.on_stored_page([])
    for seq in range(1, 101):
        live.on_announced(item(seq))
    assert len(live.sent) <= 9
    assert min(live.sent) >= live.cursor - 8
    # A number pruned long ago is far behind the cursor: it no longer counts as sent.
    assert 1 not in live.sent and 100 in live.sent


@pytest.mark.parametrize(
    "misuse",
    [
        lambda live: live.on_stored_page([]),  # no replay asked for
        lambda live: live.on_verdict(True),  # no verdict asked for
        lambda live: (live.start(), live.on_announced(item(1))),  # an event mid-replay
        lambda live: (live.start(), live.start()),
    ],
)
def test_calls_out_of_turn_are_refused(misuse: Callable[[LiveCursor], object]) -> None:
    with pytest.raises(UsageError):
        misuse(LiveCursor(0, everything))


def test_an_announcement_while_a_verdict_is_awaited_is_refused() -> None:
    live = LiveCursor(0, None)
    live.start()
    live.on_stored_page([])
    assert isinstance(live.on_announced(item(1)), Decide)
    with pytest.raises(UsageError):
        live.on_announced(item(2))
    assert describe(live.on_verdict(True)) == "send n1"


def test_a_long_replay_keeps_the_sent_set_bounded() -> None:
    live = LiveCursor(0, everything, kept=8, page=5)
    action: Action = live.start()
    for first in range(1, 101, 5):
        assert isinstance(action, ReadStored)
        action = live.on_stored_page([row(s) for s in range(first, first + 5)])
        assert len(live.sent) <= 8 + 5
    assert describe(live.on_stored_page([])) == "send"
    assert live.cursor == 100
