"""Watch-lists, notifications, e-mail settings and the mail queue, as units of work use them.

Every read and write of a person's entries names the owner in its WHERE
clause: an id guessed from another account finds nothing, so it can neither
be read nor removed. A notification is inserted with ``ON CONFLICT DO
NOTHING`` on (owner, cause, subject): evaluating a notice twice (a restart,
two workers) notifies once, and the caller learns whether this insert was
the one. Mail rows are claimed by moving ``due_ms`` forward only if it is
still what the claimer read, so two workers never send the same row at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from baliza.node.storage.models import (
    MailQueueRow,
    NotificationRow,
    NotifyCursorRow,
    NotifyPrefsRow,
    PersonActionRow,
    WatchEntryRow,
    table_of,
)
from baliza.node.storage.notify import Notification, NotifyPrefs, QueuedMail, WatchEntry
from baliza.node.storage.sql._dialect import Upsert

_watches = table_of(WatchEntryRow)
_notes = table_of(NotificationRow)
_prefs = table_of(NotifyPrefsRow)
_mail = table_of(MailQueueRow)
_cursor = table_of(NotifyCursorRow)
_actions = table_of(PersonActionRow)

_WATCH_COLUMNS = (
    _watches.c.id,
    _watches.c.owner,
    _watches.c.what,
    _watches.c.value,
    _watches.c.query,
    _watches.c.created_ms,
)
_NOTE_COLUMNS = (
    _notes.c.seq,
    _notes.c.owner,
    _notes.c.cause,
    _notes.c.subject,
    _notes.c.watch_id,
    _notes.c.kind,
    _notes.c.location,
    _notes.c.tlp,
    _notes.c.created_ms,
    _notes.c.read_ms,
    _notes.c.mail,
)
_PREF_COLUMNS = (
    _prefs.c.owner,
    _prefs.c.email,
    _prefs.c.mode,
    _prefs.c.digest_ms,
    _prefs.c.last_digest_ms,
)
_MAIL_COLUMNS = (
    _mail.c.seq,
    _mail.c.owner,
    _mail.c.to_addr,
    _mail.c.subject,
    _mail.c.body,
    _mail.c.created_ms,
    _mail.c.due_ms,
    _mail.c.attempts,
    _mail.c.sent_ms,
    _mail.c.last_error,
)

_INSERT_WATCH = insert(_watches)
_WATCHES_OF = (
    select(*_WATCH_COLUMNS)
    .where(_watches.c.owner == bindparam("owner"))
    .order_by(_watches.c.created_ms, _watches.c.id)
)
_ALL_WATCHES = select(*_WATCH_COLUMNS).order_by(_watches.c.created_ms, _watches.c.id)
_COUNT_WATCHES = select(func.count()).where(_watches.c.owner == bindparam("owner"))
_DELETE_WATCH = delete(_watches).where(
    _watches.c.owner == bindparam("owner"), _watches.c.id == bindparam("watch_id")
)
_NOTE_UPSERT = Upsert(
    _notes, lambda s: s.on_conflict_do_nothing(index_elements=["owner", "cause", "subject"])
)
_NOTES_OF = (
    select(*_NOTE_COLUMNS)
    .where(_notes.c.owner == bindparam("owner"))
    .order_by(_notes.c.seq.desc())
    .limit(bindparam("limit"))
)
_UNREAD_OF = (
    select(*_NOTE_COLUMNS)
    .where(_notes.c.owner == bindparam("owner"), _notes.c.read_ms.is_(None))
    .order_by(_notes.c.seq.desc())
    .limit(bindparam("limit"))
)
_UNREAD_COUNT = select(func.count()).where(
    _notes.c.owner == bindparam("owner"), _notes.c.read_ms.is_(None)
)
_MARK_ONE = (
    update(_notes)
    .where(
        _notes.c.owner == bindparam("who"),
        _notes.c.seq == bindparam("note_seq"),
        _notes.c.read_ms.is_(None),
    )
    .values(read_ms=bindparam("now_ms"))
)
_MARK_ALL = (
    update(_notes)
    .where(_notes.c.owner == bindparam("who"), _notes.c.read_ms.is_(None))
    .values(read_ms=bindparam("now_ms"))
)
_PENDING_OWNERS = select(_notes.c.owner).where(_notes.c.mail == "pending").distinct()
# Taken and marked in one statement: what it returns is exactly what it marked.
_TAKE_PENDING = (
    update(_notes)
    .where(_notes.c.owner == bindparam("who"), _notes.c.mail == "pending")
    .values(mail="queued")
    .returning(*_NOTE_COLUMNS)
)
_PREFS_OF = select(*_PREF_COLUMNS).where(_prefs.c.owner == bindparam("owner"))
_PREFS_MAILING = select(*_PREF_COLUMNS).where(_prefs.c.mode != "off")
_PREFS_UPSERT = Upsert(
    _prefs,
    lambda s: s.on_conflict_do_update(
        index_elements=["owner"],
        set_={
            "email": s.excluded.email,
            "mode": s.excluded.mode,
            "digest_ms": s.excluded.digest_ms,
        },
    ),
)
_DIGEST_SENT = (
    update(_prefs)
    .where(_prefs.c.owner == bindparam("who"))
    .values(last_digest_ms=bindparam("now_ms"))
)
_INSERT_MAIL = insert(_mail)
_DUE_MAIL = (
    select(*_MAIL_COLUMNS)
    .where(_mail.c.sent_ms.is_(None), _mail.c.due_ms <= bindparam("now_ms"))
    .order_by(_mail.c.due_ms, _mail.c.seq)
    .limit(bindparam("limit"))
)
_CLAIM_MAIL = (
    update(_mail)
    .where(
        _mail.c.seq == bindparam("mail_seq"),
        _mail.c.due_ms == bindparam("was_due"),
        _mail.c.sent_ms.is_(None),
    )
    .values(due_ms=bindparam("until_ms"))
)
_MAIL_SENT = (
    update(_mail).where(_mail.c.seq == bindparam("mail_seq")).values(sent_ms=bindparam("now_ms"))
)
_MAIL_FAILED = (
    update(_mail)
    .where(_mail.c.seq == bindparam("mail_seq"))
    .values(
        attempts=bindparam("attempts"),
        due_ms=bindparam("next_ms"),
        last_error=bindparam("error"),
    )
)
_MAIL_OF = select(*_MAIL_COLUMNS).order_by(_mail.c.seq)
_CURSOR = select(_cursor.c.seq, _cursor.c.alerts_ms).where(_cursor.c.id == 1)
_CURSOR_UPSERT = Upsert(
    _cursor,
    lambda s: s.on_conflict_do_update(
        index_elements=["id"], set_={"seq": s.excluded.seq, "alerts_ms": s.excluded.alerts_ms}
    ),
)
_PUBLISHERS = select(_actions.c.subject, _actions.c.user_id).where(
    _actions.c.action == "published", _actions.c.subject.in_(bindparam("subjects", expanding=True))
)


# ---------------------------------------------------------------- watches


def _watch(row: Sequence[Any]) -> WatchEntry:
    return WatchEntry(
        id=row[0], owner=row[1], what=row[2], value=row[3], query=row[4], created_ms=row[5]
    )


def insert_watch(connection: Connection, entry: WatchEntry) -> None:
    """Store a new watch entry."""
    connection.execute(
        _INSERT_WATCH,
        {
            "id": entry.id,
            "owner": entry.owner,
            "what": entry.what,
            "value": entry.value,
            "query": entry.query,
            "created_ms": entry.created_ms,
        },
    )


def count_watches(connection: Connection, owner: str) -> int:
    """How many watch entries ``owner`` has."""
    return int(connection.execute(_COUNT_WATCHES, {"owner": owner}).scalar_one())


def watches_of(connection: Connection, owner: str) -> list[WatchEntry]:
    """``owner``'s watch entries, oldest first."""
    return [_watch(r) for r in connection.execute(_WATCHES_OF, {"owner": owner}).all()]


