"""The delivery-state rule on its own: what happened last at a recipient wins."""

from __future__ import annotations

from baliza.node.services.rules.delivery_state import recipient_standing
from baliza.node.storage.delivery import OutboxEntry, OutboxState
from baliza.node.storage.receipts import Receipt, ReceiptState

ALG, CTG = "es.aduanas.alg", "co.polfa.ctg"


def entry(state: OutboxState, **facts: object) -> OutboxEntry:
    return OutboxEntry(
        seq=1,
        destination=ALG,
        envelope_id="e1",
        created_ms=100,
        state=state,
        delivered_ms=facts.get("delivered_ms"),  # type: ignore[arg-type]
        refused_reason=facts.get("reason"),  # type: ignore[arg-type]
        refused_detail=facts.get("detail"),  # type: ignore[arg-type]
    )


def receipt(agency: str, state: ReceiptState, at_ms: int) -> Receipt:
    return Receipt(envelope_id="e1", from_agency=agency, state=state, at_ms=at_ms)


def test_a_receipt_after_a_refusal_makes_it_delivered() -> None:
    refused = entry(OutboxState.REFUSED, reason="sender_blocked", detail="blocked")
    read_later = [receipt(ALG, ReceiptState.READ, 900), receipt(ALG, ReceiptState.DELIVERED, 700)]
    standing = recipient_standing(refused, read_later)
    assert standing.state is OutboxState.DELIVERED
    assert standing.delivered_ms == 700
    assert standing.refused_reason is None and standing.refused_detail is None


def test_a_refusal_without_a_receipt_stands() -> None:
    refused = entry(OutboxState.REFUSED, reason="sender_blocked", detail="blocked")
    # Another recipient's receipt says nothing about this one.
    standing = recipient_standing(refused, [receipt(CTG, ReceiptState.READ, 900)])
    assert standing.state is OutboxState.REFUSED
    assert standing.refused_reason == "sender_blocked"


def test_a_pending_row_with_a_receipt_is_delivered_and_a_push_keeps_its_time() -> None:
    pending = recipient_standing(entry(OutboxState.PENDING), [receipt(ALG, ReceiptState.READ, 5)])
    assert (pending.state, pending.delivered_ms) == (OutboxState.DELIVERED, 5)
    pushed = entry(OutboxState.DELIVERED, delivered_ms=3)
    standing = recipient_standing(pushed, [receipt(ALG, ReceiptState.READ, 9)])
    assert (standing.state, standing.delivered_ms) == (OutboxState.DELIVERED, 3)
