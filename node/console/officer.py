"""The officer's pages: publish an alert, a seizure, an outcome, a case notice or a correction.

The form is turned into the API's JSON body (``forms``, ``case_forms``) and
published by the same service as ``POST /api/v1/notices``; a refusal comes
back with its reason code and field, and is shown next to that field in the
person's language. Each form has a short version and a long one
(``?form=long``: route legs, requests, the nominal section, tasks); both
post to the same builder. Photos travel in the same multipart form and are
stored as ``POST /api/v1/attachments`` stores them before the notice lists
them; a refused form keeps the photos already stored (hidden fields), so
the officer does not pick them again. The route table lets only publishers
(and administrators) in, and checks the form's CSRF token.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from baliza.node.console import adapter, form_check, officer_adapter, places, prefill
from baliza.node.console.case_forms import KIND_OF_FORM, NOTICES, correction_notice
from baliza.node.console.choices import choices
from baliza.node.console.forms import envelope, field_of
from baliza.node.console.i18n import Formatter
from baliza.node.console.web import FORMATTER, PREFIX, posted, render
from baliza.node.core.clock import now_ms
from baliza.node.http.appkeys import ATTACHMENTS, NODE
from baliza.node.http.routes import SIGNED_IN
from baliza.node.services.attachment_transport import download_headers
from baliza.node.services.context import NodeContext
from baliza.protocol.errors import BalizaError, InputError, ReasonCode
from baliza.protocol.notices.filenames import shown_filename

FORMS = (*NOTICES, "correction")
# Each programme's short form starts from its usual case: a container at sea
# (CCP), a flight (AIRCOP), a vessel (GMCP); its long form shows everything.
PROGRAMME_DEFAULTS = {
    "ccp": {"transport": "sea", "subject_type": "container"},
    "aircop": {"transport": "air", "subject_type": "flight"},
    "gmcp": {"transport": "sea", "subject_type": "vessel"},
}
LIST_FIELDS = ("recipients", "codes", "indicators", "requests", "offences")
KEPT = "attached"
ANSWERS = "answers"  # the alert a seizure form answers (its outcome is sent with it)
# The fields each form cannot be sent without (marked in the form; the protocol decides).
REQUIRED = {
    "alert": ("origin", "destination", "expected", "subject_type", "recipients"),
    "seizure": ("seized", "location", "category", "amount", "recipients"),
    "outcome": ("alert", "result", "at", "recipients"),
    "case": ("case_ref", "title", "status", "channel"),
}  # hidden fields: photos stored by an earlier, refused submission


def _kind(request: web.Request) -> str:
    kind = request.match_info["kind"]
    if kind not in FORMS:
        raise web.HTTPNotFound()
    return kind


def _long(request: web.Request) -> bool:
    return request.query.get("form") == "long"


async def _page(
    request: web.Request,
    kind: str,
    values: dict[str, str],
    lists: dict[str, list[str]],
    kept: list[dict[str, Any]],
    *,
    errors: dict[str, str] | None = None,
    top: str = "",
    status: int = 200,
    lost: list[str] | None = None,
    summary: list[form_check.Refusal] | None = None,
) -> web.Response:
    ctx = request.app[NODE]
    long = _long(request) or kind in ("case", "correction")
    programme = values.get("programme") or request.query.get("programme", "")
    if kind in ("alert", "seizure") and programme in PROGRAMME_DEFAULTS:
        values = {"programme": programme, **PROGRAMME_DEFAULTS[programme], **values}
    # Times are typed in the viewer's zone (a hidden field says which, so a form
    # switched to another zone mid-way is still read as it was typed).
    values = {"tz": request[FORMATTER].tz, **values}
    context = {
        **await choices(ctx, request[FORMATTER].lang),
        "kind": kind,
        "of_kind": values.get("of_kind", kind),
        "long": long,
        "programme": values.get("programme", "ccp"),
        "form_programmes": list(PROGRAMME_DEFAULTS),
        "values": values,
        "lists": lists,
        "kept": kept,
        "kept_field": KEPT,
        "errors": errors or {},
        "top": top,
        "lost": lost or [],
        "summary": summary or [],
        "required": REQUIRED.get(values.get("of_kind", kind), ()),
        "arrival_zones": arrival_zones(values),
    }
    return render(request, "publish.html", context, status=status)


def arrival_zones(values: dict[str, str]) -> list[str]:
    """The zones an alert's arrival may be typed in: the viewer's, the destination's, UTC."""
    offered = [values.get("tz", "UTC"), places.zone_of(values.get("destination", "")), "UTC"]
    chosen = values.get("expected_tz")
    return list(dict.fromkeys(z for z in (chosen, *offered) if z))


