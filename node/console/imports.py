"""A targeting list into alerts in the console: read, review, publish the batch at once.

An officer with a manifest or risk-targeting spreadsheet (CSV or XLSX, a
container per row with ports and the expected arrival) uploads it; the
console shows what every row became — a draft alert or the errors that keep
it from being one, each naming its row and column in the officer's
language — and nothing is sent until the officer chooses the recipients and
handling and publishes. The rows are read by ``exchange.manifest`` and the
batch is published by ``services.publish_batch``, exactly as the API's
``/api/v1/imports/alerts`` does; the person is recorded as the author of
every alert.

The reviewed drafts travel back in a hidden field. That is no loophole: the
officer may publish any alert anyway, and every draft is checked again, as
``POST /api/v1/notices`` checks one, before the first is sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from baliza.node.console.choices import choices
from baliza.node.console.forms import envelope
from baliza.node.console.i18n import Formatter
from baliza.node.console.reasons import explain
from baliza.node.console.web import FORMATTER, posted, render
from baliza.node.exchange.manifest import Batch, Defaults, Draft, RowError, batch_of, read_table
from baliza.node.exchange.stix_import import draft_alerts
from baliza.node.http.appkeys import NODE
from baliza.node.http.routes import SIGNED_IN
from baliza.node.services.publish_batch import batch_requests, publish_batch
from baliza.protocol.errors import BalizaError, InputError, ReasonCode
from baliza.protocol.notices import Programme
from baliza.protocol.notices.json_form import parse_time

DRAFTS = "drafts"


def _row_view(draft: Draft, fmt: Formatter) -> dict[str, Any]:
    """What the review table shows of a draft: the words a person checks a row by."""
    notice = draft.notice
    try:
        expected = fmt.datetime(parse_time(str(notice.get("expected_ms", "")), "expected"))
    except BalizaError:
        expected = str(notice.get("expected_ms", ""))
    subject = notice.get("subject", {})
    return {
        "row": draft.row,
        "container": subject.get("container", ""),
        "imo": subject.get("vessel", {}).get("imo", ""),
        "origin": notice.get("origin", {}).get("locode", ""),
        "destination": notice.get("destination", {}).get("locode", ""),
        "expected": expected,
        "indicators": ", ".join(fmt.gettext(i) for i in notice.get("indicators", [])),
        "note": notice.get("text", {}).get("text", ""),
    }


def _error_view(error: RowError, fmt: Formatter) -> dict[str, Any]:
    try:
        reason = ReasonCode(error.reason)
    except ValueError:
        reason = ReasonCode.MALFORMED
    words = explain(InputError(reason, error.detail, path=error.column), fmt)
    return {
        "row": error.row,
        "column": error.column,
        "reason": error.reason,
        "words": words,
        "detail": error.detail,
    }


async def _page(
    request: web.Request,
    *,
    step: str,
    values: Mapping[str, str] | None = None,
    lists: Mapping[str, list[str]] | None = None,
    batch: Batch | None = None,
    top: str = "",
    published: Sequence[dict[str, str]] = (),
    status: int = 200,
) -> web.Response:
    fmt = request[FORMATTER]
    drafts = batch.drafts if batch else ()
    context = {
        **await choices(request.app[NODE], fmt.lang),
        "step": step,
        "values": dict(values or {}),
        "lists": dict(lists or {}),
        "errors": {},
        "required": ("recipients",),
        "top": top,
        "batch": batch,
        "rows": [_row_view(d, fmt) for d in drafts],
        "row_errors": [_error_view(e, fmt) for e in (batch.errors if batch else ())],
        "drafts_json": json.dumps([{"row": d.row, "notice": d.notice} for d in drafts]),
        "drafts_field": DRAFTS,
        "published": published,
    }
    return render(request, "import.html", context, status=status)


async def import_form(request: web.Request) -> web.Response:
    """The upload form: a file, the programme, and the ports every row shares if it says none."""
    return await _page(request, step="upload", values={"programme": "ccp"})


def _defaults(request: web.Request, form: Mapping[str, Any]) -> Defaults:
    programme = str(form.get("programme") or "ccp")
    if programme not in {p.value for p in Programme}:
        raise InputError(ReasonCode.BAD_ENUM, "is not a programme", path="programme")
    origin = str(form.get("origin") or "").strip().upper() or None
    destination = str(form.get("destination") or "").strip().upper() or None
    return Defaults(
        agency=request.app[NODE].agency,
        programme=programme,
        lang=request[FORMATTER].lang,
        origin=origin,
        destination=destination,
    )


async def import_submit(request: web.Request) -> web.Response:
    """Read the uploaded list into drafts and row errors; nothing is stored or sent."""
    form = await posted(request)
    values = {k: v for k, v in form.items() if isinstance(v, str) and k in _KEPT_FIELDS}
    upload = form.get("file")
    if not isinstance(upload, web.FileField):
        top = explain(
            InputError(ReasonCode.MISSING_FIELD, "choose a file", path="file"), _fmt(request)
        )
        return await _page(request, step="upload", values=values, top=top, status=400)
    data = upload.file.read()
    try:
        if _is_stix(upload.filename, data):
            return await _stix_drafts(request, data, values)
        batch = batch_of(read_table(data), _defaults(request, form))
    except BalizaError as err:
        return await _page(
            request, step="upload", values=values, top=explain(err, _fmt(request)), status=400
        )
    return await _page(request, step="review", values=values, batch=batch)


_KEPT_FIELDS = ("programme", "origin", "destination", "tlp", "restrictions")
# What a draft from a STIX bundle carries into the alert form, by its subject's kind.
_SUBJECT_FIELDS = {"container": "container", "flight": "flight", "awb": "awb"}
_NOTE_MAX = 1000


def _is_stix(filename: str, data: bytes) -> bool:
    """A STIX bundle is JSON (``.json``, or a body that starts as an object)."""
    return filename.lower().endswith(".json") or data.lstrip()[:1] == b"{"


def _completion_link(notice: dict[str, Any], programme: str) -> str:
    """The alert form, filled with what the bundle said, for the officer to complete."""
    subject = notice.get("subject", {})
    fields: list[tuple[str, str]] = [
        ("carried", "1"),  # the form takes its fields from the query (``officer.CARRIED``)
        ("programme", programme),
        ("subject_type", str(subject.get("type", "container"))),
    ]
    fields += [
        (field, str(subject[key])) for key, field in _SUBJECT_FIELDS.items() if key in subject
    ]
    if "vessel" in subject:
        fields.append(("imo", str(subject["vessel"].get("imo", ""))))
    note = str(notice.get("text", {}).get("text", ""))[:_NOTE_MAX]
    if note:
        fields.append(("text", note))
    return "/console/publish/alert?" + urlencode(fields)


async def _stix_drafts(request: web.Request, data: bytes, values: dict[str, str]) -> web.Response:
    """A STIX bundle's containers, vessels, flights and waybills as alerts to complete.

    A bundle says what to watch, rarely where from, where to and when: each
    draft opens the alert form filled with what the bundle said, and the
    officer adds the rest and publishes it (never the node on its own).
    """
    try:
        bundle = json.loads(data)
    except ValueError as err:
        raise InputError(ReasonCode.MALFORMED, f"not JSON: {err}", path="file") from None
    programme = values.get("programme") or "ccp"
    if programme not in {p.value for p in Programme}:
        raise InputError(ReasonCode.BAD_ENUM, "is not a programme", path="programme")
    drafts = draft_alerts(bundle, agency=request.app[NODE].agency, programme=programme)
    found = [
        {
            "kind": d["subject"]["type"],
            "value": next(
                (str(v) for k, v in d["subject"].items() if k != "type" and isinstance(v, str)),
                str(d["subject"].get("vessel", {}).get("imo", "")),
            ),
            "note": d.get("text", {}).get("text", ""),
            "link": _completion_link(d, programme),
        }
        for d in drafts
    ]
    fmt = request[FORMATTER]
    context = {
        "step": "stix",
        "stix_drafts": found,
        "values": values,
        "lists": {},
        "errors": {},
        "required": (),
        "top": "",
        "batch": None,
        "rows": [],
        "row_errors": [],
        "drafts_json": "[]",
        "drafts_field": DRAFTS,
        "published": (),
        **await choices(request.app[NODE], fmt.lang),
    }
    return render(request, "import.html", context)


def _fmt(request: web.Request) -> Formatter:
    return request[FORMATTER]


def _reviewed(raw: str) -> tuple[Draft, ...]:
    """The drafts the review page carried back (checked again before publishing)."""
    try:
        items = json.loads(raw)
        return tuple(Draft(int(i["row"]), dict(i["notice"])) for i in items)
    except (ValueError, TypeError, KeyError) as err:
        raise InputError(ReasonCode.MALFORMED, f"the reviewed drafts: {err}", path=DRAFTS) from None


async def publish_submit(request: web.Request) -> web.Response:
    """Publish the reviewed drafts to the chosen partners with the chosen handling."""
    form = await posted(request)
    values = {k: v for k, v in form.items() if isinstance(v, str) and k in _KEPT_FIELDS}
    lists = {
        k: [v for v in form.getall(k, []) if isinstance(v, str)] for k in ("recipients", "codes")
    }
    drafts = _reviewed(str(form.get(DRAFTS, "")))
    batch = Batch(drafts, ())
    body = envelope(values, lists, {})
    del body["notice"]
    body[DRAFTS] = [d.notice for d in drafts]
    try:
        requests = batch_requests(body)
    except BalizaError as err:
        return await _page(
            request,
            step="review",
            values=values,
            lists=lists,
            batch=batch,
            top=_refusal(err, drafts, _fmt(request)),
            status=400,
        )
    outcome = await publish_batch(
        request.app[NODE], requests, publisher=request[SIGNED_IN].caller.acting_person
    )
    sent = [
        {
            "id": str(p.id),
            "container": str(d.notice["subject"].get("container", "")),
            "row": str(d.row),
        }
        for p, d in zip(outcome.published, drafts, strict=False)
    ]
    top = "" if outcome.error is None else _refusal(outcome.error, drafts, _fmt(request))
    return await _page(
        request,
        step="done",
        values=values,
        top=top,
        published=sent,
    )


def _refusal(err: BalizaError, drafts: Sequence[Draft], fmt: Formatter) -> str:
    """A refusal in the officer's words, naming the row of the file when it is about one."""
    words = explain(err, fmt)
    path = err.path or ""
    if path.startswith(f"{DRAFTS}["):
        index = int(path[len(DRAFTS) + 1 : path.index("]")])
        if 0 <= index < len(drafts):
            row = fmt.gettext("Row %(row)s") % {"row": drafts[index].row}
            return f"{row}: {words} ({path})"
    return f"{words} ({path})" if path else words
