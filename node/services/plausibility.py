"""What a signed, well-formed input must also be to be believed.

A valid signature proves who said something, not that it is plausible. These
checks refuse what a member could sign but should never be able to make this
node record: a notice written in another agency's name, a creation time in
the future, a read receipt dated before the notice existed, an
administrator's trust decision against its own agency, text with control
characters in the trust log. Each raises a ``BalizaError`` naming the field.
"""

from __future__ import annotations

import re

from baliza.node.services.rules.content import carried
from baliza.protocol.errors import InputError, ReasonCode, TrustError
from baliza.protocol.notices import Notice

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def check_unit_agency(notice: Notice, sender: str) -> None:
    """A notice's reporting unit is the sender or one of its own units (``sender.unit``).

    A correction's replacement is held to it too: it is what recipients read.
    """
    unit = getattr(carried(notice), "unit", None)
    if unit is None:
        return
    agency = str(unit.agency)
    if agency != sender and not agency.startswith(f"{sender}."):
        raise InputError(
            ReasonCode.INCONSISTENT,
            f"written in the name of {agency}, sent by {sender}",
            path="unit.agency",
        )


def check_not_future(created_ms: int, *, now_ms: int, skew_ms: int) -> None:
    """Nothing can have been created later than now, give or take the clocks' skew."""
    if created_ms > now_ms + skew_ms:
        raise TrustError(ReasonCode.STALE, "created in the future", path="header.created_ms")


def check_receipt_time(
    at_ms: int, *, sent_ms: int, delivered_ms: int | None, now_ms: int, skew_ms: int
) -> None:
    """A receipt is dated between the delivery of its envelope and now (± skew).

    Before the sender learns of the delivery, the envelope's own creation time
    is the lower bound.
    """
    floor = delivered_ms if delivered_ms is not None else sent_ms
    if at_ms < floor - skew_ms:
        raise TrustError(
            ReasonCode.INCONSISTENT, "dated before the envelope reached you", path="at_ms"
        )
    if at_ms > now_ms + skew_ms:
        raise TrustError(ReasonCode.INCONSISTENT, "dated in the future", path="at_ms")


def check_plain_text(text: str, path: str) -> str:
    """Text kept in the trust log: no control or bidirectional-override characters."""
    if _CONTROL.search(text) is not None:
        raise InputError(ReasonCode.BAD_FORMAT, "must not contain control characters", path=path)
    return text


def check_not_self(agency: str, me: str) -> None:
    """A node blocking or pausing its own agency would only cut itself off."""
    if agency == me:
        raise InputError(
            ReasonCode.INCONSISTENT, "this node cannot block its own agency", path="agency"
        )
