"""TAXII 2.1 on the agency face: read-only collections for MISP, OpenCTI and the like.

Routes under ``/taxii2/`` need an analyst's API token, as a bearer header
or as the password of HTTP Basic (what these platforms can send). Every
answer, errors included, is ``application/taxii+json;version=2.1``
(``errors.taxii_error``). What the collections hold, and what they never
do (TLP:RED, nominal data), is ``exchange/taxii.py``'s and
``services/views/exports.py``'s to say.

Offered: discovery, the API root, collections, a collection, its objects
(``added_after``, ``limit``, ``next``, ``match[type]``, ``match[id]``) and
its manifest. Not offered: writing (``can_write`` is false), object by id
and versions (``match[id]`` on objects answers the same question), status.
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from baliza.node.exchange import taxii
from baliza.node.exchange.stix import timestamp
from baliza.node.exchange.taxii import Collection, Cursor
from baliza.node.http.appkeys import NODE
from baliza.node.http.errors import taxii_json
from baliza.node.http.routes import Access, Credential, Route
from baliza.node.services.views.exports import collection_window, collections
from baliza.protocol.errors import InputError, ReasonCode, UsageError

ROOT = f"/taxii2/{taxii.API_ROOT}/"
_OBJECT_PARAMS = frozenset({"added_after", "limit", "next", "match[type]", "match[id]"})


def _acceptable(request: web.Request) -> None:
    if not taxii.accepts(request.headers.get("Accept")):
        raise web.HTTPNotAcceptable(reason=f"this server answers {taxii.MEDIA_TYPE}")


def _root_url(request: web.Request) -> str:
    return str(request.url.with_path(ROOT).with_query(None))


async def get_discovery(request: web.Request) -> web.Response:
    """TAXII discovery: the one API root."""
    _acceptable(request)
    return taxii_json(taxii.discovery(_root_url(request), request.app[NODE].agency))


async def get_api_root(request: web.Request) -> web.Response:
    """The API root: TAXII 2.1, nothing may be written."""
    _acceptable(request)
    return taxii_json(taxii.api_root(request.app[NODE].agency))


async def get_collections(request: web.Request) -> web.Response:
    """Received, and one collection per channel this agency is a member of."""
    _acceptable(request)
    found = await collections(request.app[NODE])
    return taxii_json({"collections": [c.to_json() for c in found]})


async def _collection(request: web.Request) -> Collection:
    wanted = request.match_info["collection"]
    for collection in await collections(request.app[NODE]):
        if collection.id == wanted:
            return collection
    raise UsageError(ReasonCode.NOT_FOUND, "no such collection", path="collection")


async def get_collection(request: web.Request) -> web.Response:
    """One collection."""
    _acceptable(request)
    return taxii_json((await _collection(request)).to_json())


def _added_after(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            ReasonCode.BAD_FORMAT,
            "must be a timestamp like 2026-12-01T10:00:00.000Z",
            path="added_after",
        ) from None
    if moment.tzinfo is None:
        raise InputError(ReasonCode.BAD_FORMAT, "must be in UTC (end with Z)", path="added_after")
    return int(moment.timestamp() * 1000)


def _matches(request: web.Request, name: str) -> frozenset[str]:
    raw = request.query.get(name)
    return frozenset(v.strip() for v in raw.split(",") if v.strip()) if raw else frozenset()


async def _page(request: web.Request) -> taxii.ObjectPage:
    _acceptable(request)
    unknown = sorted(set(request.query) - _OBJECT_PARAMS)
    if unknown:
        raise InputError(
            ReasonCode.UNKNOWN_FIELD, "is not a filter this server offers", path=unknown[0]
        )
    collection = await _collection(request)
    raw_next = request.query.get("next")
    start = taxii.parse_cursor(raw_next) if raw_next is not None else Cursor(0)
    limit = taxii.parse_limit(request.query.get("limit"))
    added_after = _added_after(request.query.get("added_after"))
    notices, exhausted = await collection_window(request.app[NODE], collection, start, added_after)
    return taxii.page_of(
        notices,
        start,
        limit,
        types=_matches(request, "match[type]"),
        ids=_matches(request, "match[id]"),
        exhausted=exhausted,
    )


def _date_headers(page: taxii.ObjectPage) -> dict[str, str]:
    if not page.objects:
        return {}
    added = [ms for _, ms in page.objects]
    return {
        "X-TAXII-Date-Added-First": timestamp(min(added)),
        "X-TAXII-Date-Added-Last": timestamp(max(added)),
    }


async def get_objects(request: web.Request) -> web.Response:
    """A page of a collection's objects, in a TAXII envelope."""
    page = await _page(request)
    return taxii_json(taxii.envelope(page), headers=_date_headers(page))


async def get_manifest(request: web.Request) -> web.Response:
    """A page of a collection's manifest: id, version and date added of each object."""
    page = await _page(request)
    return taxii_json(taxii.manifest(page, timestamp), headers=_date_headers(page))


_COLLECTION = ROOT + "collections/{collection}/"
_READ = Access.ANALYST
_HOW = Credential.BEARER_OR_BASIC

ROUTES = (
    Route("GET", "/taxii2/", get_discovery, _READ, "TAXII discovery", _HOW),
    Route("GET", ROOT, get_api_root, _READ, "TAXII API root", _HOW),
    Route("GET", ROOT + "collections/", get_collections, _READ, "TAXII collections", _HOW),
    Route("GET", _COLLECTION, get_collection, _READ, "TAXII collection", _HOW),
    Route("GET", _COLLECTION + "objects/", get_objects, _READ, "TAXII objects", _HOW),
    Route("GET", _COLLECTION + "manifest/", get_manifest, _READ, "TAXII manifest", _HOW),
)
