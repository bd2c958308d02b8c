"""The notice page's "Chain of custody" section and its download (spec chapters 08 and 11).

The rows are the read model ``services.views.custody`` gives the API, put
in the reader's language; the download is the API's JSON for the notice,
proofs included, so an auditor can take it away from the console as well.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from baliza.node.console.i18n import N_, Formatter
from baliza.node.console.web import FORMATTER, PREFIX
from baliza.node.http.appkeys import NODE
from baliza.node.services.views.custody import Custody, custody
from baliza.protocol.ids import envelope_id

KIND_WORDS = {
    "envelope.sent": N_("Sealed and sent from here"),
    "envelope.received": N_("Received from"),
    "receipt.received": N_("Receipt from"),
    "read": N_("Read here; receipt sent to"),
    "export": N_("Exported to a file here"),
}


def custody_view(chain: Custody, fmt: Formatter) -> dict[str, Any]:
    """What ``_custody.html`` shows: one row per leaf, and whether all of it checked."""
    head = chain.head
    return {
        "href": f"{PREFIX}/notices/{chain.envelope_id}/custody",
        "complete": chain.complete,
        "head": None
        if head is None
        else {"size": head.head.size, "at": fmt.datetime(head.head.at_ms)},
        "rows": [
            {
                "index": e.index,
                "what": fmt.gettext(KIND_WORDS[e.entry.kind.value]),
                "peer": e.entry.peer or "",
                "envelope": e.envelope_id,
                "at": fmt.datetime(e.entry.at_ms),
                "state": "verified" if e.verified else ("pending" if e.proof is None else "failed"),
            }
            for e in chain.entries
        ],
    }


async def section(request: web.Request, eid: str, sender: str) -> dict[str, Any]:
    """The section's data for the notice page."""
    return custody_view(await custody(request.app[NODE], eid, sender), request[FORMATTER])


async def download(request: web.Request) -> web.Response:
    """The chain of custody with its proofs, as the API gives it, saved as a file."""
    eid = envelope_id(request.match_info["id"], "id")
    chain = await custody(request.app[NODE], eid)
    return web.Response(
        text=json.dumps(chain.to_json(), indent=2),
        content_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="custody-{eid}.json"'},
    )
