"""STIX 2.1, CSV and XLSX exports in the agency API: one notice, or a list by the feed's filters.

The files and their rules (handling inside every file, TLP:RED only with
``confirm_red=1``, nominal data only with ``nominal=1``, an audit leaf
before the file leaves) are ``services.export_files``, which the console's
download form calls too; these handlers only answer them as downloads.
"""

from __future__ import annotations

from aiohttp import web

from baliza.node.http.appkeys import NODE
from baliza.node.http.routes import Access, Route, caller
from baliza.node.services.export_files import TABLES, ExportFile, alerts_file, notices_file
from baliza.node.services.export_files import notice_stix as notice_stix_file


def _file(exported: ExportFile) -> web.Response:
    headers = {
        "Content-Type": exported.media_type,
        "Content-Disposition": f'attachment; filename="{exported.filename}"',
    }
    if exported.matched is not None:
        # How many matched; the file holds the first ``limit``.
        headers["X-Baliza-Matched"] = str(exported.matched)
    return web.Response(body=exported.body, headers=headers)


async def get_notice_stix(request: web.Request) -> web.Response:
    """One notice as a STIX 2.1 bundle."""
    return _file(
        await notice_stix_file(
            request.app[NODE], request.match_info["id"], request.query, caller(request).name
        )
    )


async def get_export_stix(request: web.Request) -> web.Response:
    """The notices matching the feed's filters (oldest first) as one STIX 2.1 bundle."""
    return _file(await notices_file(request.app[NODE], request.query, "stix", caller(request).name))


async def get_export_table(request: web.Request) -> web.Response:
    """The notices matching the feed's filters as CSV or XLSX, one row each."""
    extension = request.path.rsplit(".", 1)[1]
    return _file(
        await notices_file(request.app[NODE], request.query, extension, caller(request).name)
    )


async def get_export_alerts(request: web.Request) -> web.Response:
    """The alert board (every alert in ``state``, by expected arrival) as CSV or XLSX."""
    extension = request.path.rsplit(".", 1)[1]
    return _file(
        await alerts_file(request.app[NODE], request.query, extension, caller(request).name)
    )


ROUTES = (
    Route(
        "GET", "/api/v1/notices/{id}/stix", get_notice_stix, Access.ANALYST, "a notice as STIX 2.1"
    ),
    Route("GET", "/api/v1/export/stix", get_export_stix, Access.ANALYST, "notices as STIX 2.1"),
    *(
        Route(
            "GET",
            f"/api/v1/export/notices.{extension}",
            get_export_table,
            Access.ANALYST,
            f"notices as {extension.upper()}",
        )
        for extension in TABLES
    ),
    *(
        Route(
            "GET",
            f"/api/v1/export/alerts.{extension}",
            get_export_alerts,
            Access.ANALYST,
            f"the alert board as {extension.upper()}",
        )
        for extension in TABLES
    ),
)
