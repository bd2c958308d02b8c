"""The officer's pages: publish a pre-arrival alert or a seizure through a form.

The form is turned into the API's JSON body (``forms.py``) and published by
the same service as ``POST /api/v1/notices``; a refusal comes back with its
reason code and field, and is shown next to that field in the person's
language. The route table lets only publishers (and administrators) in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from baliza.node.console import adapter, forms, places
from baliza.node.console.i18n import N_
from baliza.node.console.reasons import explain
from baliza.node.console.web import FORMATTER, PREFIX, render
from baliza.node.http.appkeys import NODE
from baliza.protocol.errors import InputError
from baliza.protocol.handling import HandlingCode, Tlp
from baliza.protocol.notices import (
    Category,
    OutcomeResult,
    Programme,
    RiskIndicator,
    SubjectType,
    TransportMode,
)
from baliza.protocol.notices.common import Unit

BodyBuilder = Callable[[Mapping[str, str], Mapping[str, list[str]], str, str], dict[str, Any]]
FORMS: dict[str, BodyBuilder] = {
    "alert": forms.alert_body,
    "seizure": forms.seizure_body,
    "outcome": forms.outcome_body,
}
LIST_FIELDS = ("recipients", "codes", "indicators")

HANDLING_WORDS = {
    "h0": N_("H0 — for law-enforcement use only."),
    "h1": N_("H1 — not for use in court without the sender's permission."),
    "h2": N_("H2 — not to be passed on without the sender's permission."),
    "h3": N_("H3 — other restrictions, stated below."),
}
EVALUATION_WORDS = {
    "A": N_("A — the source is reliable without doubt"),
    "B": N_("B — the source has mostly been reliable"),
    "C": N_("C — the source has not been reliable"),
    "X": N_("X — the source cannot be assessed"),
    "1": N_("1 — known to be true without reservation"),
    "2": N_("2 — known personally to the source"),
    "3": N_("3 — not known personally to the source, but corroborated"),
    "4": N_("4 — cannot be assessed"),
}


def _choices(request: web.Request, kind: str) -> dict[str, Any]:
    lang = request[FORMATTER].lang
    return {
        "kind": kind,
        "programmes": [p.value for p in Programme],
        "peers": adapter.peer_agencies(request.app[NODE]),
        "tlps": [t.value for t in Tlp],
        "handling": [(c.value, HANDLING_WORDS[c.value]) for c in HandlingCode],
        "evaluation_words": EVALUATION_WORDS,
        "subject_types": [t.value for t in SubjectType],
        "indicator_values": [i.value for i in RiskIndicator],
        "transports": [t.value for t in TransportMode],
        "categories": [c.value for c in Category],
        "units": [u.value for u in Unit],
        "results": [r.value for r in OutcomeResult],
        "countries": places.countries(lang),
        "seaports": places.seaports(),
    }


def _kind(request: web.Request) -> str:
    kind = request.match_info["kind"]
    if kind not in FORMS:
        raise web.HTTPNotFound()
    return kind


async def publish_form(request: web.Request) -> web.Response:
    """An empty publish form."""
    kind = _kind(request)
    values: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    if kind == "outcome" and request.query.get("alert"):
        # Answering an alert: name it, and send the answer to whoever sent it.
        alert = await adapter.stored(request.app[NODE], request.query["alert"])
        values = {"alert": alert.envelope_id, "at": _now_minute()}
        lists = {"recipients": [alert.sender]}
    context = {**_choices(request, kind), "values": values, "lists": lists}
    return render(request, "publish.html", {**context, "errors": {}, "top": ""})


def _now_minute() -> str:
    """Now, in UTC, as a ``datetime-local`` field shows it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M")


async def publish_submit(request: web.Request) -> web.Response:
    """Publish the form's notice, or show the form again with the refused field's message."""
    kind = _kind(request)
    posted = await request.post()
    values = {k: v for k, v in posted.items() if isinstance(v, str) and k not in LIST_FIELDS}
    lists = {k: [v for v in posted.getall(k, []) if isinstance(v, str)] for k in LIST_FIELDS}
    fmt = request[FORMATTER]
    ctx = request.app[NODE]
    try:
        body = FORMS[kind](values, lists, ctx.agency, fmt.lang)
        published = await adapter.submit(ctx, body)
    except InputError as err:
        field = forms.field_of(err.path)
        message = explain(err, fmt)
        context = {
            **_choices(request, kind),
            "values": values,
            "lists": lists,
            "errors": {field: message} if field else {},
            "top": "" if field else f"{message} ({err.path or err.reason.value})",
            "refused": err,
        }
        return render(request, "publish.html", context, status=422)
    raise web.HTTPSeeOther(f"{PREFIX}/notices/{published.id}")
