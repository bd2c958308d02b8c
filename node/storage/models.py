"""The node's tables, as typed SQLAlchemy 2 declarative models.

Rules of this file:

- Every type is portable between SQLite and PostgreSQL: times are Unix
  milliseconds in ``BigInteger``, bytes are ``LargeBinary``, JSON is ``Text``
  (the node never queries inside it, so native JSON types buy nothing).
- Every constraint and index gets its name from ``NAMING_CONVENTION``, so
  Alembic emits the same names on both engines and a later migration can drop
  or alter a constraint by name.
- Allowed values of state columns are checked by the database too, so a bug in
  one code path cannot write a state that another path does not understand.
- ``migrations/versions`` must describe exactly these tables; a test compares
  them with Alembic's autogenerate and fails on any difference.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# A 64-bit sequence on PostgreSQL (BIGSERIAL); on SQLite only a column declared
# exactly INTEGER PRIMARY KEY aliases the rowid and accepts AUTOINCREMENT, which
# keeps sequence numbers strictly increasing even after deletes. Pagination
# cursors and pull cursors depend on that monotonicity.
SequenceNumber = BigInteger().with_variant(Integer(), "sqlite")

AGENCY_LEN = 100
ENVELOPE_ID_LEN = 36


class Base(DeclarativeBase):
    """Declarative base carrying the shared metadata and naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table_of(model: type[Base]) -> Table:
    """The Core table of ``model``.

    An INSERT of many rows through the table runs SQLAlchemy's executemany
    directly; through the mapped class it first goes through the ORM's
    per-row bookkeeping, which cost more than the rest of storing a notice.
    """
    table = model.__table__
    assert isinstance(table, Table)  # every model here is mapped to a table
    return table


