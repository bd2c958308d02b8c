"""Files out of the console: the feed's notices (XLSX, CSV, STIX 2.1) and the alert board.

The console writes them with the service the API's exports call
(``services.export_files``, behind ``GET /api/v1/export/notices.xlsx|csv``,
``/api/v1/export/stix`` and ``/api/v1/export/alerts.xlsx|csv``), so a file
from the console is the file ``baliza export`` writes: the same filters, the
same refusal of TLP:RED without ``confirm_red`` and of nominal data without
``nominal``, the same audit record naming who asked. The download form (one
GET form, a format among its fields) leads to the chosen file's path.
"""

from __future__ import annotations

from aiohttp import web

from baliza.node.console.web import PREFIX
from baliza.node.http.appkeys import NODE
from baliza.node.http.routes import caller
from baliza.node.services.export_files import ExportFile, alerts_file, notice_stix, notices_file
from baliza.protocol.errors import InputError, ReasonCode

# The chosen format → the file's path (the API's handler reads the extension from it).
NOTICE_FILES = {
    "xlsx": "/export/notices.xlsx",
    "csv": "/export/notices.csv",
    "stix": "/export/notices.stix",
}
ALERT_FILES = {"xlsx": "/export/alerts.xlsx", "csv": "/export/alerts.csv"}


async def choose(request: web.Request) -> web.Response:
    """The download form's answer: to the chosen file, with the filters and choices kept."""
    what = request.query.get("what", "notices")
    files = ALERT_FILES if what == "alerts" else NOTICE_FILES
    chosen = request.query.get("format", "")
    if chosen not in files:
        raise InputError(ReasonCode.BAD_ENUM, f"must be one of {', '.join(files)}", path="format")
    query = [
        (k, v)
        for k, v in request.query.items()
        if k not in ("what", "format")
        and v.strip()
        and not (k in ("nominal", "confirm_red") and v == "0")
    ]
    raise web.HTTPSeeOther(str(request.rel_url.with_path(PREFIX + files[chosen]).with_query(query)))


def _download(exported: ExportFile) -> web.Response:
    return web.Response(
        body=exported.body,
        headers={
            "Content-Type": exported.media_type,
            "Content-Disposition": f'attachment; filename="{exported.filename}"',
        },
    )


async def notices(request: web.Request) -> web.Response:
    """The feed's notices, filtered as the page was, as XLSX, CSV or STIX 2.1."""
    extension = request.match_info["format"]
    if extension not in NOTICE_FILES:
        raise web.HTTPNotFound()
    ctx = request.app[NODE]
    return _download(await notices_file(ctx, request.query, extension, caller(request).name))


async def alerts(request: web.Request) -> web.Response:
    """The alert board, in the state the page showed, as XLSX or CSV."""
    extension = request.match_info["format"]
    if extension not in ALERT_FILES:
        raise web.HTTPNotFound()
    ctx = request.app[NODE]
    return _download(await alerts_file(ctx, request.query, extension, caller(request).name))


async def notice(request: web.Request) -> web.Response:
    """One notice as a STIX 2.1 bundle (its page's export button)."""
    ctx = request.app[NODE]
    raw_id = request.match_info["id"]
    return _download(await notice_stix(ctx, raw_id, request.query, caller(request).name))
