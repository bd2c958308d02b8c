"""The notifier: evaluates new notices against every watch-list, and sends the e-mail queue.

Rules of this file:

- It follows the stored notices by ``seq`` from a cursor kept in storage
  (``notify_cursor``), so nothing is missed while the node was down; the
  first run starts at the newest notice (old notices are no news). On
  PostgreSQL, where a worker draws a ``seq`` before it commits, the last
  ``LATE_WINDOW`` numbers below the cursor are read again and those not yet
  seen by this process evaluated; a notice evaluated twice (a restart, two
  workers) still notifies once (see below).
- Each round is read → decide → write: one read unit (the notices after
  the cursor, at most ``ROUND`` of them, every watch, their hits and who
  published those here), the decision in pure rules (``rules/notify.py``)
  with each watch tested by ``live_test`` — the live stream's own test —
  or, for full text, ``live_matches``; then one write unit (notifications,
  immediate e-mail, the cursor). Notifications are unique per owner,
  cause and subject, so two workers evaluating the same notice notify once.
- Ingest never waits for it: ingest only sets an event that wakes the
  round early; otherwise a round runs every ``TICK_S``.
- Mail is sent by the same task, after the round, with no transaction
  open: rows are claimed (leased), handed to the relay on a thread
  (``mailer.send``), and marked sent, or failed with a later try (backoff).
  A relay that is down delays mail, never ingest or the console.
- Digests are gathered once a period per person; alerts about to fall
  overdue are looked at every ``ALERTS_EVERY_MS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final

from sqlalchemy import Connection

from baliza.node.core.clock import now_ms
from baliza.node.core.smtp import SmtpSettings, red_summaries, smtp_settings
from baliza.node.services import mailer
from baliza.node.services.context import NodeContext
from baliza.node.services.filters import live_matches, live_test
from baliza.node.services.index import notice_row_json
from baliza.node.services.rules import notify as rules
from baliza.node.services.views.board import AlertState, alert_board
from baliza.node.services.watch import watch_filter
from baliza.node.storage.notices import NoticeFilter, StoredNotice
from baliza.node.storage.notify import Notification, NotifyPrefs, WatchEntry
from baliza.node.storage.sql import notice_pages
from baliza.node.storage.sql import notices as notice_rows
from baliza.node.storage.sql import notify as rows
from baliza.node.storage.sql import permissions as permission_rows
from baliza.protocol.errors import BalizaError

log = logging.getLogger(__name__)

TICK_S: Final = 1.0
ROUND: Final = 200  # notices per round: a backlog is worked through in bounded steps
HITS_PER_NOTICE: Final = 50
MAIL_PER_ROUND: Final = 10
# On PostgreSQL, notices this far below the cursor are looked at again (late commits).
LATE_WINDOW: Final = 64
MAIL_LEASE_MS: Final = 5 * 60_000
DIGEST_EVERY_MS: Final = 30_000
ALERTS_EVERY_MS: Final = 5 * 60_000

Item = Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class RoundFacts:
    """What one round read: notices after the cursor and what deciding about them needs."""

    start: int
    alerts_ms: int
    notices: tuple[StoredNotice, ...]
    watches: tuple[WatchEntry, ...]
    hits: Mapping[int, tuple[tuple[str, str], ...]]  # seq → (envelope id, sender) hit
    publishers: Mapping[str, Sequence[str]]
    full: bool = False  # the page was full: more may follow at once


@dataclass(slots=True)
class Notifier:
    """One node's notifier task (see the rules at the top of this module)."""

    ctx: NodeContext
    tick_s: float = TICK_S
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    _tests: dict[str, tuple[NoticeFilter, Callable[[Item], bool] | None]] = field(
        default_factory=dict
    )
    _last_digest_ms: int = 0
    _ready: bool = False
    _more: bool = False
    _seen: set[int] = field(default_factory=set)

    @property
    def relay(self) -> SmtpSettings | None:
        """The agency's mail relay, if ``[smtp]`` names one."""
        return smtp_settings(self.ctx.config.smtp)

    def start(self) -> None:
        """Run rounds in the background until ``stop``; new notices wake it early."""
        self.ctx.on_notices_stored.append(self._stored)
        self._task = asyncio.create_task(self._run(), name="notifier")

    async def stop(self) -> None:
        """Stop after the current step; queued mail stays queued for the next start."""
        with contextlib.suppress(ValueError):
            self.ctx.on_notices_stored.remove(self._stored)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _stored(self, _with_files: list[tuple[str, str]]) -> None:
        self.wake.set()

    async def _run(self) -> None:
        while True:
            try:
                await self.step(now_ms())
            except BalizaError as err:  # storage or relay trouble: try again next tick
                log.warning("notifier round failed: %s", err)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.tick_s):
                    await self.wake.wait()
            self.wake.clear()

    async def step(self, now: int) -> None:
        """One bounded round: evaluate new notices, alerts due soon, digests, then send mail."""
        if not self._ready:
            await start_cursor(self.ctx, now)
            self._ready = True
        await self.evaluate(now)
        while self._more:
            await self.evaluate(now)
        await self.alerts(now)
        if now - self._last_digest_ms >= DIGEST_EVERY_MS:
            self._last_digest_ms = now
            await self.permissions(now)
            await self.digests(now)
        await self.send_mail(now)

    # ------------------------------------------------------------ evaluation

    async def evaluate(self, now: int) -> int:
        """Evaluate the notices stored after the cursor (at most ``ROUND``); how many it read."""
        window = LATE_WINDOW if self.ctx.db.dialect == "postgresql" else 0
        read = partial(_read_round, window=window, seen=frozenset(self._seen))
        facts = await self.ctx.db.run(read, write=False)
        self._more = facts.full
        if not facts.notices:
            return 0
        notes: list[dict[str, Any]] = []
        for notice in facts.notices:
            item = notice_row_json(notice, with_body=False)
            watched = await self._watched(item, facts.watches)
            for owner, watch_id in watched.items():
                notes.append(_note(owner, "watch", item, watch_id, now))
            hit_owners = rules.hit_owners(
                facts.hits.get(notice.seq, ()), self.ctx.agency, facts.publishers
            )
            for owner in sorted(hit_owners):
                notes.append(_note(owner, "hit", item, None, now))
        last = max(n.seq for n in facts.notices)
        await self.ctx.db.run(
            partial(self._write, notes=notes, cursor=(last, facts.alerts_ms), now=now), write=True
        )
        self._seen.update(n.seq for n in facts.notices)
        floor = max(last, facts.start) - window
        self._seen.difference_update([seq for seq in self._seen if seq <= floor])
        return len(facts.notices)

    async def _watched(self, item: Item, watches: Sequence[WatchEntry]) -> dict[str, str]:
        """The owners whose watches pass ``item``, by the live stream's own test."""
        verdicts: dict[str, bool] = {}
        for entry in watches:
            if item.get("direction") != "in":
                break
            verdicts[entry.id] = await self._passes(entry, item)
        return rules.watched_by(item, ((w.owner, w.id) for w in watches), verdicts.__getitem__)

    async def _passes(self, entry: WatchEntry, item: Item) -> bool:
        compiled = self._tests.get(entry.query)
        if compiled is None:
            try:
                filters = watch_filter(entry.query)
            except BalizaError:  # stored before a filter changed meaning: it matches nothing
                filters = NoticeFilter(kind="-")
            compiled = self._tests[entry.query] = (filters, live_test(filters, self.ctx.db.dialect))
        filters, test = compiled
        if test is not None:
            return test(item)
        return await live_matches(self.ctx, filters, item)

    def _write(
        self,
        connection: Connection,
        notes: Sequence[dict[str, Any]],
        cursor: tuple[int, int],
        now: int,
    ) -> None:
        prefs = rows.mailing_prefs(connection)
        relay = self.relay
        allow_red = red_summaries(self.ctx.config.smtp)
        for values in notes:
            mine = prefs.get(values["owner"], NotifyPrefs(owner=values["owner"]))
            state = rules.mail_state(
                mine.email if relay else None, mine.mode, values["tlp"], allow_red
            )
            if not rows.add_notification(connection, {**values, "mail": state}):
                continue  # already told (another worker, or a round repeated)
            if state == "queued" and mine.email:
                subject, body = rules.mail_text(
                    self.ctx.config.name, [_facts(values)], self.ctx.config.url
                )
                rows.queue_mail(connection, mine.owner, mine.email, subject, body, now)
        had = rows.cursor(connection)
        seq = max(cursor[0], had[0] if had else 0)
        rows.set_cursor(connection, seq, cursor[1])

    # ------------------------------------------------------------ alerts due soon

    async def alerts(self, now: int) -> None:
        """Every ``ALERTS_EVERY_MS``: tell publishers and watchers of alerts about to fall due."""
        start = await self.ctx.db.run(rows.cursor, write=False)
        if start is None or now - start[1] < ALERTS_EVERY_MS:
            return
        board = await alert_board(self.ctx, now, state=AlertState.OPEN, limit=1000)
        soon = [r for r in board.items if rules.due_soon(r.expected_ms, now, answered=False)]
        watches = await self.ctx.db.run(rows.all_watches, write=False)
        ids = [r.alert.envelope_id for r in soon]
        published = await self.ctx.db.run(partial(rows.publishers, envelope_ids=ids), write=False)
        notes: list[dict[str, Any]] = []
        for row in soon:
            item = notice_row_json(row.alert, with_body=False)
            owners = set(published.get(row.alert.envelope_id, ()))
            owners |= set(await self._watched(item, watches))
            notes.extend(_note(owner, "overdue", item, None, now) for owner in sorted(owners))

        def work(connection: Connection) -> None:
            had = rows.cursor(connection)
            self._write(connection, notes, (had[0] if had else 0, now), now)

        await self.ctx.db.run(work, write=True)

    # ------------------------------------------------------------ share requests waiting

    async def permissions(self, now: int) -> None:
        """Tell the people who published a notice here that a partner asks to pass it on."""
        here = self.ctx.agency
        asked = [
            p
            for p in await self.ctx.db.run(permission_rows.every, write=False)
            if p.state == "pending" and p.originator == here
        ]
        if not asked:
            return

        def read(connection: Connection) -> tuple[dict[str, list[str]], dict[str, dict[str, Any]]]:
            ids = sorted({p.envelope_id for p in asked})
            stored = notice_rows.get_many(connection, [(here, eid) for eid in ids])
            items = {eid: notice_row_json(n, with_body=False) for (_s, eid), n in stored.items()}
            return rows.publishers(connection, ids), items

        published, items = await self.ctx.db.run(read, write=False)
        notes: list[dict[str, Any]] = []
        for request in asked:
            item = items.get(request.envelope_id)
            if item is None:
                continue
            for owner in rules.permission_owners(published.get(request.envelope_id, ())):
                notes.append(_note(owner, "permission", {**item, "id": request.id}, None, now))
        if notes:

            def work(connection: Connection) -> None:
                had = rows.cursor(connection)
                self._write(connection, notes, had if had else (0, now), now)

            await self.ctx.db.run(work, write=True)

    # ------------------------------------------------------------ digests and sending

    async def digests(self, now: int) -> None:
        """Queue one e-mail per person whose digest period has passed, with what is pending."""
        name, url = self.ctx.config.name, self.ctx.config.url

        def work(connection: Connection) -> None:
            prefs = rows.mailing_prefs(connection)
            for owner in rows.pending_owners(connection):
                mine = prefs.get(owner)
                if mine is None or not mine.email or mine.mode != "digest":
                    continue
                if not rules.digest_due(mine.last_digest_ms, mine.digest_ms, now):
                    continue
                pending = rows.take_pending(connection, owner)
                if not pending:
                    continue  # another worker took them first, and sends this digest
                subject, body = rules.mail_text(name, [_facts_of(n) for n in pending], url)
                rows.queue_mail(connection, owner, mine.email, subject, body, now)
                rows.digest_sent(connection, owner, now)

        await self.ctx.db.run(work, write=True)

    async def send_mail(self, now: int) -> int:
        """Hand due mail to the relay (at most ``MAIL_PER_ROUND``); how many it accepted."""
        relay = self.relay
        if relay is None:
            return 0
        # A read first: an idle queue costs no write transaction per tick.
        if not await self.ctx.db.run(partial(rows.any_due_mail, now_ms=now), write=False):
            return 0
        claim = partial(
            rows.claim_due_mail, now_ms=now, lease_ms=MAIL_LEASE_MS, limit=MAIL_PER_ROUND
        )
        taken = await self.ctx.db.run(claim, write=True)
        sent = 0
        for mail in taken:
            try:
                await asyncio.to_thread(mailer.send, relay, mail)
            except mailer.RelayError as err:
                attempts = mail.attempts + 1
                log.warning("mail %s not sent (try %s): %s", mail.seq, attempts, err)
                failed = partial(
                    rows.mail_failed,
                    seq=mail.seq,
                    attempts=attempts,
                    next_ms=rules.next_try(attempts, now_ms()),
                    error=str(err),
                )
                await self.ctx.db.run(failed, write=True)
                self.ctx.count("baliza_mail_failed_total")
                continue
            await self.ctx.db.run(
                partial(rows.mail_sent, seq=mail.seq, now_ms=now_ms()), write=True
            )
            self.ctx.count("baliza_mail_sent_total")
            sent += 1
        return sent


