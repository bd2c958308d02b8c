"""Read receipts: the sender of a notice learns when a person opened it.

Delivery is acknowledged by the receiving node in its inbox answer; reading
is a person's act, so the first time someone opens a received notice
through the API, the node seals a signed ``receipt`` (status ``read``) to the
sender and queues it like any envelope. The sender's node keeps it beside
the delivery state of that recipient ("delivered at …, read at …"). Receipts
are not notices: they are stored and shown, never listed in feeds.
"""

from __future__ import annotations

import logging

from baliza.crypto import seal
from baliza.node.core.clock import new_envelope_id, now_ms
from baliza.node.services.context import NodeContext
from baliza.node.services.recipients import Audience, resolve
from baliza.node.storage.delivery import Outbox
from baliza.node.storage.envelopes import SentEnvelope, SentEnvelopes
from baliza.node.storage.notices import Direction, StoredNotice
from baliza.node.storage.receipts import Receipt, Receipts, ReceiptState
from baliza.protocol.envelope import MessageKind
from baliza.protocol.errors import BalizaError
from baliza.protocol.handling import Handling, Tlp
from baliza.protocol.ids import AgencyId, EnvelopeId
from baliza.protocol.notices import Receipt as ReceiptNotice
from baliza.protocol.notices import ReceiptStatus

log = logging.getLogger(__name__)


async def send_read_receipt(ctx: NodeContext, notice: StoredNotice) -> bool:
    """Tell the sender that ``notice`` was read here, once; return whether one was sent."""
    if notice.direction is not Direction.IN or notice.kind == MessageKind.RECEIPT.value:
        return False
    async with ctx.db.transaction(readonly=True) as session:
        earlier = await Receipts(session).for_envelope(notice.envelope_id)
    if any(r.from_agency == ctx.agency and r.state is ReceiptState.READ for r in earlier):
        return False
    now = now_ms()
    try:
        to = resolve(
            ctx.trust, Audience(agencies=(AgencyId(notice.sender),)), me=ctx.agency, now_ms=now
        )
    except BalizaError as err:  # the sender left the federation: nobody to tell
        log.info("no read receipt for %s: %s", notice.envelope_id, err)
        return False
    signer = ctx.signing_keys()
    envelope = seal(
        ReceiptNotice(
            envelope=EnvelopeId(notice.envelope_id), status=ReceiptStatus.READ, at_ms=now
        ),
        sender=signer,
        recipients=to.sealing_keys(signer.public()),
        handling=Handling(tlp=Tlp.AMBER),
        envelope_id=new_envelope_id(),
        created_ms=now,
    )
    async with ctx.db.transaction() as session:
        mine = Receipt(
            envelope_id=notice.envelope_id,
            from_agency=ctx.agency,
            state=ReceiptState.READ,
            at_ms=now,
        )
        if not await Receipts(session).add(mine):
            return False  # another request got there first
        await SentEnvelopes(session).add(
            SentEnvelope(
                id=envelope.id,
                kind=envelope.header.kind.value,
                created_ms=now,
                recipients=to.addressees(),
                raw=envelope.raw,
            )
        )
        await Outbox(session).enqueue_many(list(to.agencies), envelope.id, now)
    for agency in to.agencies:
        ctx.wakeup(agency).set()
    return True