async def publish_form(request: web.Request) -> web.Response:
    """An empty publish form, an outcome answering an alert, or a correction of a sent notice."""
    kind = _kind(request)
    ctx = request.app[NODE]
    values: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    kept: list[dict[str, Any]] = []
    lost: list[str] = []
    if kind == "outcome" and request.query.get("alert"):
        # Answering an alert: name it, and send the answer to whoever sent it.
        alert = await adapter.stored(ctx, request.query["alert"])
        values = {"alert": alert.envelope_id, "at": request[FORMATTER].minute(now_ms())}
        lists = {"recipients": adapter.outcome_audience(ctx, alert)}
    elif kind == "seizure" and request.query.get("answers"):
        # Seizure made: the form starts from the alert, and sends its outcome with it.
        alert = await adapter.stored(ctx, request.query["answers"])
        now = request[FORMATTER].minute(now_ms())
        values = prefill.seizure_of_alert(json.loads(alert.notice_json), now)
        values[ANSWERS] = alert.envelope_id
        values["tlp"] = alert.tlp
        lists = {"recipients": adapter.outcome_audience(ctx, alert)}
    elif kind == "correction":
        sent = await officer_adapter.own_notice(ctx, request.query.get("of", ""))
        body = json.loads(sent.notice_json)
        if body.get("kind") == "notice.correction":
            body = body["notice"]  # correcting a correction: start from its replacement
        values, lists = prefill.fields_of(body, request[FORMATTER].tz)
        values["of_kind"] = KIND_OF_FORM.get(str(body.get("kind")), "seizure")
        refilled = NOTICES[values["of_kind"]](values, lists, ctx.agency, request[FORMATTER].lang)
        lost = prefill.lost_fields(body, refilled)
        values["supersedes"] = sent.envelope_id
        # The correction keeps the handling it supersedes (it may not lower it).
        handling = json.loads(sent.handling_json)
        values["tlp"] = sent.tlp
        lists["codes"] = list(handling.get("codes", []))
        if handling.get("restrictions"):
            values["restrictions"] = str(handling["restrictions"])
        lists["recipients"] = list(sent.recipients)
        channel = await officer_adapter.sent_channel(ctx, sent.envelope_id)
        if channel is not None:
            values["channel"] = channel  # a correction goes where the notice went
        kept = officer_adapter.listed(body)
    elif kind == "case":
        values = {"programme": "jit"}
    if request.query.get(CARRIED) == "1":
        values, lists, kept = _carried(request, values, lists)
    return await _page(request, kind, values, lists, kept, lost=lost)


# A half-filled form switching language comes back as a GET carrying its fields
# (console.js builds it from the form; the CSRF token and files stay behind).
CARRIED = "carried"
NOT_CARRIED = frozenset({CARRIED, "form", "of", "csrf", KEPT})


def _carried(
    request: web.Request, values: dict[str, str], lists: dict[str, list[str]]
) -> tuple[dict[str, str], dict[str, list[str]], list[dict[str, Any]]]:
    """The fields a form carried across a language switch, over what the page starts from."""
    query = request.query
    values = {
        **values,
        **{k: v for k, v in query.items() if k not in NOT_CARRIED and k not in LIST_FIELDS},
    }
    lists = {**lists, **{k: query.getall(k) for k in LIST_FIELDS if k in query}}
    return values, lists, _kept(request.app[NODE], query.getall(KEPT, []))


def _kept(ctx: NodeContext, raw: list[str]) -> list[dict[str, Any]]:
    """The photos an earlier submission stored, from their hidden fields, still held here."""
    out = []
    for item in raw:
        try:
            entry = json.loads(item)
        except ValueError:
            raise InputError(ReasonCode.MALFORMED, "not a stored photo", path="photos") from None
        shape = {"sha256": str, "media_type": str, "size": int, "filename": str}
        if not isinstance(entry, dict) or any(
            not isinstance(entry.get(k), t) for k, t in shape.items()
        ):
            raise InputError(ReasonCode.WRONG_TYPE, "not a stored photo", path="photos")
        officer_adapter.check_held(ctx, entry)
        out.append(entry)
    return out


async def _photos(request: web.Request, entries: list[dict[str, Any]]) -> None:
    """Store the files of this submission, adding their entries to ``entries`` one by one.

    One by one, so a file refused after others were stored leaves those in
    the list, and the form shown again keeps them.
    """
    ctx = request.app[NODE]
    for item in (await request.post()).getall("photos", []):
        if not isinstance(item, web.FileField) or not item.filename:
            continue  # the empty part a browser sends when no file was chosen
        try:
            entry = await officer_adapter.store_photo(
                ctx, item.file, item.content_type, item.filename
            )
        except InputError as err:
            shown = shown_filename(item.filename)  # never the deceiving name itself
            raise InputError(err.reason, f"{shown}: {err.detail}", path="photos") from None
        finally:
            item.file.close()
        if all(e.get("sha256") != entry["sha256"] for e in entries):
            entries.append(entry)


