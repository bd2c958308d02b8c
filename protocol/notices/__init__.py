"""Notices: the plaintext carried inside envelopes.

Public API (see docs/spec/03-notices.md):
``Notice``, ``encode_notice``, ``decode_notice``, ``notice_from_json``,
``notice_to_json``, ``notice_refs``, ``notice_summary``,
``notice_search_text``, ``notice_location``, ``notice_programme``, and the
dataclasses the notices are made of.
"""

from baliza.protocol.notices.alert import (
    AlertOutcome,
    OutcomeResult,
    PreArrivalAlert,
    RiskIndicator,
    Subject,
    SubjectType,
)
from baliza.protocol.notices.case import CaseNotice, CaseStatus, Offence, Task, TaskStatus
from baliza.protocol.notices.codec import (
    KINDS,
    NOTICE_LIMITS,
    Notice,
    decode_notice,
    encode_notice,
    notice_from_json,
    notice_to_json,
)
from baliza.protocol.notices.common import (
    Attachment,
    FreeText,
    Location,
    MediaType,
    Programme,
    Quantity,
    ReportingUnit,
    Request,
    RequestAction,
    Unit,
)
from baliza.protocol.notices.index import (
    notice_facets,
    notice_language,
    notice_location,
    notice_programme,
    notice_refs,
    notice_search_text,
    notice_summary,
)
from baliza.protocol.notices.lifecycle import (
    Correctable,
    Correction,
    Receipt,
    ReceiptStatus,
    Retraction,
)
from baliza.protocol.notices.nominal import (
    Company,
    CompanyRole,
    Document,
    DocumentType,
    Nominal,
    Person,
    PersonRole,
)
from baliza.protocol.notices.seizure import (
    Category,
    Commodity,
    Concealment,
    Detection,
    SeizureNotice,
)
from baliza.protocol.notices.transport import (
    Conveyance,
    Route,
    TransportMode,
    Vehicle,
    Vessel,
)

__all__ = [
    "KINDS",
    "NOTICE_LIMITS",
    "AlertOutcome",
    "Attachment",
    "CaseNotice",
    "CaseStatus",
    "Category",
    "Commodity",
    "Company",
    "CompanyRole",
    "Concealment",
    "Conveyance",
    "Correctable",
    "Correction",
    "Detection",
    "Document",
    "DocumentType",
    "FreeText",
    "Location",
    "MediaType",
    "Nominal",
    "Notice",
    "Offence",
    "OutcomeResult",
    "Person",
    "PersonRole",
    "PreArrivalAlert",
    "Programme",
    "Quantity",
    "Receipt",
    "ReceiptStatus",
    "ReportingUnit",
    "Request",
    "RequestAction",
    "Retraction",
    "RiskIndicator",
    "Route",
    "SeizureNotice",
    "Subject",
    "SubjectType",
    "Task",
    "TaskStatus",
    "TransportMode",
    "Unit",
    "Vehicle",
    "Vessel",
    "decode_notice",
    "encode_notice",
    "notice_facets",
    "notice_from_json",
    "notice_language",
    "notice_location",
    "notice_programme",
    "notice_refs",
    "notice_search_text",
    "notice_summary",
    "notice_to_json",
]
