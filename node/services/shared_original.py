"""The originator's envelope a share carries: taken from what this node holds, checked on arrival.

A share's sealed body is a ``SharedOriginal`` (``protocol.sharing``): the
originator's envelope exactly as signed, and the content key its header
commits to. The sharer takes both from its own copy: the envelope it
received from the originator (unwrapping the key as a recipient), or, for a
share of a share, the ``SharedOriginal`` inside the share it received. The
receiver believes the notice only as the originator's signed envelope says
it, so a member can neither invent another agency's notice nor change a word
of one (threat model, "Third attack round", item 3).
"""

from __future__ import annotations

from dataclasses import dataclass

from baliza.crypto import open_bytes
from baliza.crypto.seal import content_key, open_original
from baliza.node.core.clock import now_ms
from baliza.node.services.context import NodeContext
from baliza.node.services.plausibility import check_unit_agency
from baliza.node.services.rules.shares import check_share_of
from baliza.protocol.envelope import Envelope, parse_envelope
from baliza.protocol.errors import BalizaError, InputError, ReasonCode
from baliza.protocol.ids import AgencyId
from baliza.protocol.notices import Notice, decode_notice
from baliza.protocol.sharing import SharedOriginal


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenedShare:
    """A share as the receiver believes it: the originator's notice, bytes and agency."""

    notice: Notice
    plaintext: bytes
    originator: AgencyId


def carried_original(ctx: NodeContext, received: Envelope) -> SharedOriginal:
    """What a share of ``received`` (an envelope this node received) carries.

    Raises as opening would: this node must still be able to verify and
    open its copy to pass it on.
    """
    header = received.header
    sender = ctx.trust.sender_key(header.sender, header.sender_key, header.created_ms, now_ms())
    own = ctx.keyring.for_envelope(received)
    if header.shares is not None:  # a share of a share passes on the same original
        return _shared_original(open_bytes(received, recipient=own, sender=sender.keys))
    key = content_key(received, recipient=own, sender=sender.keys)
    return SharedOriginal(original=received.raw, content_key=key)


def open_share_body(ctx: NodeContext, share: Envelope, plaintext: bytes) -> OpenedShare:
    """The originator's notice inside ``plaintext``, the opened body of the share ``share``.

    Checks, in order: the body is a ``SharedOriginal`` (paths under
    ``body``); the carried envelope parses and is the one ``shares`` names,
    under the share rules (``rules.shares``); the originator's key valid when
    it was created signed it; the content key is the one it commits to and
    opens its body; the notice is of the original's kind and its reporting
    unit is the originator's.
    """
    carried = _shared_original(plaintext)
    try:
        original = parse_envelope(carried.original)
    except BalizaError as err:
        raise err.at("body.original") from None
    check_share_of(share.header, original.header)
    header = original.header
    key = ctx.trust.sender_key(header.sender, header.sender_key, header.created_ms, now_ms())
    try:
        notice_bytes = open_original(original, content_key=carried.content_key, sender=key.keys)
        notice = decode_notice(notice_bytes)
    except BalizaError as err:
        raise err.at("body.original") from None
    if notice.kind != header.kind:
        raise InputError(
            ReasonCode.KIND_MISMATCH,
            f"the original says {header.kind.value}, its notice is {notice.kind.value}",
            path="body.original.body.kind",
        )
    check_unit_agency(notice, header.sender)
    return OpenedShare(notice=notice, plaintext=notice_bytes, originator=header.sender)


def _shared_original(plaintext: bytes) -> SharedOriginal:
    """The share's body read as a ``SharedOriginal``; anything else is one ``malformed``.

    A share without the originator's envelope (a bare notice, as shares once
    were) proves nothing about whose words it carries.
    """
    try:
        return SharedOriginal.from_bytes(plaintext)
    except BalizaError as err:
        raise InputError(
            ReasonCode.MALFORMED,
            "a share carries the originator's signed envelope and its content key, "
            f"not this ({err.reason.value} at {err.path or 'the top'})",
            path="body",
        ) from None
