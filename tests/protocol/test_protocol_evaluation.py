"""Evaluation codes in the two named schemes."""

from __future__ import annotations

import pytest

from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.evaluation import Evaluation, EvaluationScheme

S4 = EvaluationScheme.FOUR_BY_FOUR
S6 = EvaluationScheme.ADMIRALTY


@pytest.mark.parametrize(
    ("scheme", "source", "information"),
    [(S4, "A", 1), (S4, "X", 4), (S6, "F", 6), (S6, "D", 3)],
)
def test_valid_grades(scheme: EvaluationScheme, source: str, information: int) -> None:
    ev = Evaluation(scheme=scheme, source=source, information=information)
    assert ev.code == f"{source}{information}"
    assert Evaluation.from_wire(ev.to_wire()) == ev


@pytest.mark.parametrize(
    ("scheme", "source", "information", "path"),
    [
        (S4, "D", 1, "source"),  # D exists only in the Admiralty scale
        (S4, "A", 5, "information"),
        (S6, "X", 1, "source"),  # X exists only in 4x4
        (S6, "A", 7, "information"),
        (S6, "a", 1, "source"),
    ],
)
def test_grades_outside_the_scheme(
    scheme: EvaluationScheme, source: str, information: int, path: str
) -> None:
    with pytest.raises(InputError) as info:
        Evaluation(scheme=scheme, source=source, information=information)
    assert info.value.path == path
    assert info.value.reason in {ReasonCode.BAD_ENUM, ReasonCode.OUT_OF_RANGE}


def test_from_wire_paths() -> None:
    with pytest.raises(InputError) as info:
        Evaluation.from_wire({"scheme": "5x5", "source": "A", "information": 1}, "evaluation")
    assert (info.value.reason, info.value.path) == (ReasonCode.BAD_ENUM, "evaluation.scheme")
    with pytest.raises(InputError) as info:
        Evaluation.from_wire({"scheme": "4x4", "source": "B", "information": 5}, "evaluation")
    assert info.value.path == "evaluation.information"
