"""The case notice and the correction, from their forms.

A case notice states a JIT's case as its sender sees it now, and travels
only in a JIT channel (the publish service refuses anything else). A
correction carries a full replacement of a notice this agency sent: the
form is the notice's own form, filled in with what was sent (``prefill``),
plus the reason; the replacement is built by the same builders as a new
notice and wrapped in ``notice.correction``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from baliza.node.console.form_parts import TASK_ROWS, drop_empty, nominal, tasks, text, words
from baliza.node.console.forms import (
    alert_notice,
    outcome_notice,
    reported,
    seizure_notice,
    when,
)

NoticeBuilder = Callable[[Mapping[str, str], Mapping[str, list[str]], str, str], dict[str, Any]]


def case_notice(
    form: Mapping[str, str], lists: Mapping[str, list[str]], agency: str, lang: str
) -> dict[str, Any]:
    """A case notice: reference, title, status, offences, linked notices, tasks."""
    due = [when(form, f"task{i}_due") for i in range(TASK_ROWS)]
    return drop_empty(
        {
            **reported(form, lists, agency, lang),
            "kind": "notice.case",
            "case_ref": text(form, "case_ref"),
            "title": text(form, "title"),
            "status": form.get("status"),
            "offences": sorted(set(lists.get("offences", []))),
            "linked": sorted(set(words(form, "linked"))),
            "tasks": tasks(form, due),
            "nominal": nominal(form),
        }
    )


# The notice each form builds; a correction builds the corrected notice's kind.
NOTICES: dict[str, NoticeBuilder] = {
    "alert": alert_notice,
    "seizure": seizure_notice,
    "outcome": outcome_notice,
    "case": case_notice,
}
KIND_OF_FORM = {f"notice.{name}": name for name in NOTICES}


def correction_notice(
    form: Mapping[str, str], lists: Mapping[str, list[str]], agency: str, lang: str
) -> dict[str, Any]:
    """A correction: the replacement notice (of the corrected kind) and the reason."""
    of_kind = form.get("of_kind", "")
    builder = NOTICES.get(of_kind, seizure_notice)
    return drop_empty(
        {
            "v": 1,
            "kind": "notice.correction",
            "supersedes": text(form, "supersedes"),
            "reason": text(form, "reason"),
            "notice": builder(form, lists, agency, lang),
        }
    )
