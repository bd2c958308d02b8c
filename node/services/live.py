"""A live follower's cursor, with no I/O: which notices to send, in which order, once.

Rules of this file (h11's shape: the transitions live here, the HTTP handler
is glue that reads the queue, asks the database and writes what it is told):

- The cursor is the highest ``seq`` the follower is known to have seen or
  skipped; ``sent`` remembers what went out recently, so nothing goes twice.
- A stream starts by replaying what was stored after ``Last-Event-ID``
  (``start`` → ``ReadStored``); every stored page is handed back with
  ``on_stored_page`` until a short page ends the replay.
- An announced notice (``on_announced``) is, by its ``seq``:
  * already sent → ``Skip``;
  * the next number → sent from the announcement itself, if the filter
    passes it (nothing can be missing before it);
  * further ahead → events came out of order (transactions announce after
    their own commits): ``ReadStored`` after the cursor, so storage says what
    was committed, in order; then the announced notice's hits;
  * at or below the cursor and never sent → a late commit (PostgreSQL
    workers draw numbers before they commit): sent as it comes, if it passes.
- Whether a notice passes the filter is the cursor's own answer when it
  holds a Python test (``test``); with a full-text filter it asks
  (``Decide``) and the handler answers with ``on_verdict``.
- ``sent`` is pruned to numbers near the cursor once it holds more than
  ``kept``: only those can still arrive out of order.

No clock, no database, no network: every transition is tested by a table
(tests/node/test_node_live_cursor.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from baliza.node.services.index import notice_row_json
from baliza.node.storage.notices import StoredNotice
from baliza.protocol.errors import ReasonCode, UsageError

# Replay reads this many notices at a time: what a follower holds in memory
# while it is slow to read is one small page, whatever the backlog.
REPLAY_PAGE = 20
# How many sent sequence numbers a stream remembers to skip duplicates.
SENT_KEPT = 4096

Item = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Event:
    """One Server-Sent Event: a ``notice`` (with its ``seq`` as the event id) or a ``hit``."""

    name: str
    data: Mapping[str, Any]

    def encode(self) -> bytes:
        """The event as the stream writes it; only notice events carry an id to resume from."""
        payload = json.dumps(self.data, ensure_ascii=False)
        event_id = f"id: {self.data['seq']}\n" if self.name == "notice" else ""
        return f"{event_id}event: {self.name}\ndata: {payload}\n\n".encode()


@dataclass(frozen=True, slots=True)
class Skip:
    """Nothing to send for this announcement."""


@dataclass(frozen=True, slots=True)
class Send:
    """Write these events, in order (after checking the token)."""

    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class ReadStored:
    """Read the next stored page after ``after`` (``REPLAY_PAGE`` notices, filtered) and
    hand it to ``on_stored_page``; ``events`` go out first."""

    after: int
    events: tuple[Event, ...] = ()


@dataclass(frozen=True, slots=True)
class Decide:
    """Ask the database whether ``item`` passes the filter; answer with ``on_verdict``."""

    item: Item


Action = Skip | Send | ReadStored | Decide


class _State(Enum):
    IDLE = "idle"  # waiting for an announcement
    REPLAYING = "replaying"  # waiting for a stored page
    DECIDING = "deciding"  # waiting for a verdict


def notice_event(item: Item) -> Event:
    """The notice event of an announcement: hits go as events of their own."""
    return Event("notice", {key: value for key, value in item.items() if key != "hits"})


def hit_events(item: Item) -> tuple[Event, ...]:
    """One ``hit`` event per hit an announcement carries."""
    seq, eid = item["seq"], item["id"]
    return tuple(Event("hit", {"seq": seq, "id": eid, "hit": hit}) for hit in item.get("hits", ()))


@dataclass(slots=True)
class LiveCursor:
    """Where one live follower stands. See the rules at the top of this module.

    ``cursor`` is where the stream resumes (``Last-Event-ID``); ``test``
    answers the filter in Python, ``None`` when only the database can (full
    text). Calling a method out of turn (an announcement while a replay or a
    verdict is awaited) raises ``UsageError``.
    """

    cursor: int
    test: Callable[[Item], bool] | None = None
    kept: int = SENT_KEPT
    page: int = REPLAY_PAGE
    sent: set[int] = field(default_factory=set)
    _state: _State = _State.IDLE
    _pending: Item | None = None  # the announcement a replay or a verdict is for

    def start(self) -> ReadStored:
        """Begin with what was stored after the cursor."""
        self._expect(_State.IDLE)
        self._state = _State.REPLAYING
        return ReadStored(self.cursor)

    def on_announced(self, item: Item) -> Action:
        """What to do with a notice announced live (``notice_row_json`` with ``hits``)."""
        self._expect(_State.IDLE)
        seq = int(item["seq"])
        if seq in self.sent:
            return Skip()
        if seq > self.cursor + 1:
            self._pending = item
            self._state = _State.REPLAYING
            return ReadStored(self.cursor)
        if self.test is None:
            self._pending = item
            self._state = _State.DECIDING
            return Decide(item)
        return self._decided(item, self.test(item))

    def on_verdict(self, passes: bool) -> Send | Skip:
        """The database's answer to ``Decide``: whether the announced notice passes the filter."""
        self._expect(_State.DECIDING)
        item, self._pending = self._pending, None
        self._state = _State.IDLE
        assert item is not None  # DECIDING always holds its announcement
        return self._decided(item, passes)

    def on_stored_page(self, rows: Sequence[StoredNotice]) -> ReadStored | Send:
        """Events for a stored page (filtered, after the cursor, in order), and what next.

        A full page asks for the next one; a short page ends the replay, with
        the hits of the announcement that started it if that notice was sent.
        """
        self._expect(_State.REPLAYING)
        events: list[Event] = []
        for row in rows:
            if row.seq not in self.sent:
                events.append(Event("notice", notice_row_json(row, with_body=False)))
                self.sent.add(row.seq)
            self.cursor = max(self.cursor, row.seq)
        if len(rows) >= self.page:
            self._prune()  # a long backlog must not pile up in ``sent``
            return ReadStored(self.cursor, tuple(events))
        self._state = _State.IDLE
        pending, self._pending = self._pending, None
        if pending is not None:
            seq = int(pending["seq"])
            # Announced after its commit, so the replay saw it (or its filter
            # left it out): nothing at or below it is read again; a later
            # commit below it comes as an announcement of its own.
            self.cursor = max(self.cursor, seq)
            if seq in self.sent:
                events.extend(hit_events(pending))
        self._prune()
        return Send(tuple(events))

    def _decided(self, item: Item, passes: bool) -> Send | Skip:
        seq = int(item["seq"])
        self.cursor = max(self.cursor, seq)
        if not passes:
            self._prune()
            return Skip()
        self.sent.add(seq)
        self._prune()
        return Send((notice_event(item), *hit_events(item)))

    def _prune(self) -> None:
        if len(self.sent) > self.kept:
            floor = self.cursor - self.kept // 2
            self.sent.difference_update([s for s in self.sent if s < floor])

    def _expect(self, state: _State) -> None:
        if self._state is not state:
            raise UsageError(
                ReasonCode.INCONSISTENT,
                f"the live cursor is {self._state.value}, not {state.value}",
            )
