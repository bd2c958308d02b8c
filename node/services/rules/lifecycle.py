"""Rules for a notice that supersedes another: whose it is, what kind, what handling, where.

Rules of this file: pure functions of facts already read; each raises a
``BalizaError`` with the rule's reason code, or returns None. A correction or
a retraction is held to them exactly as a notice naming ``supersedes`` is.

- Only its sender may supersede a notice, and only one it sent to the node
  asking (``foreign_supersedes``). Publish and ingest ask the same function:
  ``check_supersedes_owner``.
- A correction replaces a notice of the same kind, a retraction withdraws a
  fact-stating notice (``kind_mismatch``).
- Superseding never lowers the handling of what it supersedes: not a lower
  TLP, no handling code dropped, stated restrictions kept word for word
  (``handling_forbids``). Recipients of a TLP:RED notice must never get its
  replacement as CLEAR.
- A notice that went to a channel is superseded in the same channel
  (``wrong_channel``): the correction of a JIT's case notice must not reach
  a member removed since, nor anyone outside.
"""

from __future__ import annotations

from baliza.node.services.rules.content import carried_kind
from baliza.node.services.rules.facts import Superseded
from baliza.protocol.envelope import MessageKind
from baliza.protocol.errors import ReasonCode, TrustError
from baliza.protocol.handling import Handling, Tlp
from baliza.protocol.ids import AgencyId, ChannelId, EnvelopeId
from baliza.protocol.notices import Notice
from baliza.protocol.notices.lifecycle import CORRECTABLE

#: TLP 2.0 from the widest to the narrowest audience.
TLP_ORDER = (Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED)


def check_supersedes_owner(
    sender: AgencyId, supersedes: EnvelopeId, owner: str | None, *, path: str
) -> None:
    """Refuse ``sender`` superseding ``supersedes`` unless ``owner`` (its sender) is ``sender``.

    ``owner`` None: this node holds no such envelope. The publisher holds
    everything it sent, and a receiver everything its sender sent it, so
    either way ``sender`` never sent that envelope here: a correction or
    retraction of it would replace or withdraw words this node never had
    from ``sender``, so it is refused too.
    """
    if owner is None:
        raise TrustError(
            ReasonCode.FOREIGN_SUPERSEDES,
            f"only its sender may supersede a notice: {sender} never sent {supersedes} here",
            path=path,
        )
    if owner != sender:
        raise TrustError(
            ReasonCode.FOREIGN_SUPERSEDES,
            f"only its sender may supersede a notice: {supersedes} was sent by {owner}",
            path=path,
        )


def check_same_kind(notice: Notice, superseded: Superseded) -> None:
    """A correction replaces a notice of its kind; a retraction withdraws a fact-stating one."""
    kind = carried_kind(notice)
    if kind is MessageKind.RETRACTION:
        if superseded.kind in CORRECTABLE:
            return
        rule = "a retraction withdraws only a seizure, alert, outcome or case notice"
    elif kind.value == superseded.kind:
        return
    else:
        rule = f"it is replaced only by a {superseded.kind}"
    raise TrustError(
        ReasonCode.KIND_MISMATCH, f"{superseded.id} is a {superseded.kind}: {rule}", path="notice"
    )


def lowered(new: Handling, old: Handling) -> str | None:
    """What ``new`` loosens compared with ``old`` (a sentence), or None when it keeps all of it."""
    if TLP_ORDER.index(new.tlp) < TLP_ORDER.index(old.tlp):
        return f"TLP:{new.tlp.value.upper()} is lower than TLP:{old.tlp.value.upper()}"
    dropped = sorted(set(old.codes) - set(new.codes))
    if dropped:
        return f"drops the handling code {', '.join(c.value.upper() for c in dropped)}"
    if old.restrictions is not None and new.restrictions != old.restrictions:
        return "changes the stated restrictions"
    return None


def check_handling_kept(handling: Handling, superseded: Superseded) -> None:
    """Superseding keeps at least the handling of what it supersedes (``handling_forbids``)."""
    loosened = lowered(handling, superseded.handling)
    if loosened is not None:
        raise TrustError(
            ReasonCode.HANDLING_FORBIDS,
            f"a notice superseding {superseded.id} keeps at least its handling: this {loosened}",
            path="handling",
        )


def check_same_channel(channel: ChannelId | None, superseded: Superseded) -> None:
    """A notice that went to a channel is superseded in that channel, and only there."""
    if superseded.channel is not None and channel != superseded.channel:
        raise TrustError(
            ReasonCode.WRONG_CHANNEL,
            f"{superseded.id} went to the channel {superseded.channel}: "
            "what supersedes it goes to the same channel",
            path="channel",
        )
