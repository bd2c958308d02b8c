"""Evaluation codes: how far the source and the information can be trusted.

Two named schemes travel on the wire, because partners use both:

* ``4x4`` — the scheme of European police cooperation (Europol, SIENA):
  source reliability A (no doubt), B (mostly reliable), C (not reliable),
  X (cannot be assessed); information accuracy 1 (known true without
  reservation), 2 (known personally to the source), 3 (not known personally,
  corroborated), 4 (cannot be assessed).
* ``admiralty`` — the 6x6 Admiralty (NATO) scale: reliability A (completely
  reliable) to F (cannot be judged), credibility 1 (confirmed) to 6 (cannot be
  judged).

The scheme is named explicitly so that "B2" is never read in the wrong scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from baliza.protocol.canonical import Value
from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.fields import FieldReader, check_enum, check_int, check_str


class EvaluationScheme(StrEnum):
    """The grading scale an evaluation is written in."""

    FOUR_BY_FOUR = "4x4"
    ADMIRALTY = "admiralty"


#: Allowed source grades and the highest information grade, per scheme.
SCALES: dict[EvaluationScheme, tuple[str, int]] = {
    EvaluationScheme.FOUR_BY_FOUR: ("ABCX", 4),
    EvaluationScheme.ADMIRALTY: ("ABCDEF", 6),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Evaluation:
    """A source grade and an information grade in one named scheme."""

    scheme: EvaluationScheme
    source: str
    information: int

    def __post_init__(self) -> None:
        check_enum(self.scheme, "scheme", EvaluationScheme)
        grades, highest = SCALES[EvaluationScheme(self.scheme)]
        check_str(self.source, "source", max_len=1)
        if self.source not in grades:
            raise InputError(
                ReasonCode.BAD_ENUM,
                f"source grade must be one of {', '.join(grades)} ({self.scheme})",
                path="source",
            )
        check_int(self.information, "information", lo=1, hi=highest)

    @property
    def code(self) -> str:
        """The usual two-character form, e.g. ``B2``."""
        return f"{self.source}{self.information}"

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        return {"scheme": self.scheme.value, "source": self.source, "information": self.information}

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> Evaluation:
        """Build from a canonical map; raise ``InputError`` naming the field."""
        reader = FieldReader(value, path)
        scheme = reader.choice("scheme", EvaluationScheme)
        source = reader.text("source", max_len=1)
        information = reader.integer("information", lo=1, hi=6)
        reader.finish()
        try:
            return cls(scheme=scheme, source=source, information=information)
        except InputError as err:
            raise err.at(path) if path else err from None