def _read_round(connection: Connection, window: int, seen: frozenset[int]) -> RoundFacts:
    """The facts of one round, in one read unit.

    ``window`` notices below the cursor are read again and those not in
    ``seen`` evaluated: on PostgreSQL a worker draws a ``seq`` before it
    commits, so a notice may appear below a cursor that already passed it.
    """
    had = rows.cursor(connection)
    start, alerts_ms = had if had is not None else (notice_rows.last_seq(connection), 0)
    page = notice_pages.list_page(connection, max(0, start - window), ROUND + window)
    notices = tuple(n for n in page if n.seq > start or n.seq not in seen)
    full = len(page) >= ROUND + window
    if not notices:
        return RoundFacts(
            start=start,
            alerts_ms=alerts_ms,
            notices=(),
            watches=(),
            hits={},
            publishers={},
            full=full,
        )
    found = notice_rows.newest_hits(connection, list(notices), HITS_PER_NOTICE)
    hits = {
        n.seq: tuple((h.envelope_id, h.sender) for h in found.get((n.sender, n.envelope_id), ()))
        for n in notices
    }
    mine = sorted({eid for pairs in hits.values() for eid, _sender in pairs})
    return RoundFacts(
        start=start,
        alerts_ms=alerts_ms,
        notices=notices,
        watches=tuple(rows.all_watches(connection)),
        hits=hits,
        publishers=rows.publishers(connection, mine),
        full=full,
    )


async def start_cursor(ctx: NodeContext, now: int) -> None:
    """Set the cursor at the newest notice if there is none yet (the first start)."""

    def work(connection: Connection) -> None:
        if rows.cursor(connection) is None:
            rows.set_cursor(connection, notice_rows.last_seq(connection), now)

    await ctx.db.run(work, write=True)


def _note(owner: str, cause: str, item: Item, watch_id: str | None, now: int) -> dict[str, Any]:
    return {
        "owner": owner,
        "cause": cause,
        "subject": item["id"],
        "watch_id": watch_id,
        "kind": item["kind"],
        "location": item.get("location"),
        "tlp": item["tlp"],
        "created_ms": now,
    }


def _facts(values: Mapping[str, Any]) -> rules.Facts:
    return rules.Facts(
        cause=values["cause"],
        subject=values["subject"],
        kind=values["kind"],
        location=values["location"],
        tlp=values["tlp"],
    )


def _facts_of(note: Notification) -> rules.Facts:
    return rules.Facts(
        cause=note.cause, subject=note.subject, kind=note.kind, location=note.location, tlp=note.tlp
    )
