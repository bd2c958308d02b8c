"""What a notice carries, looking through a correction to its replacement.

A correction is an envelope of kind ``notice.correction`` whose ``notice`` is
a complete replacement: to every rule it *is* that replacement. Rules that
looked only at the top level let a correction carry a passport number past
the nominal policy or a case notice out of its JIT, so every rule asks these
functions, never ``notice.kind`` or ``notice.nominal`` directly.
"""

from __future__ import annotations

from dataclasses import replace

from baliza.protocol.envelope import MessageKind
from baliza.protocol.notices import (
    CaseNotice,
    Correction,
    Notice,
    PreArrivalAlert,
    SeizureNotice,
)


def carried(notice: Notice) -> Notice:
    """The notice as recipients will read it: a correction's replacement, else itself."""
    return notice.notice if isinstance(notice, Correction) else notice


def carried_kind(notice: Notice) -> MessageKind:
    """The kind of what ``notice`` carries (``notice.case`` for a corrected case notice)."""
    return carried(notice).kind


def has_nominal(notice: Notice) -> bool:
    """Whether the notice, or the replacement a correction carries, has a nominal section."""
    return getattr(carried(notice), "nominal", None) is not None


def without_nominal(notice: Notice) -> Notice:
    """The same notice without its nominal section (inside a correction too)."""
    if isinstance(notice, Correction):
        inner = notice.notice
        if isinstance(inner, SeizureNotice | PreArrivalAlert | CaseNotice):
            return replace(notice, notice=replace(inner, nominal=None))
        return notice
    if isinstance(notice, SeizureNotice | PreArrivalAlert | CaseNotice):
        return replace(notice, nominal=None)
    return notice