def all_watches(connection: Connection) -> list[WatchEntry]:
    """Every watch entry of every owner, oldest first (the notifier's view)."""
    return [_watch(r) for r in connection.execute(_ALL_WATCHES).all()]


def delete_watch(connection: Connection, owner: str, watch_id: str) -> bool:
    """Remove ``owner``'s entry ``watch_id``; False if they have no such entry."""
    return connection.execute(_DELETE_WATCH, {"owner": owner, "watch_id": watch_id}).rowcount == 1


# ---------------------------------------------------------------- notifications


def _note(row: Sequence[Any]) -> Notification:
    return Notification(
        seq=row[0],
        owner=row[1],
        cause=row[2],
        subject=row[3],
        watch_id=row[4],
        kind=row[5],
        location=row[6],
        tlp=row[7],
        created_ms=row[8],
        read_ms=row[9],
        mail=row[10],
    )


def add_notification(connection: Connection, values: dict[str, Any]) -> bool:
    """Insert a notification unless the owner already has one for this cause and subject.

    ``values`` are the columns but ``seq`` and ``read_ms``. True if inserted.
    """
    result = connection.execute(_NOTE_UPSERT.on(connection), {**values, "read_ms": None})
    return result.rowcount == 1


def notifications_of(
    connection: Connection, owner: str, limit: int, *, unread: bool = False
) -> list[Notification]:
    """``owner``'s newest notifications (only unread ones if ``unread``), newest first."""
    statement = _UNREAD_OF if unread else _NOTES_OF
    rows = connection.execute(statement, {"owner": owner, "limit": limit}).all()
    return [_note(r) for r in rows]


