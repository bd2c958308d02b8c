"""Where a sent envelope stands at one recipient: what happened last wins.

Rules of this file: a pure function of facts already read (the outbox row and
the receipts from that recipient); no I/O, no clock.

The outbox row records the last *push*: delivered, refused with the
recipient's reason, or still pending. It is not the whole story. A recipient
that refused a push (``sender_blocked`` while it blocked the sender) may lift
the block and *pull* the envelope from the sender's outbox, which serves
every row whatever its state; and a pull is not answered, so the row stays
``refused``. A signed receipt from that recipient is later proof that it
holds the envelope: it came after any refusal (a recipient cannot acknowledge
what it never stored), so the recipient shows ``delivered``, since the first
receipt, with the refusal gone. Without a receipt the row stands as pushed.
"""

from __future__ import annotations

from dataclasses import dataclass

from baliza.node.storage.delivery import OutboxEntry, OutboxState
from baliza.node.storage.receipts import Receipt


@dataclass(frozen=True, slots=True, kw_only=True)
class Standing:
    """The state a recipient shows, and the facts that go with it."""

    state: OutboxState
    delivered_ms: int | None
    refused_reason: str | None
    refused_detail: str | None


def recipient_standing(entry: OutboxEntry, receipts: list[Receipt]) -> Standing:
    """The recipient's standing from its outbox row and the receipts *it* signed.

    ``receipts`` may hold other recipients' receipts; only those from
    ``entry.destination`` count.
    """
    own = [r.at_ms for r in receipts if r.from_agency == entry.destination]
    if entry.state is OutboxState.DELIVERED or not own:
        return Standing(
            state=entry.state,
            delivered_ms=entry.delivered_ms,
            refused_reason=entry.refused_reason,
            refused_detail=entry.refused_detail,
        )
    return Standing(
        state=OutboxState.DELIVERED,
        delivered_ms=min(own),
        refused_reason=None,
        refused_detail=None,
    )