class ReceivedEnvelopeRow(Base):
    """An envelope exactly as a peer delivered it: the evidence, never rewritten."""

    __tablename__ = "received_envelopes"
    __table_args__ = (
        PrimaryKeyConstraint("sender", "id"),
        CheckConstraint("via IN ('push', 'pull')", name="via"),
    )

    # Ids are unique per sender only (a sender chooses them): see storage/envelopes.py.
    id: Mapped[str] = mapped_column(String(ENVELOPE_ID_LEN), index=True)
    sender: Mapped[str] = mapped_column(String(AGENCY_LEN))
    sender_key: Mapped[bytes] = mapped_column(LargeBinary(16))
    kind: Mapped[str] = mapped_column(String(32))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    received_ms: Mapped[int] = mapped_column(BigInteger)
    via: Mapped[str] = mapped_column(String(8))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    signed_by_revoked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class SentEnvelopeRow(Base):
    """An envelope this node sealed, kept byte for byte for retries and pulls."""

    __tablename__ = "sent_envelopes"

    id: Mapped[str] = mapped_column(String(ENVELOPE_ID_LEN), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    raw: Mapped[bytes] = mapped_column(LargeBinary)


class NoticeRow(Base):
    """A decrypted notice, sent or received, indexed for the local API.

    ``seq`` is the local arrival order and the pagination cursor; it says
    nothing about ``created_ms``, which the sender chose.
    """

    __tablename__ = "notices"
    __table_args__ = (
        CheckConstraint("direction IN ('in', 'out')", name="direction"),
        UniqueConstraint("sender", "envelope_id"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(SequenceNumber, primary_key=True, autoincrement=True)
    envelope_id: Mapped[str] = mapped_column(String(ENVELOPE_ID_LEN), index=True)
    direction: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    sender: Mapped[str] = mapped_column(String(AGENCY_LEN), index=True)
    created_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    stored_ms: Mapped[int] = mapped_column(BigInteger)
    programme: Mapped[str | None] = mapped_column(String(16), index=True)
    tlp: Mapped[str] = mapped_column(String(16))
    location: Mapped[str | None] = mapped_column(String(8), index=True)
    summary: Mapped[str] = mapped_column(Text)
    search_text: Mapped[str] = mapped_column(Text)  # accent-free, case-folded
    lang: Mapped[str | None] = mapped_column(String(8))  # text search language: es, pt, en, fr
    notice_json: Mapped[str] = mapped_column(Text)
    supersedes: Mapped[str | None] = mapped_column(String(ENVELOPE_ID_LEN))
    # The full handling block (TLP, codes, restrictions) as canonical JSON.
    handling_json: Mapped[str] = mapped_column(Text, server_default='{"tlp": "amber"}')
    # SHA-256 (hex) of the notice's canonical bytes: finds a re-published copy.
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    # The received notice this one passes on (a share), from the signed header.
    shares: Mapped[str | None] = mapped_column(String(ENVELOPE_ID_LEN), index=True)


class RecipientRow(Base):
    """One agency an envelope (sent or received) is addressed to, and why.

    The one record of "who received this": the API's recipient lists, the
    check that a receipt comes from a recipient, and the channel and
    subscription views all read it. The sender is never listed.
    """

    __tablename__ = "recipients"
    __table_args__ = (
        PrimaryKeyConstraint("envelope_id", "agency"),
        CheckConstraint("via IN ('named', 'channel', 'subscription')", name="via"),
        Index(None, "agency"),
    )

    envelope_id: Mapped[str] = mapped_column(String(ENVELOPE_ID_LEN))
    agency: Mapped[str] = mapped_column(String(AGENCY_LEN))
    via: Mapped[str] = mapped_column(String(16))


class NoticeRefRow(Base):
    """One normalised identifier a notice names (container, vessel, flight…).

    Two notices with the same (ref_type, ref_value) are a "hit".
    """

    __tablename__ = "notice_refs"
    __table_args__ = (
        UniqueConstraint("sender", "envelope_id", "ref_type", "ref_value"),
        # Newest first per reference, for live hits (sql/notices.py newest_hits).
        Index(None, "ref_type", "ref_value", "id"),
        Index(None, "sender", "envelope_id"),
        ForeignKeyConstraint(
            ["sender", "envelope_id"],
            ["notices.sender", "notices.envelope_id"],
            ondelete="CASCADE",
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(SequenceNumber, primary_key=True, autoincrement=True)
    sender: Mapped[str] = mapped_column(String(AGENCY_LEN))
    envelope_id: Mapped[str] = mapped_column(String(ENVELOPE_ID_LEN))
    ref_type: Mapped[str] = mapped_column(String(16))
    ref_value: Mapped[str] = mapped_column(String(128))


class OutboxRow(Base):
    """One (destination, sent envelope) delivery obligation: the durable queue."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("destination", "envelope_id"),
        Index(None, "destination", "state", "seq"),
        CheckConstraint("state IN ('pending', 'delivered', 'refused')", name="state"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(SequenceNumber, primary_key=True, autoincrement=True)
    destination: Mapped[str] = mapped_column(String(AGENCY_LEN))
    envelope_id: Mapped[str] = mapped_column(
        String(ENVELOPE_ID_LEN), ForeignKey("sent_envelopes.id"), index=True
    )
    created_ms: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    delivered_ms: Mapped[int | None] = mapped_column(BigInteger)
    refused_reason: Mapped[str | None] = mapped_column(String(64))
    refused_detail: Mapped[str | None] = mapped_column(Text)
    # Set while one worker process pushes the row (see storage/leases.py):
    # other workers on the same database leave it alone until the lease ends.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    leased_until_ms: Mapped[int | None] = mapped_column(BigInteger)


class DestinationRow(Base):
    """Delivery state of one peer node: where it is and how it has been failing."""

    __tablename__ = "destinations"

    agency: Mapped[str] = mapped_column(String(AGENCY_LEN), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_ms: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    failing_since_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_delivered_ms: Mapped[int | None] = mapped_column(BigInteger)


class MessageRow(Base):
    """A signed federation message (subscription, permission) waiting to reach its peer.

    Written in the transaction that makes the change it announces, so a
    change is never kept without the message that tells the other side, and
    sent oldest first per destination until the peer answers.
    """

    __tablename__ = "fed_messages"
    __table_args__ = (
        Index(None, "destination", "state", "seq"),
        CheckConstraint("state IN ('pending', 'sent', 'refused')", name="state"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(SequenceNumber, primary_key=True, autoincrement=True)
    destination: Mapped[str] = mapped_column(String(AGENCY_LEN))
    path: Mapped[str] = mapped_column(String(200))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_ms: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    done_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)


class PullCursorRow(Base):
    """The last outbox sequence number of a peer that this node has pulled."""

    __tablename__ = "pull_cursors"

    peer: Mapped[str] = mapped_column(String(AGENCY_LEN), primary_key=True)
    cursor: Mapped[int] = mapped_column(BigInteger)


class ApiTokenRow(Base):
    """A bearer token of the local API; only the SHA-256 of its secret is kept."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint("role IN ('publisher', 'analyst', 'admin')", name="role"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    revoked_ms: Mapped[int | None] = mapped_column(BigInteger)
    # The person the token acts for; NULL for a named service's token.
    owner_id: Mapped[str | None] = mapped_column(String(16), ForeignKey("users.id"), index=True)


class TrustEventRow(Base):
    """An append-only record of a trust decision (keys, directory, blocks)."""

    __tablename__ = "trust_events"
    __table_args__ = ({"sqlite_autoincrement": True},)

    seq: Mapped[int] = mapped_column(SequenceNumber, primary_key=True, autoincrement=True)
    at_ms: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text)  # JSON object


class ReceiptRow(Base):
    """A delivery, read or outcome acknowledgement of an envelope by an agency."""

    __tablename__ = "receipts"
    __table_args__ = (
        PrimaryKeyConstraint("envelope_id", "from_agency", "state"),
        CheckConstraint("state IN ('delivered', 'read', 'actioned')", name="state"),
    )

    envelope_id: Mapped[str] = mapped_column(String(ENVELOPE_ID_LEN))
    from_agency: Mapped[str] = mapped_column(String(AGENCY_LEN))
    state: Mapped[str] = mapped_column(String(16))
    at_ms: Mapped[int] = mapped_column(BigInteger)


class DirectoryVersionRow(Base):
    """A federation directory version this node accepted, as signed."""

    __tablename__ = "directory_versions"

    version: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    applied_ms: Mapped[int] = mapped_column(BigInteger)
    expires_ms: Mapped[int] = mapped_column(BigInteger)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    signers: Mapped[str] = mapped_column(Text)  # JSON list of agency ids


class LocalBlockRow(Base):
    """A local decision to block or pause an agency; it only narrows trust."""

    __tablename__ = "local_blocks"
    __table_args__ = (CheckConstraint("kind IN ('block', 'pause')", name="kind"),)

    agency: Mapped[str] = mapped_column(String(AGENCY_LEN), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text)
    at_ms: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(100))


CHANNEL_ID_LEN = 63


class ChannelVersionRow(Base):
    """A channel membership version this node accepted, as its owners signed it."""

    __tablename__ = "channel_versions"
    __table_args__ = (
        PrimaryKeyConstraint("channel", "version"),
        CheckConstraint("kind IN ('programme', 'jit')", name="kind"),
    )

    channel: Mapped[str] = mapped_column(String(CHANNEL_ID_LEN))
    version: Mapped[int] = mapped_column(BigInteger, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    applied_ms: Mapped[int] = mapped_column(BigInteger)
    expires_ms: Mapped[int] = mapped_column(BigInteger)
    raw: Mapped[bytes] = mapped_column(LargeBinary)


class ChannelMemberRow(Base):
    """One member of a channel at one membership version (owners included)."""

    __tablename__ = "channel_members"
    __table_args__ = (
        PrimaryKeyConstraint("channel", "version", "agency"),
        Index(None, "agency"),
    )

    channel: Mapped[str] = mapped_column(String(CHANNEL_ID_LEN))
    version: Mapped[int] = mapped_column(BigInteger, autoincrement=False)
    agency: Mapped[str] = mapped_column(String(AGENCY_LEN))
    owner: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ChannelJoinRow(Base):
    """A request by an agency to join a programme channel this node owns."""

    __tablename__ = "channel_joins"
    __table_args__ = (
        PrimaryKeyConstraint("channel", "agency"),
        CheckConstraint("state IN ('pending', 'approved', 'refused')", name="state"),
    )

    channel: Mapped[str] = mapped_column(String(CHANNEL_ID_LEN))
    agency: Mapped[str] = mapped_column(String(AGENCY_LEN))
    requested_ms: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    decided_ms: Mapped[int | None] = mapped_column(BigInteger)


class ChannelAlarmRow(Base):
    """A channel whose sends are paused: another founding or a fork of its chain was offered.

    While the row exists, nothing is sealed to the channel from this node: it
    cannot tell which of two histories its owners signed, and sealing to the
    wrong one hands case notices to whoever forged it. The administrator ends
    the pause by keeping the chain held or replacing it (the row goes; the
    trust events keep the history).
    """

    __tablename__ = "channel_alarms"

    channel: Mapped[str] = mapped_column(String(CHANNEL_ID_LEN), primary_key=True)
    opened_ms: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(100))


class ConsoleSessionRow(Base):
    """A signed-in console session; only the SHA-256 of its cookie is kept.

    In the database rather than in memory so that every worker process behind
    the same address shares the sessions, and a restart signs nobody out.
    """

    __tablename__ = "console_sessions"
    __table_args__ = (
        # Opened either by a person's account or by an API token, never both.
        CheckConstraint("(token_id IS NULL) <> (user_id IS NULL)", name="one_holder"),
    )

    id_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    token_id: Mapped[str | None] = mapped_column(
        String(16), ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str | None] = mapped_column(
        String(16), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    csrf: Mapped[str] = mapped_column(String(64))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    seen_ms: Mapped[int] = mapped_column(BigInteger)


class UserRow(Base):
    """A person who signs in to the console: password hash, second factor, lock-out state.

    ``login`` is stored case-folded, so ``JRuiz`` and ``jruiz`` are one
    account. ``totp_step`` is the last time step whose code signed in: a
    code of that step or an earlier one is refused as replayed.
    """

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('publisher', 'analyst', 'admin')", name="role"),
        UniqueConstraint("login"),
    )

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    login: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    password: Mapped[str] = mapped_column(
        String(200)
    )  # PHC string: Argon2id parameters, salt, hash
    totp_secret: Mapped[str] = mapped_column(String(64))  # base32
    totp_step: Mapped[int] = mapped_column(BigInteger)
    disabled: Mapped[bool] = mapped_column(Boolean, server_default=false())
    failures: Mapped[int] = mapped_column(Integer)
    locked_until_ms: Mapped[int] = mapped_column(BigInteger)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    last_sign_in_ms: Mapped[int | None] = mapped_column(BigInteger)


class RecoveryCodeRow(Base):
    """A one-time recovery code of a user; only its SHA-256 is kept, and when it was used."""

    __tablename__ = "recovery_codes"

    user_id: Mapped[str] = mapped_column(
        String(16), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    used_ms: Mapped[int | None] = mapped_column(BigInteger)


class SecurityKeyRow(Base):
    """A WebAuthn security key a user registered as a second factor.

    ``credential_id`` is the authenticator's own id for the key pair, unique
    on the node; ``public_key`` is its COSE public key, as registration
    returned it; ``sign_count`` is the last signature counter an assertion
    carried: a counter that goes backwards betrays a cloned key.
    """

    __tablename__ = "security_keys"

    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1023), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        String(16), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    public_key: Mapped[bytes] = mapped_column(LargeBinary(1023))
    sign_count: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(100))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    last_used_ms: Mapped[int | None] = mapped_column(BigInteger)


class WebauthnChallengeRow(Base):
    """A WebAuthn challenge in flight: single use, expiring, bound to one user and purpose.

    ``id_hash`` is the SHA-256 of the random handle the browser holds (the
    pending sign-in's cookie, or the registration's form field); the row is
    deleted by the unit that takes it, whatever the answer's outcome.
    """

    __tablename__ = "webauthn_challenges"
    __table_args__ = (CheckConstraint("purpose IN ('register', 'sign_in')", name="purpose"),)

    id_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        String(16), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(16))
    challenge: Mapped[bytes] = mapped_column(LargeBinary(64))
    expires_ms: Mapped[int] = mapped_column(BigInteger, index=True)


class PersonActionRow(Base):
    """Which person did what to a notice, and when (read, published): kept only here.

    The read receipt a partner gets still names the agency; this row lets
    the agency answer an inquiry about who in it read or published.
    """

    __tablename__ = "person_actions"
    __table_args__ = (
        CheckConstraint(
            "action IN ('read', 'published', 'shared', 'granted', 'admitted', 'refused',"
            " 'assigned', 'released', 'status', 'priority')",
            name="action",
        ),
        Index(None, "subject", "action"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(SequenceNumber, primary_key=True, autoincrement=True)
    at_ms: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[str] = mapped_column(String(16), ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(200))
    # What an inbox change set: the assignee's login, the status or the priority.
    detail: Mapped[str | None] = mapped_column(String(100))


class InboxItemRow(Base):
    """Where a received notice stands in the agency's inbox: who holds it, how far, how urgent.

    A received notice without a row is new, unassigned and of normal
    priority: the row is written at its first change, so nothing has to
    happen on arrival for a notice to be in the inbox.
    """

    __tablename__ = "inbox_items"
    __table_args__ = (
        CheckConstraint("status IN ('new', 'in_progress', 'done')", name="status"),
        CheckConstraint("priority IN ('low', 'normal', 'high', 'urgent')", name="priority"),
    )

    notice_seq: Mapped[int] = mapped_column(
        SequenceNumber, ForeignKey("notices.seq", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(16))
    assignee_id: Mapped[str | None] = mapped_column(String(16), ForeignKey("users.id"), index=True)
    changed_ms: Mapped[int] = mapped_column(BigInteger)


class InboxReadRow(Base):
    """That one person has seen a received notice in their inbox, and when (theirs alone)."""

    __tablename__ = "inbox_reads"

    user_id: Mapped[str] = mapped_column(
        String(16), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    notice_seq: Mapped[int] = mapped_column(
        SequenceNumber, ForeignKey("notices.seq", ondelete="CASCADE"), primary_key=True
    )
    read_ms: Mapped[int] = mapped_column(BigInteger)


class SubscriptionRow(Base):
    """A partner subscription, as the publisher or the subscriber knows it.

    The same id is kept on both nodes; each side holds its own row and tells
    the other of every change by a signed federation request.
    """

    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint(
            "state IN ('requested', 'pending', 'admitted', 'refused', 'paused', 'cancelled')",
            name="state",
        ),
        Index(None, "publisher", "state"),
    )

    id: Mapped[str] = mapped_column(String(ENVELOPE_ID_LEN), primary_key=True)
    publisher: Mapped[str] = mapped_column(String(AGENCY_LEN))
    subscriber: Mapped[str] = mapped_column(String(AGENCY_LEN), index=True)
    filter_json: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    paused_by: Mapped[str | None] = mapped_column(String(AGENCY_LEN))
    note: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class PermissionRow(Base):
    """A request to pass a received notice on, held by the requester and by the originator.

    ``recipients`` (JSON list) are the agencies the requester asked to share
    with; ``share_id`` is the envelope that went out after a grant.
    """

    __tablename__ = "permission_requests"
    __table_args__ = (CheckConstraint("state IN ('pending', 'granted', 'refused')", name="state"),)

    id: Mapped[str] = mapped_column(String(ENVELOPE_ID_LEN), primary_key=True)
    envelope_id: Mapped[str] = mapped_column(String(ENVELOPE_ID_LEN), index=True)
    requester: Mapped[str] = mapped_column(String(AGENCY_LEN))
    originator: Mapped[str] = mapped_column(String(AGENCY_LEN))
    recipients: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    decided_ms: Mapped[int | None] = mapped_column(BigInteger)
    share_id: Mapped[str | None] = mapped_column(String(ENVELOPE_ID_LEN))


class AttachmentFetchRow(Base):
    """Attachment content this node fetched, for one received notice, from that notice's sender.

    Files are stored once per content (by hash), but holding a file is no
    authority to show it under any notice: content counts as a received
    notice's only once it was fetched from that notice's sender, for that
    envelope, and matched what the notice signed. Otherwise a member listing
    the hash of content this node holds from another agency would have it
    shown under its own notice without ever having it, and would learn that
    this node holds it from the fetch that never came.
    """

    __tablename__ = "attachment_fetches"
    __table_args__ = (PrimaryKeyConstraint("sender", "envelope_id", "sha256"),)

    sender: Mapped[str] = mapped_column(String(AGENCY_LEN))
    envelope_id: Mapped[str] = mapped_column(String(ENVELOPE_ID_LEN))
    sha256: Mapped[str] = mapped_column(String(64))
    fetched_ms: Mapped[int] = mapped_column(BigInteger)


class AuditLeafRow(Base):
    """One entry of the node's audit log (spec chapter 11): identifiers and a digest, no content.

    Append-only: ``idx`` is the leaf's position in the Merkle tree, given by
    the append under the lock of ``audit_state``, never by a sequence.
    ``hash`` is the RFC 9162 leaf hash of the entry the other columns make,
    kept so that proofs fold small subtrees without re-encoding entries.
    """

    __tablename__ = "audit_leaves"
    __table_args__ = (Index(None, "subject"),)

    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    at_ms: Mapped[int] = mapped_column(BigInteger)
    subject: Mapped[str] = mapped_column(String(200))
    peer: Mapped[str | None] = mapped_column(String(AGENCY_LEN))
    digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditNodeRow(Base):
    """The hash of one perfect subtree of the audit log, cached so that proofs are O(log n).

    Only subtrees of 16 leaves or more are kept (smaller ones are folded
    from the leaf hashes in ``audit_leaves``, see ``sql/audit.py``); a node
    at (level, idx) covers leaves
    ``idx * 2**level`` to ``(idx + 1) * 2**level - 1``. Written once, when
    its last leaf is appended.
    """

    __tablename__ = "audit_nodes"
    __table_args__ = (PrimaryKeyConstraint("level", "idx"),)

    level: Mapped[int] = mapped_column(Integer, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditStateRow(Base):
    """The one row of the log's size and frontier; appenders lock it, so they queue in order."""

    __tablename__ = "audit_state"
    __table_args__ = (CheckConstraint("id = 1", name="single"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    # The frontier's hashes, 32 bytes each, largest subtree first.
    frontier: Mapped[bytes] = mapped_column(LargeBinary)


class AuditHeadRow(Base):
    """A tree head this node signed, kept as the evidence it gave out."""

    __tablename__ = "audit_heads"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at_ms: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    signed: Mapped[bytes] = mapped_column(LargeBinary)


class AuditPeerHeadRow(Base):
    """A signed tree head a peer gave this node: its latest accepted, or evidence of a fault.

    ``accepted`` heads were checked (signature, consistency with the one
    held before); the newest accepted is what the peer's next head must
    extend. A head that contradicted it is kept with ``accepted`` false, as
    evidence beside the ``audit.equivocation`` trust event that names both.
    """

    __tablename__ = "audit_peer_heads"
    __table_args__ = (PrimaryKeyConstraint("peer", "size", "root"),)

    peer: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    at_ms: Mapped[int] = mapped_column(BigInteger)
    seen_ms: Mapped[int] = mapped_column(BigInteger)
    accepted: Mapped[bool] = mapped_column(Boolean)
    signed: Mapped[bytes] = mapped_column(LargeBinary)


class WatchEntryRow(Base):
    """One thing a person (or a token) follows: an identifier, a saved filter, or everything.

    ``query`` is the filter as a URL query string, exactly what
    ``services.filters.parse_filters`` reads for the API's list and stream,
    so a watch matches what the same query would list. ``owner`` is
    ``user:<id>`` or ``token:<id>``.
    """

    __tablename__ = "watch_entries"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), index=True)
    what: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(500))
    query: Mapped[str] = mapped_column(Text)
    created_ms: Mapped[int] = mapped_column(BigInteger)


class NotificationRow(Base):
    """Something a person should know: a watched notice arrived, a hit, an alert due soon.

    Only the envelope's kind, place and handling are copied here (what a
    notification or its e-mail may say); the notice itself stays where it
    is. One row per owner, cause and subject, so a notice evaluated twice
    notifies once. ``mail`` is where its e-mail stands: ``none`` (no mail),
    ``pending`` (for the next digest) or ``queued`` (in the mail queue).
    """

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint("cause IN ('watch', 'hit', 'overdue', 'permission')", name="cause"),
        CheckConstraint("mail IN ('none', 'pending', 'queued')", name="mail"),
        UniqueConstraint("owner", "cause", "subject"),
        Index(None, "owner", "seq"),
        Index(None, "mail", "owner"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(SequenceNumber, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(64))
    cause: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(ENVELOPE_ID_LEN))
    watch_id: Mapped[str | None] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    location: Mapped[str | None] = mapped_column(String(16))
    tlp: Mapped[str] = mapped_column(String(16))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    read_ms: Mapped[int | None] = mapped_column(BigInteger)
    mail: Mapped[str] = mapped_column(String(8))


class NotifyPrefsRow(Base):
    """Where and how often a person gets e-mail about their notifications."""

    __tablename__ = "notify_prefs"
    __table_args__ = (CheckConstraint("mode IN ('off', 'immediate', 'digest')", name="mode"),)

    owner: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254))
    mode: Mapped[str] = mapped_column(String(16))
    digest_ms: Mapped[int] = mapped_column(BigInteger)
    last_digest_ms: Mapped[int] = mapped_column(BigInteger)


class MailQueueRow(Base):
    """An e-mail to send through the agency's relay, kept until the relay took it.

    A worker claims a row by moving ``due_ms`` forward (a lease), sends with
    no transaction open, then marks it sent or records the failure and the
    next try (backoff). Ingest never waits for it.
    """

    __tablename__ = "mail_queue"
    __table_args__ = (Index(None, "sent_ms", "due_ms"), {"sqlite_autoincrement": True})

    seq: Mapped[int] = mapped_column(SequenceNumber, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(64))
    to_addr: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    due_ms: Mapped[int] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer)
    sent_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(String(200))


class NotifyCursorRow(Base):
    """How far the notifier has evaluated stored notices, and when it last looked at alerts."""

    __tablename__ = "notify_cursor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    alerts_ms: Mapped[int] = mapped_column(BigInteger)


metadata = Base.metadata