def unread_count(connection: Connection, owner: str) -> int:
    """How many of ``owner``'s notifications are unread."""
    return int(connection.execute(_UNREAD_COUNT, {"owner": owner}).scalar_one())


def mark_read(connection: Connection, owner: str, seqs: Sequence[int] | None, now_ms: int) -> int:
    """Mark ``owner``'s notifications ``seqs`` (all, if None) read; how many changed."""
    if seqs is None:
        return int(connection.execute(_MARK_ALL, {"who": owner, "now_ms": now_ms}).rowcount)
    changed = 0
    for seq in seqs:
        values = {"who": owner, "note_seq": seq, "now_ms": now_ms}
        changed += connection.execute(_MARK_ONE, values).rowcount
    return changed


def pending_owners(connection: Connection) -> list[str]:
    """Owners with notifications waiting for a digest."""
    return [r[0] for r in connection.execute(_PENDING_OWNERS).all()]


def take_pending(connection: Connection, owner: str) -> list[Notification]:
    """``owner``'s notifications waiting for a digest, now marked queued, oldest first.

    One ``UPDATE … RETURNING`` rather than a read then an update: two
    workers gathering one person's digest at once would both read the same
    notifications and mail them twice, and a notification committed
    between the read and the update would be marked queued unmailed. The
    second now waits for the first and takes nothing the first took.
    """
    taken = [_note(r) for r in connection.execute(_TAKE_PENDING, {"who": owner}).all()]
    return sorted(taken, key=lambda note: note.seq)


# ---------------------------------------------------------------- e-mail settings


def _prefs_from(row: Sequence[Any]) -> NotifyPrefs:
    return NotifyPrefs(
        owner=row[0], email=row[1], mode=row[2], digest_ms=row[3], last_digest_ms=row[4]
    )


def prefs_of(connection: Connection, owner: str) -> NotifyPrefs:
    """``owner``'s e-mail settings (no e-mail when they never chose)."""
    row = connection.execute(_PREFS_OF, {"owner": owner}).first()
    return NotifyPrefs(owner=owner) if row is None else _prefs_from(row)


def mailing_prefs(connection: Connection) -> dict[str, NotifyPrefs]:
    """Everyone who asked for e-mail, by owner."""
    return {r[0]: _prefs_from(r) for r in connection.execute(_PREFS_MAILING).all()}


