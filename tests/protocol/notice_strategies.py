"""Hypothesis strategies for valid notices, built from real codes.

Shared by the notice tests; every strategy yields values that must round-trip.
Check digits are computed with the same rules the protocol enforces, so a
protocol bug in a check-digit rule shows up as a refused valid value.
"""

from __future__ import annotations

import unicodedata

from hypothesis import strategies as st
from stdnum import imo as stdnum_imo
from stdnum import iso6346

from baliza.protocol.evaluation import SCALES, Evaluation, EvaluationScheme
from baliza.protocol.ids import AgencyId, make_envelope_id
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
    Vehicle,
    Vessel,
)

LOCODES = ("ECGYE", "COCTG", "ESALG", "NLRTM", "BEANR", "PAONX", "MXZLO", "COBUN", "DEHAM")
AIRPORTS = ("PTY", "MAD", "BOG", "LIS", "GRU", "AMS", "CDG", "MEX", "ADD", "LOS")
AGENCIES = ("ec.senae.gye", "co.polfa.ctg", "es.aeat.alg", "pa.ana.pty", "nl.fiod")
LANGUAGES = ("es", "en", "pt-BR", "fr", "nl", "es-CO", "zh-Hant-TW", "spa")
AIRLINES = ("IB", "AV", "CM", "KL", "AF", "LA", "UX", "2K", "U2")
COUNTRIES = ("EC", "CO", "ES", "PA", "NL", "BE", "MX", "DE", "US", "BR")

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = "0123456789"


def _clean(text: str) -> str:
    return unicodedata.normalize("NFC", text)


# One-line text: no control characters, no outer whitespace, NFC.
lines = (
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp")),
        min_size=1,
        max_size=24,
    )
    .map(_clean)
    .filter(lambda s: 0 < len(s) <= 100 and s == s.strip())
)
prose_texts = st.lists(lines, min_size=1, max_size=3).map("\n".join)

containers = st.builds(
    lambda owner, cat, serial: (
        owner + cat + serial + iso6346.calc_check_digit(owner + cat + serial)
    ),
    st.text(_UPPER, min_size=3, max_size=3),
    st.sampled_from("UJZ"),
    st.text(_DIGITS, min_size=6, max_size=6),
)
imos = st.text(_DIGITS, min_size=6, max_size=6).map(lambda s: s + stdnum_imo.calc_check_digit(s))
awbs = st.builds(
    lambda prefix, serial: f"{prefix}-{serial}{int(serial) % 7}",
    st.text(_DIGITS, min_size=3, max_size=3),
    st.text(_DIGITS, min_size=7, max_size=7),
)
flights = st.builds(
    lambda airline, number, suffix: f"{airline}{number}{suffix}",
    st.sampled_from(AIRLINES),
    st.integers(1, 9999),
    st.sampled_from(("", "A", "D")),
)
envelope_ids = st.builds(
    lambda t, r: make_envelope_id(t, r),
    st.integers(0, 2**48 - 1),
    st.binary(min_size=10, max_size=10),
)
agencies = st.sampled_from(AGENCIES).map(AgencyId)
times = st.integers(0, 2**53 - 1)
countries = st.sampled_from(COUNTRIES)
refs = st.text(_UPPER + _DIGITS, min_size=1, max_size=12)

locations = st.one_of(
    st.builds(Location, locode=st.sampled_from(LOCODES)),
    st.builds(Location, airport=st.sampled_from(AIRPORTS)),
)
units = st.builds(ReportingUnit, agency=agencies, name=st.none() | lines, contact=st.none() | lines)
free_texts = st.builds(FreeText, lang=st.sampled_from(LANGUAGES), text=prose_texts)


@st.composite
def evaluations(draw: st.DrawFn) -> Evaluation:
    scheme = draw(st.sampled_from(list(EvaluationScheme)))
    grades, highest = SCALES[scheme]
    return Evaluation(
        scheme=scheme,
        source=draw(st.sampled_from(grades)),
        information=draw(st.integers(1, highest)),
    )


requests = st.lists(st.sampled_from(list(RequestAction)), unique=True, max_size=4).flatmap(
    lambda actions: st.tuples(
        *[
            st.builds(
                Request,
                action=st.just(a),
                note=lines if a is RequestAction.OTHER else st.none() | lines,
            )
            for a in actions
        ]
    )
)
attachments = st.lists(
    st.builds(
        Attachment,
        sha256=st.binary(min_size=32, max_size=32),
        media_type=st.sampled_from(list(MediaType)),
        size=st.integers(1, 5 * 1024 * 1024),  # three stay within the 15 MiB total
        filename=st.text(_UPPER + _DIGITS + "._-", min_size=1, max_size=20).filter(
            lambda s: s not in {".", ".."}
        ),
    ),
    max_size=3,
    unique_by=lambda a: a.sha256,
).map(tuple)


@st.composite
def quantities(draw: st.DrawFn) -> Quantity:
    unit = draw(st.sampled_from(list(Unit)))
    currency = draw(st.sampled_from(("USD", "EUR", "COP"))) if unit is Unit.MINOR else None
    return Quantity(amount=draw(st.integers(1, 2**53 - 1)), unit=unit, currency=currency)


