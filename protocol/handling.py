"""Handling: who may see a notice and what they may do with it.

Two schemes travel together. TLP 2.0 (FIRST) says how far a notice may be
shared; the handling codes of European police cooperation (H0-H3, as used by
SIENA) say what a recipient may do with it. Both sit in the envelope header,
signed and in clear, so a node can enforce them without decrypting.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from baliza.protocol.canonical import Value
from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.fields import FieldReader, check_enum, check_line

# Characters (Unicode code points), not bytes: 500 of them take at most 2000
# bytes in UTF-8, which the header's decoding profile allows for one string.
MAX_RESTRICTIONS = 500


class Tlp(StrEnum):
    """Traffic Light Protocol 2.0 labels."""

    CLEAR = "clear"
    GREEN = "green"
    AMBER = "amber"
    AMBER_STRICT = "amber+strict"
    RED = "red"


class HandlingCode(StrEnum):
    """Handling codes of European police cooperation."""

    H0 = "h0"  # law-enforcement use only
    H1 = "h1"  # not for use in court without the provider's permission
    H2 = "h2"  # no onward dissemination without permission
    H3 = "h3"  # other restrictions, stated in ``restrictions``


@dataclass(frozen=True, slots=True, kw_only=True)
class Handling:
    """TLP label, handling codes (sorted, unique) and stated restrictions."""

    tlp: Tlp
    codes: tuple[HandlingCode, ...] = ()
    restrictions: str | None = None

    def __post_init__(self) -> None:
        if tuple(sorted(set(self.codes))) != self.codes:
            raise InputError(ReasonCode.NON_CANONICAL, "must be sorted and unique", path="codes")
        if HandlingCode.H3 in self.codes and not self.restrictions:
            raise InputError(
                ReasonCode.MISSING_FIELD,
                "h3 requires the restrictions to be stated",
                path="restrictions",
            )
        if self.restrictions is not None:
            if not 1 <= len(self.restrictions) <= MAX_RESTRICTIONS:
                raise InputError(
                    ReasonCode.BAD_LENGTH,
                    f"must be 1 to {MAX_RESTRICTIONS} characters",
                    path="restrictions",
                )
            check_line(self.restrictions, "restrictions")

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        out: dict[str, Value] = {"tlp": self.tlp.value}
        if self.codes:
            out["codes"] = [c.value for c in self.codes]
        if self.restrictions is not None:
            out["restrictions"] = self.restrictions
        return out

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> Handling:
        """Build from a canonical map; raise ``InputError`` naming the field."""
        reader = FieldReader(value, path)
        tlp = reader.choice("tlp", Tlp)
        codes = reader.array("codes", lambda v, p: check_enum(v, p, HandlingCode), max_len=4)
        restrictions = reader.opt_text("restrictions", max_len=MAX_RESTRICTIONS)
        reader.finish()
        try:
            return cls(tlp=tlp, codes=codes, restrictions=restrictions)
        except InputError as err:
            raise err.at(path) if path else err from None
