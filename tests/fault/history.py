"""A history of a fault run and its checker, in the manner of Jepsen.

While a run goes on, the history records every publish (invoked, then ``ok``
with the id the node gave, ``fail`` when it certainly did not happen, or
``unknown`` when the node died or the connection broke before it answered),
every inbox answer a receiver gave (seen at the proxy in front of it, so
answers the sender never got are counted too), every notice a person opened
(which sends a read receipt), and the faults injected. Afterwards ``check``
compares the history with what each node holds and lists every anomaly:

- each stored notice reached each intended recipient exactly once in its
  feed, and nobody else; nothing acknowledged was lost; an ``unknown``
  publish is either everywhere it was addressed or nowhere;
- a receiver never answered ``accepted`` twice for one envelope, never
  acknowledged (accepted or duplicate) an envelope it does not hold, and
  refused nothing (every envelope of these runs is valid);
- the sender's outbox holds one row per (notice, recipient), all delivered;
- each read produced exactly one receipt at the sender, and no others exist;
- a live follower (Server-Sent Events, reconnecting after each restart with
  ``Last-Event-ID``) saw each notice of its node's feed exactly once;
- each database passes ``PRAGMA integrity_check`` and ``foreign_key_check``,
  and its row counts agree with all of the above.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from holdings import Holdings
from proxy import Message

from baliza.protocol.errors import BalizaError
from baliza.protocol.federation import decode_batch, decode_results

RECEIPT = "receipt"


class Result(Enum):
    """How a publish ended, as its client saw it (Jepsen's ok / fail / info)."""

    OK = "ok"
    FAIL = "fail"
    UNKNOWN = "unknown"


@dataclass
class Publish:
    """One publish request; ``tag`` makes it findable when its id never came back."""

    index: int
    sender: str
    recipients: tuple[str, ...]
    tag: int
    result: Result | None = None
    id: str | None = None
    error: str = ""


@dataclass(frozen=True, slots=True)
class Answer:
    """One inbox answer a receiver gave: HTTP status, then (id, outcome, reason) each."""

    receiver: str
    origin: str
    status: int
    results: tuple[tuple[str, str, str], ...]


@dataclass
class History:
    """Everything that happened in one run, in order."""

    seed: int
    publishes: list[Publish] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    reads: list[tuple[str, str]] = field(default_factory=list)  # (reader, envelope id)
    followed: dict[str, list[str]] = field(default_factory=dict)  # live stream, as seen
    events: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def invoke(self, sender: str, recipients: tuple[str, ...], base_tag: int = 100_000) -> Publish:
        op = Publish(len(self.publishes), sender, recipients, base_tag + len(self.publishes))
        self.publishes.append(op)
        return op

    def event(self, text: str) -> None:
        self.events.append(f"{time.monotonic() - self.started:7.2f}s {text}")

    @property
    def acknowledged(self) -> int:
        return sum(p.result is Result.OK for p in self.publishes)

    def inbox_observer(self, receiver: str) -> Callable[[Message, Message], None]:
        """A proxy observer recording every answer ``receiver`` gives to an inbox push."""

        def observe(request: Message, response: Message) -> None:
            if not request.first_line.startswith("POST /fed/v1/inbox"):
                return
            results: tuple[tuple[str, str, str], ...] = ()
            if response.status == 200:
                try:
                    batch = decode_batch(request.body)
                    decoded = decode_results(response.body, len(batch))
                except BalizaError as err:
                    self.event(f"{receiver} gave an unreadable inbox answer: {err}")
                    return
                results = tuple((r.id or "", r.outcome.value, r.reason or "") for r in decoded)
            self.answers.append(Answer(receiver, request.origin, response.status, results))

        return observe

    def summary(self) -> str:
        """Counts for the test output (and for failure messages)."""
        results = Counter(p.result.value if p.result else "pending" for p in self.publishes)
        outcomes = Counter(o for a in self.answers for _, o, _ in a.results)
        statuses = Counter(a.status for a in self.answers)
        return (
            f"seed {self.seed} (set BALIZA_FAULT_SEED={self.seed} to repeat); "
            f"publishes {dict(results)}; inbox answers by status {dict(statuses)}, "
            f"by outcome {dict(outcomes)}; reads {len(self.reads)}\n  " + "\n  ".join(self.events)
        )


def _resolve(history: History, nodes: dict[str, Holdings], anomalies: list[str]) -> list[Publish]:
    """The publishes that took effect; an unknown one took effect iff its sender holds it."""
    out_by_tag: dict[tuple[str, int], list[str]] = defaultdict(list)
    for agency, held in nodes.items():
        for item in held.feed:
            if item.direction == "out" and item.tag is not None:
                out_by_tag[(agency, item.tag)].append(item.id)
    effective = []
    tags = {(p.sender, p.tag) for p in history.publishes}
    for key, ids in out_by_tag.items():
        if key not in tags:
            anomalies.append(f"{key[0]} holds a notice nobody published: {ids}")
        if len(ids) > 1:
            anomalies.append(f"{key[0]} holds publish tag {key[1]} {len(ids)} times: {ids}")
    for op in history.publishes:
        found = out_by_tag.get((op.sender, op.tag), [])
        if op.result is Result.OK:
            if found != [op.id]:
                anomalies.append(f"publish {op.index} acknowledged as {op.id}, sender has {found}")
            effective.append(op)
        elif found and op.result is Result.FAIL:
            anomalies.append(f"publish {op.index} failed ({op.error}) but was stored: {found}")
        elif found:  # unknown, and it did happen
            op.id = found[0]
            effective.append(op)
    return effective


def _check_feeds(
    effective: list[Publish], nodes: dict[str, Holdings], anomalies: list[str]
) -> dict[str, set[str]]:
    """Exactly once in each intended recipient's feed, nowhere else; returns who expects what."""
    expected: dict[str, set[str]] = {agency: set() for agency in nodes}
    for op in effective:
        assert op.id is not None
        for recipient in op.recipients:
            expected[recipient].add(op.id)
    by_id = {op.id: op for op in effective}
    for agency, held in nodes.items():
        feed_in = held.feed_ids("in")
        twice = sorted(eid for eid, n in feed_in.items() if n > 1)
        lost = sorted(expected[agency] - set(feed_in))
        extra = sorted(set(feed_in) - expected[agency])
        if twice:
            anomalies.append(f"{agency}: {len(twice)} notices twice in the feed, e.g. {twice[:3]}")
        if lost:
            anomalies.append(f"{agency}: {len(lost)} notices lost, e.g. {lost[:3]}")
        if extra:
            anomalies.append(f"{agency}: {len(extra)} notices not meant for it, e.g. {extra[:3]}")
        for item in held.feed:
            published = by_id.get(item.id)
            if item.direction == "in" and published is not None and item.sender != published.sender:
                anomalies.append(
                    f"{agency}: {item.id} listed from {item.sender}, not {published.sender}"
                )
            # The agencies it was addressed to; the sender (which seals to
            # itself too) is not listed.
            if published is not None and item.recipients != tuple(
                sorted(set(published.recipients) - {published.sender})
            ):
                anomalies.append(f"{agency}: {item.id} lists recipients {item.recipients}")
    return expected


def _check_answers(history: History, nodes: dict[str, Holdings], anomalies: list[str]) -> None:
    """Accepted at most once, acknowledged only if stored, nothing refused."""
    accepted: Counter[tuple[str, str]] = Counter()
    for answer in history.answers:
        held = nodes[answer.receiver].stored.received
        for eid, outcome, reason in answer.results:
            if outcome == "accepted":
                accepted[(answer.receiver, eid)] += 1
            if outcome in ("accepted", "duplicate") and eid not in held:
                anomalies.append(f"{answer.receiver} acknowledged {eid} ({outcome}), never stored")
            if outcome == "refused":
                anomalies.append(f"{answer.receiver} refused {eid} from {answer.origin}: {reason}")
    twice = [key for key, n in accepted.items() if n > 1]
    if twice:
        anomalies.append(f"accepted more than once: {twice[:3]} ({len(twice)} in all)")


def _check_storage(
    history: History,
    effective: list[Publish],
    expected: dict[str, set[str]],
    nodes: dict[str, Holdings],
    anomalies: list[str],
) -> None:
    """Integrity, then every table's rows against the history."""
    sent_by: dict[str, set[str]] = defaultdict(set)
    outbox_want: Counter[tuple[str, str]] = Counter()
    for op in effective:
        assert op.id is not None
        sent_by[op.sender].add(op.id)
        for recipient in op.recipients:
            outbox_want[(recipient, op.id)] += 1
    reads_by: dict[str, set[str]] = defaultdict(set)
    receipts_want: dict[str, set[tuple[str, str]]] = defaultdict(set)
    sender_of = {op.id: op.sender for op in effective}
    for reader, eid in history.reads:
        reads_by[reader].add(eid)
        receipts_want[sender_of[eid]].add((eid, reader))
        receipts_want[reader].add((eid, reader))
    for agency, held in nodes.items():
        db = held.stored
        where = f"{agency} database"
        if db.integrity != "ok" or db.foreign_key_problems:
            anomalies.append(
                f"{where}: integrity {db.integrity!r}, {db.foreign_key_problems} FK problems"
            )
        notices_in = {e for e, d in db.notices.items() if d == "in"}
        notices_out = {e for e, d in db.notices.items() if d == "out"}
        received_notices = {e for e, k in db.received.items() if k != RECEIPT}
        sent_notices = {e for e, k in db.sent.items() if k != RECEIPT}
        receipts_in = sum(k == RECEIPT for k in db.received.values())
        receipts_out = sum(k == RECEIPT for k in db.sent.values())
        mine = {(e, d): s for d, e, s in db.outbox}
        notice_rows = [r for r in db.outbox if r[1] in sent_notices]
        for name, have, want in (
            ("received notices", received_notices, expected[agency]),
            ("notices in", notices_in, expected[agency]),
            ("sent notices", sent_notices, sent_by[agency]),
            ("notices out", notices_out, sent_by[agency]),
            ("receipt rows", {(e, a) for e, a, _ in db.receipts}, receipts_want[agency]),
        ):
            if have != want:
                anomalies.append(
                    f"{where}: {name}: {len(want - have)} missing, {len(have - want)} unexpected"
                )
        for name, count, due in (
            ("notice rows", db.notice_rows, len(expected[agency]) + len(sent_by[agency])),
            ("receipts received", receipts_in, len(receipts_want[agency]) - len(reads_by[agency])),
            ("receipts sent", receipts_out, len(reads_by[agency])),
            ("outbox rows", len(db.outbox), len(notice_rows) + receipts_out),
            ("receipt rows", len(db.receipts), len(receipts_want[agency])),
        ):
            if count != due:
                anomalies.append(f"{where}: {count} {name}, {due} expected")
        want_rows = Counter(
            (dest, eid) for dest, eid in outbox_want if sender_of.get(eid) == agency
        )
        have_rows = Counter((d, e) for d, e, _ in notice_rows)
        if have_rows != want_rows:
            anomalies.append(f"{where}: outbox rows per (recipient, notice) differ from publishes")
        pending = sorted((d, e, s) for (e, d), s in mine.items() if s != "delivered")
        if pending:
            anomalies.append(f"{where}: {len(pending)} outbox rows not delivered: {pending[:3]}")
        for dest, eid, state in db.outbox:
            if state == "delivered" and eid not in nodes[dest].stored.received:
                anomalies.append(f"{where}: {eid} marked delivered to {dest}, which lacks it")


def _check_live(history: History, nodes: dict[str, Holdings], anomalies: list[str]) -> None:
    """A live follower sees each notice of the node's feed once, across reconnects."""
    for agency, seen in history.followed.items():
        counts = Counter(seen)
        twice = sorted(eid for eid, n in counts.items() if n > 1)
        feed = {item.id for item in nodes[agency].feed}
        missed = sorted(feed - set(counts))
        extra = sorted(set(counts) - feed)
        if twice:
            anomalies.append(f"{agency} live stream: {len(twice)} twice, e.g. {twice[:3]}")
        if missed:
            anomalies.append(f"{agency} live stream: {len(missed)} missed, e.g. {missed[:3]}")
        if extra:
            anomalies.append(f"{agency} live stream: {len(extra)} not in the feed: {extra[:3]}")


def check(history: History, nodes: dict[str, Holdings]) -> list[str]:
    """Every anomaly found in ``nodes`` after the run ``history`` recorded."""
    anomalies: list[str] = []
    effective = _resolve(history, nodes, anomalies)
    expected = _check_feeds(effective, nodes, anomalies)
    _check_answers(history, nodes, anomalies)
    _check_storage(history, effective, expected, nodes, anomalies)
    _check_live(history, nodes, anomalies)
    return anomalies