documents = st.builds(
    Document,
    type=st.sampled_from(list(DocumentType)),
    number=refs,
    country=st.none() | countries,
)
persons = st.builds(
    Person,
    role=st.sampled_from(list(PersonRole)),
    family_name=lines,
    given_names=st.none() | lines,
    nationality=st.none() | countries,
    birth_date=st.none() | st.dates().filter(lambda d: d.year >= 1900).map(str),
    documents=st.lists(documents, max_size=2).map(tuple),
)
companies = st.builds(
    Company,
    role=st.sampled_from(list(CompanyRole)),
    name=lines,
    country=st.none() | countries,
    registration=st.none() | lines,
)
nominals = st.one_of(
    st.builds(
        Nominal,
        persons=st.lists(persons, min_size=1, max_size=2).map(tuple),
        companies=st.lists(companies, max_size=2).map(tuple),
        documents=st.lists(documents, max_size=2).map(tuple),
    ),
    st.builds(Nominal, companies=st.lists(companies, min_size=1, max_size=2).map(tuple)),
    st.builds(Nominal, documents=st.lists(documents, min_size=1, max_size=2).map(tuple)),
)
vessels = st.one_of(
    st.builds(Vessel, imo=imos, name=st.none() | lines, flag=st.none() | countries),
    st.builds(Vessel, name=lines),
)
conveyances = st.builds(
    Conveyance,
    container=containers,
    seals=st.lists(refs, max_size=2).map(tuple),
    vessel=st.none() | vessels,
    flight=st.none() | flights,
    awb=st.none() | awbs,
    vehicle=st.none() | st.builds(Vehicle, plate=refs, country=st.none() | countries),
) | st.builds(Conveyance, flight=flights, awb=st.none() | awbs)
routes = st.builds(
    Route,
    loading=locations,
    transit=st.lists(locations, max_size=2).map(tuple),
    discharge=st.none() | locations,
    destination=st.none() | locations,
)
commodities = st.builds(
    Commodity,
    category=st.sampled_from(list(Category)),
    quantity=quantities(),
    description=st.none() | prose_texts,
    packaging=st.none() | lines,
)
case_refs = st.text(_UPPER + _DIGITS + "-/", min_size=1, max_size=20).filter(
    lambda s: s[0] not in "-/"
)

seizures = st.builds(
    SeizureNotice,
    programme=st.sampled_from(list(Programme)),
    unit=units,
    seized_ms=times,
    location=locations,
    transport=st.sampled_from(list(TransportMode)),
    commodities=st.lists(commodities, min_size=1, max_size=3).map(tuple),
    concealment=st.none() | st.sampled_from(list(Concealment)),
    detection=st.none() | st.sampled_from(list(Detection)),
    conveyance=st.none() | conveyances,
    route=st.none() | routes,
    nominal=st.none() | nominals,
    case_ref=st.none() | case_refs,
    text=st.none() | free_texts,
    evaluation=st.none() | evaluations(),
    requests=requests,
    attachments=attachments,
)


@st.composite
def subjects(draw: st.DrawFn) -> Subject:
    kind = draw(st.sampled_from(list(SubjectType)))
    return Subject(
        type=kind,
        container=draw(containers) if kind is SubjectType.CONTAINER else None,
        flight=draw(flights) if kind in {SubjectType.FLIGHT, SubjectType.PASSENGER} else None,
        awb=draw(st.none() | awbs) if kind is SubjectType.FLIGHT else None,
        vessel=draw(vessels) if kind is SubjectType.VESSEL else None,
    )


@st.composite
def alerts(draw: st.DrawFn) -> PreArrivalAlert:
    subject = draw(subjects())
    nominal = draw(st.none() | nominals)
    if subject.type is SubjectType.PASSENGER:
        passenger = Person(role=PersonRole.PASSENGER, family_name=draw(lines))
        nominal = Nominal(persons=(passenger,))
    return PreArrivalAlert(
        programme=draw(st.sampled_from(list(Programme))),
        unit=draw(units),
        origin=draw(locations),
        destination=draw(locations),
        subject=subject,
        expected_ms=draw(times),
        indicators=tuple(sorted(draw(st.sets(st.sampled_from(list(RiskIndicator)), max_size=3)))),
        nominal=nominal,
        text=draw(st.none() | free_texts),
        evaluation=draw(st.none() | evaluations()),
        requests=draw(requests),
        attachments=draw(attachments),
    )


@st.composite
def outcomes(draw: st.DrawFn) -> AlertOutcome:
    result = draw(st.sampled_from(list(OutcomeResult)))
    return AlertOutcome(
        alert=draw(envelope_ids),
        result=result,
        at_ms=draw(times),
        seizure=draw(envelope_ids) if result is OutcomeResult.SEIZURE else None,
        text=draw(st.none() | free_texts),
    )


tasks = st.builds(
    Task,
    ref=refs,
    title=lines,
    status=st.sampled_from(list(TaskStatus)),
    assignee=st.none() | agencies,
    due_ms=st.none() | times,
)
cases = st.builds(
    CaseNotice,
    programme=st.sampled_from(list(Programme)),
    unit=units,
    case_ref=case_refs,
    title=lines,
    status=st.sampled_from(list(CaseStatus)),
    offences=st.sets(st.sampled_from(list(Offence)), max_size=3).map(lambda s: tuple(sorted(s))),
    linked=st.sets(envelope_ids, max_size=3).map(lambda s: tuple(sorted(s))),
    tasks=st.lists(tasks, max_size=3, unique_by=lambda t: t.ref).map(tuple),
    nominal=st.none() | nominals,
    text=st.none() | free_texts,
    evaluation=st.none() | evaluations(),
    requests=requests,
    attachments=attachments,
)
receipts = st.builds(
    Receipt, envelope=envelope_ids, status=st.sampled_from(list(ReceiptStatus)), at_ms=times
)
retractions = st.builds(Retraction, supersedes=envelope_ids, reason=prose_texts)
corrections = st.builds(
    Correction,
    supersedes=envelope_ids,
    reason=prose_texts,
    notice=st.one_of(seizures, alerts(), outcomes(), cases),
)

notices: st.SearchStrategy[Notice] = st.one_of(
    seizures, alerts(), outcomes(), cases, receipts, corrections, retractions
)