async def publish_submit(request: web.Request) -> web.Response:
    """Publish the form's notice, or show the form again with the refused field's message."""
    kind = _kind(request)
    form = await posted(request)
    values = {k: v for k, v in form.items() if isinstance(v, str) and k not in LIST_FIELDS}
    values.pop(KEPT, None)
    if not values.get(ANSWERS):
        values.pop(ANSWERS, None)
    lists = {k: [v for v in form.getall(k, []) if isinstance(v, str)] for k in LIST_FIELDS}
    kept = [v for v in form.getall(KEPT, []) if isinstance(v, str)]
    fmt = request[FORMATTER]
    ctx = request.app[NODE]
    photos: list[dict[str, Any]] = []
    try:
        photos = _kept(ctx, kept)
        if kind != "outcome":
            await _photos(request, photos)
    except BalizaError as err:
        return await _refused(
            request, kind, values, lists, photos, [_refusal(kind, values, err, fmt)]
        )

    def build(v: dict[str, str], lst: dict[str, list[str]]) -> dict[str, Any]:
        return _notice(kind, v, lst, ctx.agency, fmt.lang, photos)

    # Every refused field at once, checked by the protocol without publishing.
    found = form_check.refusals(build, lambda n, v, lst: envelope(v, lst, n), values, lists, fmt)
    if found:
        return await _refused(
            request, kind, values, lists, photos, [_case_field(kind, values, r) for r in found]
        )
    body = envelope(values, lists, build(values, lists))
    try:
        user = request[SIGNED_IN].caller.acting_person
        if kind == "seizure" and values.get(ANSWERS):
            answered = await adapter.submit_seizure_answer(ctx, body, values[ANSWERS], user)
            published = answered.seizure
        else:
            published = await adapter.submit(ctx, body, user)
    except BalizaError as err:
        return await _refused(
            request, kind, values, lists, photos, [_refusal(kind, values, err, fmt)]
        )
    shown = published.id or (published.non_nominal.id if published.non_nominal else None)
    raise web.HTTPSeeOther(f"{PREFIX}/notices/{shown}")


def _case_field(kind: str, values: dict[str, str], found: form_check.Refusal) -> form_check.Refusal:
    """A case notice's audience is its JIT channel: a recipients refusal belongs there."""
    if found.field == "recipients" and "case" in (kind, values.get("of_kind")):
        return form_check.Refusal("channel", found.label, found.message)
    return found


def _refusal(
    kind: str, values: dict[str, str], err: BalizaError, fmt: Formatter
) -> form_check.Refusal:
    """A refusal from storing photos or from publishing (the node's own rules), as shown."""
    field = field_of(err.path)
    text = form_check.message(field, err, values.get(field, ""), fmt)
    if not field:
        text = f"{text} ({err.path or err.reason.value})"
    label = fmt.gettext(form_check.LABELS[field]) if field in form_check.LABELS else ""
    return _case_field(kind, values, form_check.Refusal(field, label, text))


async def _refused(
    request: web.Request,
    kind: str,
    values: dict[str, str],
    lists: dict[str, list[str]],
    photos: list[dict[str, Any]],
    found: list[form_check.Refusal],
) -> web.Response:
    """The form again, every refused field marked and listed in a summary at the top."""
    errors = {r.field: r.message for r in found if r.field}
    top = " ".join(r.message for r in found if not r.field)
    return await _page(
        request, kind, values, lists, photos, errors=errors, top=top, summary=found, status=422
    )


def _notice(
    kind: str,
    values: dict[str, str],
    lists: dict[str, list[str]],
    agency: str,
    lang: str,
    photos: list[dict[str, Any]],
) -> dict[str, Any]:
    """The notice the form describes, listing its photos."""
    if kind == "correction":
        notice = correction_notice(values, lists, agency, lang)
        if photos:
            notice["notice"]["attachments"] = photos
        return notice
    notice = NOTICES[kind](values, lists, agency, lang)
    if photos:
        notice["attachments"] = photos
    return notice


async def attachment(request: web.Request) -> web.StreamResponse:
    """A photo or file a notice lists: a download, typed as the signed notice says."""
    found = await officer_adapter.download(
        request.app[NODE],
        request.app[ATTACHMENTS],
        request.match_info["id"],
        request.match_info["sha256"],
    )
    return web.FileResponse(found.path, headers=download_headers(found.media_type, found.filename))
