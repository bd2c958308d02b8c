"""Files out of the console: the feed's notices (XLSX, CSV, STIX 2.1) and the alert board.

The console answers with the API's own export handlers
(``http.exports_api``: ``GET /api/v1/export/notices.xlsx|csv``,
``/api/v1/export/stix``, ``/api/v1/export/alerts.xlsx|csv``), behind the
console's session, so a file from the console is the file ``baliza export``
writes: the same filters, the same refusal of TLP:RED without
``confirm_red`` and of nominal data without ``nominal``, the same audit
record naming who asked. This module only turns the download form (one
GET form, a format among its fields) into the path of the chosen file.
"""

from __future__ import annotations

from aiohttp import web

from baliza.node.console.web import PREFIX
from baliza.protocol.errors import InputError, ReasonCode

# The chosen format → the file's path (the API's handler reads the extension from it).
NOTICE_FILES = {
    "xlsx": "/export/notices.xlsx",
    "csv": "/export/notices.csv",
    "stix": "/export/stix",
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
