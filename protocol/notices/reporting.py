"""What every reported notice carries: version and kind, programme, unit, text,
evaluation, requests and attachments.

Seizure notices, pre-arrival alerts and case notices share these fields flat
in their top-level map (not nested), so a reader sees ``programme`` in the
same place in every notice. The helpers here check, write and read them once.
"""

from __future__ import annotations

from typing import Any, Protocol

from baliza.protocol.canonical import Value
from baliza.protocol.envelope import MessageKind
from baliza.protocol.errors import InputError, ReasonCode, VersionError
from baliza.protocol.evaluation import Evaluation
from baliza.protocol.fields import FieldReader, check_enum
from baliza.protocol.notices.common import (
    MAX_ATTACHMENTS,
    MAX_REQUESTS,
    NOTICE_VERSION,
    Attachment,
    FreeText,
    Programme,
    ReportingUnit,
    Request,
    check_attachments,
    count,
    put,
)


class Reported(Protocol):
    """The shared fields, as a structural type."""

    @property
    def programme(self) -> Programme: ...
    @property
    def unit(self) -> ReportingUnit: ...
    @property
    def text(self) -> FreeText | None: ...
    @property
    def evaluation(self) -> Evaluation | None: ...
    @property
    def requests(self) -> tuple[Request, ...]: ...
    @property
    def attachments(self) -> tuple[Attachment, ...]: ...


def head(kind: MessageKind) -> dict[str, Value]:
    """The start of every notice map: version and kind."""
    return {"v": NOTICE_VERSION, "kind": kind.value}


def read_head(r: FieldReader, kind: MessageKind) -> None:
    """Consume ``v`` and ``kind``; refuse an unknown version or another kind."""
    version = r.integer("v", lo=0, hi=2**32)
    if version != NOTICE_VERSION:
        raise VersionError(ReasonCode.UNKNOWN_VERSION, f"notice version {version}", path="v")
    found = r.text("kind", max_len=32)
    if found != kind.value:
        raise InputError(
            ReasonCode.KIND_MISMATCH, f"expected {kind.value}, found {found}", path="kind"
        )


def check_reported(notice: Reported) -> None:
    """Validate the shared fields of a directly built notice."""
    check_enum(notice.programme, "programme", Programme)
    if not isinstance(notice.unit, ReportingUnit):
        raise InputError(ReasonCode.WRONG_TYPE, "must be a ReportingUnit", path="unit")
    count(notice.requests, "requests", max_len=MAX_REQUESTS)
    check_attachments(notice.attachments, "attachments")
    actions = [r.action for r in notice.requests]
    if len(set(actions) - {"other"}) != len([a for a in actions if a != "other"]):
        raise InputError(ReasonCode.DUPLICATE_KEY, "an action is requested twice", path="requests")


def write_reported(notice: Reported, out: dict[str, Value]) -> None:
    """Add the shared fields to a wire map."""
    out["programme"] = notice.programme.value
    out["unit"] = notice.unit.to_wire()
    put(out, "text", notice.text)
    put(out, "evaluation", notice.evaluation)
    put(out, "requests", notice.requests)
    put(out, "attachments", notice.attachments)


def read_reported(r: FieldReader) -> dict[str, Any]:
    """Read the shared fields, as keyword arguments for the notice class."""
    return {
        "programme": r.choice("programme", Programme),
        "unit": r.nested("unit", ReportingUnit.from_wire),
        "text": r.opt_nested("text", FreeText.from_wire),
        "evaluation": r.opt_nested("evaluation", Evaluation.from_wire),
        "requests": r.array("requests", Request.from_wire, max_len=MAX_REQUESTS),
        "attachments": r.array("attachments", Attachment.from_wire, max_len=MAX_ATTACHMENTS),
    }
