"""The handling rules that decide whether a notice may travel further.

One function per question, each answering with the rule it applied, so every
refusal names its rule:

- may a subscriber receive a notice with this handling? (``subscriber_rule``)
- may a recipient pass a received notice on, and does it need the
  originator's permission first? (``share_rule``)

TLP 2.0 limits how far (RED: only the named recipients; AMBER+STRICT: only the
receiving organisation). The handling codes limit what a recipient may do: H2
forbids onward dissemination without the provider's permission, and H3 states
restrictions only a person can judge, so both need the originator's consent.
H0 (law-enforcement use) and H1 (no court use without permission) do not stop
sharing between the law-enforcement members of a federation.

A share must prove whose words it carries: its sealed body is a
``SharedOriginal``, the originator's own signed envelope with the content key
that opens it, never a notice the sharer wrote down. A receiver verifies the
originator's signature, the key against the envelope's signed commitment, and
reads the notice from the original's body (``crypto.seal.open_original``), so
a share can neither invent a notice nor change a word of one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from baliza.protocol.canonical import Limits, Value, decode, encode
from baliza.protocol.envelope import MAX_BODY
from baliza.protocol.errors import InputError, ReasonCode, TrustError
from baliza.protocol.fields import FieldReader
from baliza.protocol.handling import Handling, HandlingCode, Tlp

RULE_RED = "TLP:RED never leaves its named recipients"
RULE_AMBER_STRICT = "TLP:AMBER+STRICT stays inside the receiving organisation"
RULE_H2 = "H2: no onward dissemination without the provider's permission"
RULE_H3 = "H3: the stated restrictions need the provider's permission to pass it on"


class ShareNeed(StrEnum):
    """What passing a notice on requires."""

    FREE = "free"
    PERMISSION = "permission"


@dataclass(frozen=True, slots=True)
class ShareRule:
    """Whether a share may go now or after a grant, and the rule that says so."""

    need: ShareNeed
    rule: str | None = None


def _far_enough(handling: Handling) -> None:
    if handling.tlp is Tlp.RED:
        raise TrustError(ReasonCode.HANDLING_FORBIDS, RULE_RED, path="handling.tlp")
    if handling.tlp is Tlp.AMBER_STRICT:
        raise TrustError(ReasonCode.HANDLING_FORBIDS, RULE_AMBER_STRICT, path="handling.tlp")


def subscriber_rule(handling: Handling) -> str | None:
    """The rule that keeps a notice from subscribers, or None when they may receive it."""
    try:
        _far_enough(handling)
    except TrustError as err:
        return err.detail
    return None


def share_rule(handling: Handling) -> ShareRule:
    """Whether a received notice may be passed on; raise ``TrustError`` naming the rule if never."""
    _far_enough(handling)
    if HandlingCode.H2 in handling.codes:
        return ShareRule(ShareNeed.PERMISSION, RULE_H2)
    if HandlingCode.H3 in handling.codes:
        return ShareRule(ShareNeed.PERMISSION, RULE_H3)
    return ShareRule(ShareNeed.FREE)


SHARE_VERSION = 1
CONTENT_KEY_LEN = 32
#: The original rides inside the share's body, which is at most ``MAX_BODY``.
MAX_ORIGINAL = MAX_BODY - 1024
_SHARE_LIMITS = Limits(max_size=MAX_BODY, max_depth=2, max_items=8, max_bin=MAX_ORIGINAL)


@dataclass(frozen=True, slots=True, kw_only=True)
class SharedOriginal:
    """The plaintext of a share: the originator's envelope, as received, and its content key.

    ``original`` is the exact bytes the originator signed (chapter 02 §5);
    ``content_key`` the key its header commits to. Both travel only inside
    the share's own encryption: they open nothing but the notice the share
    passes on.
    """

    original: bytes
    content_key: bytes

    def __post_init__(self) -> None:
        if len(self.content_key) != CONTENT_KEY_LEN:
            raise InputError(
                ReasonCode.BAD_LENGTH, f"must be {CONTENT_KEY_LEN} bytes", path="content_key"
            )
        if not 0 < len(self.original) <= MAX_ORIGINAL:
            raise InputError(ReasonCode.BAD_LENGTH, "no original envelope", path="original")

    def to_bytes(self) -> bytes:
        """Canonical bytes: what a share envelope seals."""
        out: dict[str, Value] = {
            "v": SHARE_VERSION,
            "content_key": self.content_key,
            "original": self.original,
        }
        return encode(out)

    @classmethod
    def from_bytes(cls, data: bytes) -> SharedOriginal:
        """Parse and validate; raise ``InputError`` naming the field."""
        reader = FieldReader(decode(data, _SHARE_LIMITS))
        reader.integer("v", lo=SHARE_VERSION, hi=SHARE_VERSION)
        body = cls(
            content_key=reader.blob(
                "content_key", min_len=CONTENT_KEY_LEN, max_len=CONTENT_KEY_LEN
            ),
            original=reader.blob("original", min_len=1, max_len=MAX_ORIGINAL),
        )
        reader.finish()
        return body