def save_prefs(connection: Connection, prefs: NotifyPrefs) -> None:
    """Create or change ``prefs.owner``'s settings (the digest clock is kept)."""
    connection.execute(
        _PREFS_UPSERT.on(connection),
        {
            "owner": prefs.owner,
            "email": prefs.email,
            "mode": prefs.mode,
            "digest_ms": prefs.digest_ms,
            "last_digest_ms": prefs.last_digest_ms,
        },
    )


def digest_sent(connection: Connection, owner: str, now_ms: int) -> None:
    """Start ``owner``'s next digest period at ``now_ms``."""
    connection.execute(_DIGEST_SENT, {"who": owner, "now_ms": now_ms})


# ---------------------------------------------------------------- mail queue


def _mail_from(row: Sequence[Any]) -> QueuedMail:
    return QueuedMail(
        seq=row[0],
        owner=row[1],
        to_addr=row[2],
        subject=row[3],
        body=row[4],
        created_ms=row[5],
        due_ms=row[6],
        attempts=row[7],
        sent_ms=row[8],
        last_error=row[9],
    )


def queue_mail(
    connection: Connection, owner: str, to_addr: str, subject: str, body: str, now_ms: int
) -> None:
    """Queue an e-mail, due now."""
    connection.execute(
        _INSERT_MAIL,
        {
            "owner": owner,
            "to_addr": to_addr,
            "subject": subject,
            "body": body,
            "created_ms": now_ms,
            "due_ms": now_ms,
            "attempts": 0,
            "sent_ms": None,
            "last_error": None,
        },
    )


def any_due_mail(connection: Connection, now_ms: int) -> bool:
    """Whether any unsent mail is due at ``now_ms``."""
    return connection.execute(_DUE_MAIL, {"now_ms": now_ms, "limit": 1}).first() is not None


def claim_due_mail(
    connection: Connection, now_ms: int, lease_ms: int, limit: int
) -> list[QueuedMail]:
    """Mails due now, each leased to the caller until ``now_ms + lease_ms``."""
    rows = connection.execute(_DUE_MAIL, {"now_ms": now_ms, "limit": limit}).all()
    taken = []
    for row in rows:
        values = {"mail_seq": row[0], "was_due": row[6], "until_ms": now_ms + lease_ms}
        if connection.execute(_CLAIM_MAIL, values).rowcount == 1:
            taken.append(_mail_from(row))
    return taken


def mail_sent(connection: Connection, seq: int, now_ms: int) -> None:
    """The relay accepted mail ``seq``."""
    connection.execute(_MAIL_SENT, {"mail_seq": seq, "now_ms": now_ms})


def mail_failed(connection: Connection, seq: int, attempts: int, next_ms: int, error: str) -> None:
    """Mail ``seq`` failed its ``attempts``-th try; try again at ``next_ms``."""
    values = {"mail_seq": seq, "attempts": attempts, "next_ms": next_ms, "error": error[:200]}
    connection.execute(_MAIL_FAILED, values)


def all_mail(connection: Connection) -> list[QueuedMail]:
    """Every queued mail, sent or not, oldest first (operations and tests)."""
    return [_mail_from(r) for r in connection.execute(_MAIL_OF).all()]


# ---------------------------------------------------------------- cursor and publishers


def cursor(connection: Connection) -> tuple[int, int] | None:
    """(seq evaluated up to, when alerts were last looked at); None before the first run."""
    row = connection.execute(_CURSOR).first()
    return None if row is None else (int(row[0]), int(row[1]))


def set_cursor(connection: Connection, seq: int, alerts_ms: int) -> None:
    """Record how far the notifier has evaluated."""
    connection.execute(_CURSOR_UPSERT.on(connection), {"id": 1, "seq": seq, "alerts_ms": alerts_ms})


def publishers(connection: Connection, envelope_ids: Sequence[str]) -> dict[str, list[str]]:
    """The owners (``user:<id>``) who published each of ``envelope_ids`` here."""
    if not envelope_ids:
        return {}
    found: dict[str, list[str]] = {}
    for subject, user_id in connection.execute(_PUBLISHERS, {"subjects": list(envelope_ids)}):
        found.setdefault(subject, []).append(f"user:{user_id}")
    return found
