"""The facts a publication decision needs, read beforehand in one read.

Everything here is plain data: the decision functions (``decide.py``) take
these, the request, the node's policy and the time, and never touch storage,
so each rule can be tested with a table of facts and no database.
"""

from __future__ import annotations

from dataclasses import dataclass

from baliza.node.core.config import NodeConfig
from baliza.node.services.recipients import ChannelRoster
from baliza.protocol.handling import Handling
from baliza.protocol.ids import AgencyId, ChannelId, EnvelopeId


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """The node's policy for nominal data: the agencies and channels that may receive it.

    ``nominal_recipients`` None means no list was set: every named recipient
    may receive nominal data, and no subscriber.
    """

    nominal_recipients: frozenset[str] | None = None

    @classmethod
    def of(cls, config: NodeConfig) -> Policy:
        """The policy the node's configuration states."""
        listed = config.nominal_recipients
        return cls(nominal_recipients=None if listed is None else frozenset(listed))


@dataclass(frozen=True, slots=True, kw_only=True)
class Superseded:
    """The envelope a publication supersedes, as this node holds it.

    ``sender`` is whoever sent it (this agency for one sent from here);
    ``kind`` is what it carries (a correction's replacement kind);
    ``channel`` the channel it went to, if any; ``identity`` what it is
    (``identity.notice_identity``), when known; ``reached`` (for one this
    agency sent) each agency it went to and how (``named``, ``channel``,
    ``subscription``): whoever received a notice receives what corrects or
    withdraws it.
    """

    id: EnvelopeId
    sender: AgencyId
    kind: str
    handling: Handling
    channel: ChannelId | None = None
    identity: str | None = None
    reached: tuple[tuple[AgencyId, str], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelFacts:
    """The channel a publication names: the latest membership this node holds.

    ``alarm``: the reason code of the alarm that paused sends to it (another
    founding or a fork was offered here), or None.
    """

    roster: ChannelRoster
    kind: str
    expires_ms: int
    alarm: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceivedCopy:
    """A notice received from another agency that is the same notice as the one published."""

    envelope_id: str
    sender: str
    tlp: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AnsweredAlert:
    """The alert an outcome answers, as this node holds it: who sent it, to whom."""

    sender: AgencyId
    recipients: tuple[AgencyId, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PublicationFacts:
    """What a publication decision reads: all of it in one read transaction.

    ``superseded`` None with a ``supersedes`` in the request means this node
    holds no such envelope; ``channel`` None with a channel in the request
    means this node knows no such channel. ``answered``: for an outcome, the
    alert it answers when this node holds it.
    """

    me: AgencyId
    superseded: Superseded | None = None
    same_as: ReceivedCopy | None = None
    subscribers: tuple[AgencyId, ...] = ()
    channel: ChannelFacts | None = None
    answered: AnsweredAlert | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ShareFacts:
    """What a share decision reads about the received notice it passes on.

    ``received`` is False for a notice this node sent (publish it instead);
    ``channel`` and ``channel_kind`` say where it was received (``channel_kind``
    None: a channel this node no longer knows); ``had`` lists the agencies it
    was already addressed to; ``originator`` is whose notice it is.
    """

    me: AgencyId
    received: bool
    sender: AgencyId
    originator: AgencyId
    handling: Handling
    channel: ChannelId | None = None
    channel_kind: str | None = None
    had: frozenset[str] = frozenset()
