"""The case notice (``notice.case``): state of an investigation shared in a JIT.

A case notice is sent to a joint investigation team's channel; each new one
states the case as its sender sees it now (status, offences, notices linked to
the case, tasks), so a member joining late reads the latest and is up to date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from baliza.protocol.canonical import Value
from baliza.protocol.envelope import MessageKind
from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.evaluation import Evaluation
from baliza.protocol.fields import FieldReader, check_enum, check_str
from baliza.protocol.ids import AgencyId, EnvelopeId, agency_id, envelope_id
from baliza.protocol.notices.common import (
    MAX_NAME,
    MAX_TIME_MS,
    Attachment,
    FreeText,
    Programme,
    ReportingUnit,
    Request,
    count,
    line,
    put,
    sorted_unique,
    time_ms,
    within,
)
from baliza.protocol.notices.nominal import Nominal
from baliza.protocol.notices.reporting import (
    check_reported,
    head,
    read_head,
    read_reported,
    write_reported,
)
from baliza.protocol.notices.seizure import MAX_CASE_REF, case_ref

MAX_OFFENCES = 20
MAX_LINKED = 200
MAX_TASKS = 50
MAX_TASK_REF = 16

_TASK_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]*")


class CaseStatus(StrEnum):
    """Where the investigation stands."""

    OPEN = "open"
    ACTIVE = "active"
    CLOSED = "closed"


class Offence(StrEnum):
    """Offence families, close to the Eurojust / Europol crime areas."""

    DRUG_TRAFFICKING = "drug_trafficking"
    PRECURSOR_DIVERSION = "precursor_diversion"
    MONEY_LAUNDERING = "money_laundering"
    TOBACCO_SMUGGLING = "tobacco_smuggling"
    ARMS_TRAFFICKING = "arms_trafficking"
    WILDLIFE_TRAFFICKING = "wildlife_trafficking"
    COUNTERFEITING = "counterfeiting"
    CUSTOMS_FRAUD = "customs_fraud"
    ORGANISED_CRIME = "organised_crime"
    CORRUPTION = "corruption"
    HUMAN_SMUGGLING = "human_smuggling"
    OTHER = "other"


class TaskStatus(StrEnum):
    """State of a task."""

    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True, kw_only=True)
class Task:
    """Something a team member agreed to do, with a stable short reference."""

    ref: str
    title: str
    status: TaskStatus
    assignee: AgencyId | None = None
    due_ms: int | None = None

    def __post_init__(self) -> None:
        check_str(self.ref, "ref", max_len=MAX_TASK_REF)
        if _TASK_REF.fullmatch(self.ref) is None:
            raise InputError(ReasonCode.BAD_FORMAT, "must be letters, digits and . _ -", path="ref")
        line(self.title, "title", max_len=MAX_NAME)
        check_enum(self.status, "status", TaskStatus)
        if self.assignee is not None:
            agency_id(self.assignee, "assignee")
        if self.due_ms is not None:
            time_ms(self.due_ms, "due_ms")

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form."""
        out: dict[str, Value] = {"ref": self.ref, "title": self.title, "status": self.status.value}
        put(out, "assignee", self.assignee)
        put(out, "due_ms", self.due_ms)
        return out

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> Task:
        """Build from a canonical map."""
        with within(path):
            r = FieldReader(value)
            item = cls(
                ref=r.text("ref", max_len=MAX_TASK_REF),
                title=r.text("title", max_len=MAX_NAME),
                status=r.choice("status", TaskStatus),
                assignee=r.opt_nested("assignee", agency_id),
                due_ms=r.opt_integer("due_ms", lo=0, hi=MAX_TIME_MS),
            )
            r.finish()
        return item


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseNotice:
    """The state of a case as its sender sees it now."""

    kind: ClassVar[MessageKind] = MessageKind.CASE

    programme: Programme
    unit: ReportingUnit
    case_ref: str
    title: str
    status: CaseStatus
    offences: tuple[Offence, ...] = ()
    linked: tuple[EnvelopeId, ...] = ()
    tasks: tuple[Task, ...] = ()
    nominal: Nominal | None = None
    text: FreeText | None = None
    evaluation: Evaluation | None = None
    requests: tuple[Request, ...] = ()
    attachments: tuple[Attachment, ...] = ()

    def __post_init__(self) -> None:
        check_reported(self)
        case_ref(self.case_ref, "case_ref")
        line(self.title, "title", max_len=MAX_NAME)
        check_enum(self.status, "status", CaseStatus)
        count(self.offences, "offences", max_len=MAX_OFFENCES)
        for i, offence in enumerate(self.offences):
            check_enum(offence, f"offences[{i}]", Offence)
        sorted_unique(self.offences, "offences")
        count(self.linked, "linked", max_len=MAX_LINKED)
        for i, eid in enumerate(self.linked):
            envelope_id(eid, f"linked[{i}]")
        sorted_unique(self.linked, "linked")
        count(self.tasks, "tasks", max_len=MAX_TASKS)
        refs = [t.ref for t in self.tasks]
        if len(set(refs)) != len(refs):
            raise InputError(ReasonCode.DUPLICATE_KEY, "task refs must be unique", path="tasks")

    def to_wire(self) -> dict[str, Value]:
        """Canonical map form, with ``v`` and ``kind``."""
        out = head(self.kind)
        write_reported(self, out)
        out["case_ref"] = self.case_ref
        out["title"] = self.title
        out["status"] = self.status.value
        put(out, "offences", self.offences)
        put(out, "linked", self.linked)
        put(out, "tasks", self.tasks)
        put(out, "nominal", self.nominal)
        return out

    @classmethod
    def from_wire(cls, value: Value, path: str = "") -> CaseNotice:
        """Build from a canonical map; raise ``InputError`` naming the field."""
        with within(path):
            r = FieldReader(value)
            read_head(r, cls.kind)
            item = cls(
                **read_reported(r),
                case_ref=r.text("case_ref", max_len=MAX_CASE_REF),
                title=r.text("title", max_len=MAX_NAME),
                status=r.choice("status", CaseStatus),
                offences=r.array(
                    "offences", lambda v, p: check_enum(v, p, Offence), max_len=MAX_OFFENCES
                ),
                linked=r.array("linked", envelope_id, max_len=MAX_LINKED),
                tasks=r.array("tasks", Task.from_wire, max_len=MAX_TASKS),
                nominal=r.opt_nested("nominal", Nominal.from_wire),
            )
            r.finish()
        return item
