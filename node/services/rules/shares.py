"""What a share must be, checked against the originator's envelope it carries.

Rules of this file: pure functions of two signed headers, the share's and
the original's, read before anything is decrypted with the original's key;
each raises a ``BalizaError`` with the rule's reason code, or returns None.

- ``shares`` names the envelope carried, and that envelope is a first
  envelope, never itself a share (``inconsistent``): a share always points at
  the originator, however many agencies passed it on.
- Only another agency's notice is shared (``inconsistent``): a sender passing
  on its own envelope would be publishing, which has its own rules.
- The share is of the original's kind (``kind_mismatch``); a receipt is no
  notice to pass on.
- Passing on keeps at least the original's handling (``handling_forbids``),
  and TLP:RED and AMBER+STRICT are never passed on (``protocol.sharing``),
  whatever the sharer's node was made to do.
"""

from __future__ import annotations

from baliza.node.services.rules.lifecycle import lowered
from baliza.protocol.envelope import Header, MessageKind
from baliza.protocol.errors import InputError, ReasonCode, TrustError
from baliza.protocol.sharing import share_rule


def check_share_of(share: Header, original: Header) -> None:
    """Refuse a share whose carried envelope is not the original it names, under its rules."""
    if original.id != share.shares:
        raise InputError(
            ReasonCode.INCONSISTENT,
            f"the share names {share.shares} but carries {original.id}",
            path="header.shares",
        )
    if original.shares is not None:
        raise InputError(
            ReasonCode.INCONSISTENT,
            "a share carries the originator's envelope, not another share",
            path="body.original",
        )
    if original.sender == share.sender:
        raise InputError(
            ReasonCode.INCONSISTENT,
            "a share passes on another agency's notice; one's own is published",
            path="header.shares",
        )
    if share.kind is MessageKind.RECEIPT or original.kind != share.kind:
        raise InputError(
            ReasonCode.KIND_MISMATCH,
            f"the share says {share.kind.value}, the original is {original.kind.value}",
            path="header.kind",
        )
    try:
        share_rule(original.handling)
    except TrustError as err:
        raise err.at("body.original") from None
    loosened = lowered(share.handling, original.handling)
    if loosened is not None:
        raise TrustError(
            ReasonCode.HANDLING_FORBIDS,
            f"a share keeps the original's handling: this {loosened}",
            path="header.handling",
        )
