"""Read receipts: the sender of a notice learns when a person opened it.

Delivery is acknowledged by the receiving node in its inbox answer; reading
is a person's act, so when someone marks a received notice read (an
explicit request: opening it only reads), the node seals a signed
``receipt`` (status ``read``) to the sender and queues it like any
envelope. The sender's node keeps it beside the delivery state of that
recipient ("delivered at …, read at …"). Receipts are not notices: they are
stored and shown, never listed in feeds.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from sqlalchemy import Connection

from baliza.crypto import seal
from baliza.node.core.clock import new_envelope_id, now_ms
from baliza.node.services.context import NodeContext
from baliza.node.services.recipients import Audience, resolve
from baliza.node.storage import audit
from baliza.node.storage.envelopes import SentEnvelope
from baliza.node.storage.notices import Direction
from baliza.node.storage.receipts import Receipt, ReceiptState
from baliza.node.storage.sql import audit as audit_rows
from baliza.node.storage.sql import envelopes as envelope_rows
from baliza.node.storage.sql import receipts as receipt_rows
from baliza.node.storage.sql import users as user_rows
from baliza.protocol.envelope import MessageKind
from baliza.protocol.errors import BalizaError
from baliza.protocol.handling import Handling, Tlp
from baliza.protocol.ids import AgencyId, EnvelopeId
from baliza.protocol.notices import Receipt as ReceiptNotice
from baliza.protocol.notices import ReceiptStatus

log = logging.getLogger(__name__)


def _store_receipt(
    connection: Connection,
    mine: Receipt,
    envelope: SentEnvelope,
    to: Sequence[str],
    reader: str | None = None,
) -> bool:
    """Unit: record this node's receipt and queue its envelope, unless one is recorded.

    With ``reader`` (a user id), which person read it is recorded with it.
    """
    if not receipt_rows.add_receipt(connection, mine):
        return False  # another request got there first
    if reader is not None:
        user_rows.record_action(
            connection, at_ms=mine.at_ms, user_id=reader, action="read", subject=mine.envelope_id
        )
    envelope_rows.insert_sent(connection, [envelope])
    audit_rows.append(connection, [audit.read(mine, to[0]), audit.sent(envelope)])
    envelope_rows.enqueue(connection, [(to, envelope.id, envelope.created_ms)])
    return True


async def send_read_receipt(
    ctx: NodeContext, envelope_id: str, sender: str, now: int, *, reader: str | None = None
) -> bool:
    """Seal a read receipt for ``sender``'s notice ``envelope_id`` and queue it, in one write.

    Returns False when nothing was sent: the sender left the federation, or
    another request recorded this node's receipt first (the unique receipt
    row decides, so the sender never gets two).
    """
    try:
        to = resolve(ctx.trust, Audience(agencies=(AgencyId(sender),)), me=ctx.agency, now_ms=now)
    except BalizaError as err:  # the sender left the federation: nobody to tell
        log.info("no read receipt for %s: %s", envelope_id, err)
        return False
    signer = ctx.signing_keys()
    envelope = seal(
        ReceiptNotice(envelope=EnvelopeId(envelope_id), status=ReceiptStatus.READ, at_ms=now),
        sender=signer,
        recipients=to.sealing_keys(signer.public()),
        handling=Handling(tlp=Tlp.AMBER),
        envelope_id=new_envelope_id(),
        created_ms=now,
    )
    mine = Receipt(
        envelope_id=envelope_id, from_agency=ctx.agency, state=ReceiptState.READ, at_ms=now
    )
    sent = SentEnvelope(
        id=envelope.id,
        kind=envelope.header.kind.value,
        created_ms=now,
        recipients=to.addressees(),
        raw=envelope.raw,
    )
    stored = await ctx.db.run(
        partial(_store_receipt, mine=mine, envelope=sent, to=list(to.agencies), reader=reader),
        write=True,
    )
    if stored:
        for agency in to.agencies:
            ctx.wakeup(agency).set()
    return stored


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadMark:
    """What marking a notice read did: whether a receipt left now, and when it was read here.

    ``read_ms`` is ``None`` for a notice this node sent (nobody here reads it
    for its sender), and when no receipt could be sent (its sender left the
    federation) or a concurrent request recorded it first.
    """

    id: str
    receipt_sent: bool
    read_ms: int | None


async def mark_read(
    ctx: NodeContext, eid: str, sender: str | None = None, *, reader: str | None = None
) -> ReadMark:
    """A person here read the received notice ``eid``: tell its sender, once.

    ``reader`` is the account of the person (or of a token's owner; None
    for a service's token); the
    receipt names only the agency, the node records who (``person_actions``).

    The explicit act behind ``POST /api/v1/notices/{id}/read``, the console's
    "mark as read" button and ``baliza show``; reading a notice never does it.
    One read (the notice and this node's first read receipt, one statement),
    then at most one write. Idempotent: a second call sends nothing and
    answers when it was first read. Raises ``StorageError`` (not found) when
    no such notice is stored.
    """
    target = await ctx.db.run(
        partial(receipt_rows.read_target, envelope_id=eid, sender=sender, me=ctx.agency),
        write=False,
    )
    if target.direction != Direction.IN.value or target.kind == MessageKind.RECEIPT.value:
        return ReadMark(id=eid, receipt_sent=False, read_ms=None)
    if target.read_ms is not None:
        return ReadMark(id=eid, receipt_sent=False, read_ms=target.read_ms)
    now = now_ms()
    sent = await send_read_receipt(ctx, eid, target.sender, now, reader=reader)
    return ReadMark(id=eid, receipt_sent=sent, read_ms=now if sent else None)
