"""Realistic example notices, one per kind, shared by tests and the vector generator.

Changing one of these changes protocol/vectors/*.json: regenerate with
``.venv/bin/python tests/protocol/make_vectors.py`` and review the diff.
"""

from __future__ import annotations

from baliza.protocol.evaluation import Evaluation, EvaluationScheme
from baliza.protocol.ids import AgencyId, EnvelopeId, make_envelope_id
from baliza.protocol.notices import (
    AlertOutcome,
    Attachment,
    CaseNotice,
    CaseStatus,
    Category,
    Commodity,
    Company,
    CompanyRole,
    Concealment,
    Conveyance,
    Correction,
    Detection,
    Document,
    DocumentType,
    FreeText,
    Location,
    MediaType,
    Nominal,
    Notice,
    Offence,
    OutcomeResult,
    Person,
    PersonRole,
    PreArrivalAlert,
    Programme,
    Quantity,
    Receipt,
    ReceiptStatus,
    ReportingUnit,
    Request,
    RequestAction,
    Retraction,
    RiskIndicator,
    Route,
    SeizureNotice,
    Subject,
    SubjectType,
    Task,
    TaskStatus,
    TransportMode,
    Unit,
    Vessel,
)

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def eid(n: int) -> EnvelopeId:
    """A deterministic UUIDv7, distinct for each ``n``."""
    return make_envelope_id(T0 + n, n.to_bytes(10, "big"))


GYE = ReportingUnit(agency=AgencyId("ec.senae.gye"), name="UVC Guayaquil")
SEIZURE = SeizureNotice(
    programme=Programme.CCP,
    unit=GYE,
    seized_ms=T0 + 3_600_000,
    location=Location(locode="ECGYE"),
    transport=TransportMode.SEA,
    commodities=(
        Commodity(
            category=Category.COCAINE,
            quantity=Quantity(amount=1_250_000, unit=Unit.G),
            description="Bricks marked with a scorpion logo",
            packaging="50 bricks in 2 sports bags",
        ),
        Commodity(
            category=Category.CURRENCY,
            quantity=Quantity(amount=4_500_000, unit=Unit.MINOR, currency="USD"),
        ),
    ),
    concealment=Concealment.RIP_ON_RIP_OFF,
    detection=Detection.RISK_PROFILE,
    conveyance=Conveyance(
        container="CSQU3054383",
        seals=("EC123456",),
        vessel=Vessel(imo="9074729", name="MSC Example", flag="PA"),
    ),
    route=Route(
        loading=Location(locode="ECGYE"),
        transit=(Location(locode="COCTG"),),
        discharge=Location(locode="ESALG"),
        destination=Location(locode="NLRTM"),
    ),
    nominal=Nominal(
        companies=(
            Company(role=CompanyRole.SHIPPER, name="Frutas del Pacífico S.A.", country="EC"),
            Company(role=CompanyRole.CONSIGNEE, name="Fruit Import B.V.", country="NL"),
        ),
        documents=(Document(type=DocumentType.BILL_OF_LADING, number="MEDUEC123456"),),
    ),
    case_ref="EC-2026/0042",
    text=FreeText(lang="es", text="Contenedor de banano; bolsos tras la puerta."),
    evaluation=Evaluation(scheme=EvaluationScheme.FOUR_BY_FOUR, source="A", information=1),
    requests=(Request(action=RequestAction.SHARE_OUTCOME),),
    attachments=(
        Attachment(
            sha256=bytes(range(32)), media_type=MediaType.JPEG, size=245_000, filename="door.jpg"
        ),
    ),
)
ALERT = PreArrivalAlert(
    programme=Programme.AIRCOP,
    unit=ReportingUnit(agency=AgencyId("pa.ana.pty")),
    origin=Location(airport="PTY"),
    destination=Location(airport="MAD"),
    subject=Subject(type=SubjectType.PASSENGER, flight="IB6454"),
    expected_ms=T0 + 36_000_000,
    indicators=(RiskIndicator.TICKET, RiskIndicator.TRAVEL_PATTERN),
    nominal=Nominal(
        persons=(
            Person(
                role=PersonRole.PASSENGER,
                family_name="Pérez Gómez",
                given_names="Juan Carlos",
                nationality="CO",
                birth_date="1990-04-12",
                documents=(Document(type=DocumentType.PASSPORT, number="AB123456", country="CO"),),
            ),
        )
    ),
    text=FreeText(lang="es", text="Billete comprado en efectivo el día anterior."),
    evaluation=Evaluation(scheme=EvaluationScheme.ADMIRALTY, source="B", information=2),
    requests=(Request(action=RequestAction.INSPECT), Request(action=RequestAction.SHARE_OUTCOME)),
)
OUTCOME = AlertOutcome(
    alert=eid(2),
    result=OutcomeResult.SEIZURE,
    at_ms=T0 + 40_000_000,
    seizure=eid(3),
    text=FreeText(lang="en", text="3.1 kg in a false bottom of the suitcase."),
)
CASE = CaseNotice(
    programme=Programme.JIT,
    unit=ReportingUnit(agency=AgencyId("es.aeat.alg"), contact="+34 000 000 000"),
    case_ref="JIT-CO-ES-2026/07",
    title="Banana route Guayaquil-Algeciras",
    status=CaseStatus.ACTIVE,
    offences=(Offence.DRUG_TRAFFICKING, Offence.MONEY_LAUNDERING),
    linked=(eid(1), eid(4)),
    tasks=(
        Task(
            ref="T1",
            title="Trace the consignee's payments",
            status=TaskStatus.OPEN,
            assignee=AgencyId("nl.fiod"),
            due_ms=T0 + 30 * 86_400_000,
        ),
    ),
)
RECEIPT = Receipt(envelope=eid(1), status=ReceiptStatus.READ, at_ms=T0 + 7_200_000)
RETRACTION = Retraction(supersedes=eid(5), reason="Sent to the wrong channel.")
CORRECTION = Correction(
    supersedes=eid(1),
    reason="Weight confirmed by the laboratory.",
    notice=SeizureNotice(
        programme=SEIZURE.programme,
        unit=SEIZURE.unit,
        seized_ms=SEIZURE.seized_ms,
        location=SEIZURE.location,
        transport=SEIZURE.transport,
        commodities=(
            Commodity(category=Category.COCAINE, quantity=Quantity(amount=1_238_400, unit=Unit.G)),
        ),
    ),
)

EXAMPLES: dict[str, Notice] = {
    "seizure": SEIZURE,
    "alert": ALERT,
    "outcome": OUTCOME,
    "case": CASE,
    "receipt": RECEIPT,
    "correction": CORRECTION,
    "retraction": RETRACTION,
}
