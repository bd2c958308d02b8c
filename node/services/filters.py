"""The one table of notice filters: what an analyst can narrow a list, a search or a stream by.

Every place that takes filters is built from ``FILTERS``: the query string
of ``GET /api/v1/notices``, ``/search`` and ``/stream`` (``parse_filters``),
their OpenAPI parameters (``openapi_parameters``), the CLI options of
``baliza feed`` and ``baliza search`` (``baliza.node.cli.filters``), and
the stored query itself (``NoticeFilter``). What each field of a
``NoticeFilter`` means is written once more, in ``storage/sql/notice_filter``,
as one table from which both the SQL and a Python test are generated: the
live stream tests each announced notice in Python (``live_test``), and asks
the database only for full text (``live_matches``), so replay and live
answer alike without a read per event per follower.

Identifiers are normalised by ``baliza.protocol.notices.refs.query_ref``,
the same rules that produced the stored references.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from baliza.node.services.context import NodeContext
from baliza.node.storage.notices import Direction, NoticeFilter
from baliza.node.storage.search import searchable
from baliza.node.storage.sql import notice_filter, notice_pages
from baliza.protocol import codes
from baliza.protocol.envelope import MessageKind
from baliza.protocol.errors import InputError, ReasonCode
from baliza.protocol.ids import agency_id, channel_id
from baliza.protocol.notices import Programme
from baliza.protocol.notices.refs import RefQuery, query_ref
from baliza.protocol.notices.seizure import Category

Apply = Callable[[NoticeFilter, str], NoticeFilter]


@dataclass(frozen=True, slots=True)
class FilterSpec:
    """One filter: its query-string name, what it means, an example, how it narrows."""

    name: str
    help: str
    example: str
    apply: Apply
    schema: str = "string"


def _one_of(values: Iterable[str], name: str, raw: str) -> str:
    allowed = list(values)
    value = raw.strip().lower()
    if value not in allowed:
        raise InputError(
            ReasonCode.BAD_ENUM, f"must be one of: {', '.join(allowed)} (got {raw!r})", path=name
        )
    return value


def parse_time(raw: str, name: str) -> int:
    """Unix milliseconds, or an ISO 8601 date or time (``2026-12-01``, ``2026-12-01T01:15Z``)."""
    text = raw.strip()
    if text.isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InputError(
            ReasonCode.BAD_FORMAT,
            f"{raw!r} is not a time: write 2026-12-01, 2026-12-01T01:15Z or Unix ms",
            path=name,
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def _kind(where: NoticeFilter, raw: str) -> NoticeFilter:
    short = raw.strip().lower().removeprefix("notice.")
    kinds = {k.value.removeprefix("notice."): k.value for k in MessageKind}
    return dataclasses.replace(where, kind=kinds[_one_of(kinds, "kind", short)])


def _ref(ref_type: str) -> Apply:
    def apply(where: NoticeFilter, raw: str) -> NoticeFilter:
        if ref_type == "commodity":
            raw = _one_of((c.value for c in Category), "commodity", raw)
        return dataclasses.replace(where, refs=(*where.refs, query_ref(ref_type, raw)))

    return apply


def _channel(where: NoticeFilter, raw: str) -> NoticeFilter:
    wanted = RefQuery("channel", channel_id(raw.strip(), "channel"))
    return dataclasses.replace(where, refs=(*where.refs, wanted))


def _text(where: NoticeFilter, raw: str) -> NoticeFilter:
    # A container number typed with spaces or dashes ("TGHU 001234 9") is no set of
    # words to find: search it as the container it is, as the container filter does.
    if re.search(r"[\s\-]", raw.strip()):
        try:
            number = codes.container(raw, "q", lenient=True)
        except InputError:
            pass
        else:
            return dataclasses.replace(where, refs=(*where.refs, query_ref("container", number)))
    if not searchable(raw):
        raise InputError(ReasonCode.MISSING_FIELD, "has no word to search for", path="q")
    return dataclasses.replace(where, text=raw)


FILTERS: tuple[FilterSpec, ...] = (
    FilterSpec(
        "q", "full-text search: every word, accents and case ignored", "cocaína bananas", _text
    ),
    FilterSpec("kind", "seizure, alert, outcome, case, correction, retraction", "seizure", _kind),
    FilterSpec(
        "sender",
        "sending agency id",
        "es.aduanas.alg",
        lambda w, r: dataclasses.replace(w, sender=agency_id(r.strip(), "sender")),
    ),
    FilterSpec(
        "programme",
        "ccp, aircop, gmcp, jit, other",
        "ccp",
        lambda w, r: dataclasses.replace(
            w, programme=_one_of((p.value for p in Programme), "programme", r)
        ),
    ),
    FilterSpec(
        "since",
        "created at or after: ISO 8601 date/time or Unix ms",
        "2026-12-01",
        lambda w, r: dataclasses.replace(w, since_ms=parse_time(r, "since")),
    ),
    FilterSpec(
        "until",
        "created before: ISO 8601 date/time or Unix ms",
        "2026-12-02T00:00Z",
        lambda w, r: dataclasses.replace(w, until_ms=parse_time(r, "until")),
    ),
    FilterSpec(
        "direction",
        "in (received) or out (sent)",
        "in",
        lambda w, r: dataclasses.replace(
            w, direction=Direction(_one_of(("in", "out"), "direction", r))
        ),
    ),
    FilterSpec(
        "location", "UN/LOCODE or IATA code at any point of the route", "COCTG", _ref("location")
    ),
    FilterSpec("commodity", "commodity category", "cocaine", _ref("commodity")),
    FilterSpec(
        "container", "ISO 6346 container number, spaces allowed", "MSCU 123456 5", _ref("container")
    ),
    FilterSpec(
        "vessel", "IMO number, with or without the IMO prefix", "IMO 9074729", _ref("vessel")
    ),
    FilterSpec(
        "flight", "flight designator, optionally with its date", "IB6454 2026-12-01", _ref("flight")
    ),
    FilterSpec("awb", "air waybill number", "020-12345675", _ref("awb")),
    FilterSpec(
        "company",
        "company name, any case, accents or legal form",
        "Frutas Estrecho S.L.",
        _ref("company"),
    ),
    FilterSpec("person", "family and given names", "García López Juan", _ref("person")),
    FilterSpec(
        "document",
        "travel or identity document, with or without country",
        "PA:123456",
        _ref("document"),
    ),
    FilterSpec("vehicle", "vehicle plate, with or without country", "ES:1234ABC", _ref("vehicle")),
    FilterSpec("case", "case reference", "ES-AEAT-2026/0412", _ref("case")),
    FilterSpec("channel", "channel the notice went through", "jit.co-es-2026-07", _channel),
)

FILTER_NAMES = tuple(spec.name for spec in FILTERS)

# Cursor and page parameters, per route family; filters come on top.
PAGING: dict[str, tuple[FilterSpec, ...]] = {
    "list": (
        FilterSpec(
            "after",
            "cursor: notices stored after this sequence number",
            "0",
            lambda w, _: w,
            "integer",
        ),
        FilterSpec("latest", "1: the most recent `limit` notices", "1", lambda w, _: w, "integer"),
        FilterSpec("limit", "page size, at most 200", "50", lambda w, _: w, "integer"),
    ),
    "search": (
        FilterSpec("after", "cursor from the previous page's `next`", "0.53:17", lambda w, _: w),
        FilterSpec("limit", "page size, at most 200", "20", lambda w, _: w, "integer"),
    ),
    "export": (
        FilterSpec(
            "limit", "the most recent notices, at most 200", "50", lambda w, _: w, "integer"
        ),
        FilterSpec(
            "nominal", "1: include persons, companies and their documents", "1", lambda w, _: w
        ),
        FilterSpec(
            "confirm_red",
            "1: I confirm TLP:RED notices stay with their recipients",
            "1",
            lambda w, _: w,
        ),
    ),
    "stream": (
        FilterSpec(
            "after",
            "cursor: replay notices stored after this sequence number",
            "0",
            lambda w, _: w,
            "integer",
        ),
    ),
}


def parse_filters(query: Mapping[str, str], route: str) -> NoticeFilter:
    """The filter a query string asks for; unknown names are refused, naming them."""
    known = {spec.name for spec in FILTERS} | {spec.name for spec in PAGING[route]}
    unknown = sorted(set(query) - known)
    if unknown:
        raise InputError(
            ReasonCode.UNKNOWN_FIELD,
            f"is not a known filter; known: {', '.join(sorted(known))}",
            path=unknown[0],
        )
    for name, value in query.items():
        if not value.strip():  # `?kind=` or `?kind` is a mistake, not "any kind"
            raise InputError(ReasonCode.MISSING_FIELD, "has no value", path=name)
    where = NoticeFilter()
    for spec in FILTERS:
        if spec.name in query:
            where = spec.apply(where, query[spec.name])
    return where


def openapi_parameters(route: str) -> list[dict[str, Any]]:
    """The OpenAPI query parameters of ``route``: its paging, then every filter."""
    return [
        {
            "name": spec.name,
            "in": "query",
            "required": False,
            "schema": {"type": spec.schema},
            "description": spec.help,
            "example": spec.example,
        }
        for spec in (*PAGING[route], *FILTERS)
    ]


def live_test(filters: NoticeFilter, dialect: str) -> Callable[[Mapping[str, Any]], bool] | None:
    """A Python test of an announced notice that answers as ``filters``' SQL does.

    ``None`` when the filter has full text, which only the database answers
    (``live_matches``). ``dialect`` is the engine whose SQL it stands for
    (their ``LIKE`` differ in case).
    """
    if filters.text is not None:
        return None
    if not filters.narrows:
        return lambda _item: True
    return notice_filter.predicate(filters, dialect)


async def live_matches(ctx: NodeContext, filters: NoticeFilter, item: Mapping[str, Any]) -> bool:
    """Whether a just-announced notice passes ``filters``, by the stored query itself.

    One read unit; the live stream calls it only for a filter with full text.
    """
    if not filters.narrows:
        return True
    unit = partial(notice_pages.matches, seq=int(item["seq"]), filters=filters)
    return await ctx.db.run(unit, write=False)
