"""The OpenAPI 3.1 document of the agency-local API, served at /api/v1/openapi.json.

Written by hand next to the handlers it describes (``api.py``), so it says
what the handlers do, including every error answer and its reason codes.
"""

from __future__ import annotations

from typing import Any

from baliza.node.http import inbox_api
from baliza.node.services.filters import openapi_parameters
from baliza.protocol.audit import EntryKind

_ERROR = {
    "description": "Refused: a stable reason code, the field path and a sentence.",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
# Every status a token route can answer with an error body: the client's
# faults, a busy node (429), a body that did not arrive in time (408), and
# the node's own failures (500 internal, 503 database unavailable).
_ERRORS = {
    str(code): _ERROR
    for code in (400, 401, 403, 404, 408, 409, 413, 415, 422, 429, 500, 502, 503, 504)
}
# The formats the handlers enforce (baliza.protocol.ids); a test keeps them equal.
ENVELOPE_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
AGENCY_PATTERN = r"^[a-z]{2}(\.[a-z0-9][a-z0-9-]{0,30}){1,3}$"


def _op(
    summary: str, ok: str, *, body: bool = False, names: tuple[str, ...] = ()
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "summary": summary,
        "responses": {"200": {"description": ok}, **_ERRORS},
    }
    if names:
        out["parameters"] = [
            {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names
        ]
    if body:
        out["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    return out


_SHARING_PATHS: dict[str, Any] = {
    "/api/v1/subscriptions": {
        "post": _op(
            "Ask a publisher for a subscription: {publisher, filter: {kinds, programmes, "
            "categories, countries, places}, note} (admin role)",
            "the subscription as the publisher's answer left it",
            body=True,
        ),
        "get": _op(
            "Subscriptions: partners subscribed here (side publisher) and this node's "
            "requests (side subscriber), with their state",
            "the list",
        ),
    },
    **{
        f"/api/v1/subscriptions/{{id}}/{action}": {
            "post": _op(
                f"{action} a subscription; the other side is told by a signed update "
                "(admin role; body {reason} optional)",
                "the subscription, and whether the other side was told",
                names=("id",),
            )
        }
        for action in ("approve", "refuse", "pause", "resume", "cancel")
    },
    "/api/v1/notices/{id}/share": {
        "post": _op(
            "Pass a received notice on: {recipients, note}; 201 sent, 202 pending the "
            "originator's permission (H2/H3); refusals name the handling rule",
            "sent or pending",
            body=True,
            names=("id",),
        )
    },
    "/api/v1/permissions": {
        "get": _op("Permission requests asked of and by this agency (publisher role)", "the list")
    },
    **{
        f"/api/v1/permissions/{{id}}/{decision}": {
            "post": _op(
                f"{decision} a partner's request to pass on this agency's notice",
                "the request, and whether the requester was told",
                names=("id",),
            )
        }
        for decision in ("grant", "refuse")
    },
}

_WATCH_PATHS: dict[str, Any] = {
    "/api/v1/watch": {
        "get": _op("The caller's own watch entries (analyst role)", "the list"),
        "post": {
            **_op(
                "Follow an identifier (what: container, vessel, imo, flight, awb, company, "
                "person, document), a saved filter (what: filter, value: the list's query "
                "string) or every notice (what: all)",
                "the new entry",
            ),
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["what", "value"],
                            "properties": {
                                "what": {"type": "string"},
                                "value": {"type": "string"},
                            },
                        }
                    }
                },
            },
        },
    },
    "/api/v1/watch/{id}": {
        "delete": _op("Stop following one of the caller's entries", "removed", names=("id",))
    },
    "/api/v1/notifications": {
        "get": {
            **_op("The caller's newest notifications and the unread count", "the list"),
            "parameters": [
                {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                {"name": "unread", "in": "query", "schema": {"type": "string", "enum": ["0", "1"]}},
            ],
        }
    },
    "/api/v1/notifications/settings": {
        "get": _op("The caller's e-mail settings", "email, mode, digest_minutes"),
        "put": _op(
            "Change the caller's e-mail settings: {email, mode: off|immediate|digest, "
            "digest_minutes}",
            "the settings",
            body=True,
        ),
    },
    "/api/v1/notifications/read": {
        "post": _op(
            'Mark the caller\'s notifications read: {"seqs": [...]} or {"all": true}',
            "how many were marked",
            body=True,
        )
    },
}


_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": ENVELOPE_ID_PATTERN},
    "description": "envelope id (a lower-case UUIDv7)",
}
_AGENCY = {
    "name": "agency",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": AGENCY_PATTERN},
    "description": "agency id, cc.agency[.unit]",
}
_SENDER = {
    "name": "sender",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "pattern": AGENCY_PATTERN},
    "description": "ids are unique per sender: which sender's notice, when two used one id",
}


def _flag(name: str, meaning: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": {"enum": ["0", "1"]}, "description": meaning}


_CONFIRM_RED = _flag(
    "confirm_red", "1: I confirm TLP:RED notices in the file stay with their recipients"
)
_NOMINAL = _flag("nominal", "1: include persons, companies and their documents")
_STATE = {
    "name": "state",
    "in": "query",
    "schema": {"enum": ["open", "answered", "overdue"]},
    "description": "only alerts in this state",
}
_FILE_BODY = {
    "required": True,
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
            "schema": {"type": "string", "format": "binary"}
        },
    },
}


def _exports(kind: str, what: str) -> dict[str, Any]:
    return {
        "get": {
            "summary": f"{what} as a file ({kind}): each row or object says its handling; "
            "a TLP:RED notice needs confirm_red=1 (else 403 handling_forbids)",
            "parameters": openapi_parameters("export"),
            "responses": {"200": {"description": f"the {kind} file"}, **_ERRORS},
        }
    }


def _alert_exports(kind: str) -> dict[str, Any]:
    return {
        "get": {
            "summary": f"The alert board as {kind}, by expected arrival",
            "parameters": [_STATE, _CONFIRM_RED],
            "responses": {"200": {"description": f"the {kind} file"}, **_ERRORS},
        }
    }


_EXCHANGE_PATHS: dict[str, Any] = {
    "/api/v1/notices/{id}/stix": {
        "get": {
            "summary": "One notice as a STIX 2.1 bundle (analyst role)",
            "parameters": [_ID, _SENDER, _NOMINAL, _CONFIRM_RED],
            "responses": {"200": {"description": "application/stix+json"}, **_ERRORS},
        }
    },
    "/api/v1/export/stix": _exports("STIX 2.1", "The notices matching the feed's filters"),
    "/api/v1/export/notices.csv": _exports("CSV", "The notices matching the feed's filters"),
    "/api/v1/export/notices.xlsx": _exports("XLSX", "The notices matching the feed's filters"),
    "/api/v1/export/alerts.csv": _alert_exports("CSV"),
    "/api/v1/export/alerts.xlsx": _alert_exports("XLSX"),
    "/api/v1/imports/alerts": {
        "post": {
            "summary": "Read a targeting list (CSV or XLSX) into draft alerts and every row's "
            "error; nothing is stored or sent (publisher role)",
            "parameters": [
                {"name": n, "in": "query", "schema": {"type": "string"}}
                for n in ("programme", "origin", "destination", "lang")
            ],
            "requestBody": _FILE_BODY,
            "responses": {"200": {"description": "rows, drafts, errors"}, **_ERRORS},
        }
    },
    "/api/v1/imports/alerts/publish": {
        "post": _op(
            "Publish reviewed drafts {drafts, recipients | channel, handling}: every draft is "
            "checked before the first is sent (publisher role)",
            "the published alerts",
            body=True,
        )
    },
    "/api/v1/imports/stix": {
        "post": _op(
            "A STIX 2.1 bundle into draft alerts an officer completes; nothing is stored or "
            "sent (publisher role)",
            "drafts and the fields to complete",
            body=True,
        )
    },
}
_CHANNEL = {
    "name": "channel",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9.-]{0,62}$"},
}


def _json_body(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "required": required, "properties": properties}
            }
        },
    }


_AGENCIES = {"type": "array", "items": {"type": "string"}}
_SIGNED = {"description": "applied here (version) or a proposal for the other owners"}
_PEOPLE_PATHS: dict[str, Any] = {
    "/api/v1/people/actions": {
        "get": {
            "summary": "Who in this agency read, published, shared, granted, admitted or "
            "refused what, and when, oldest first (admin only): for an inquiry",
            "parameters": [
                {
                    "name": "user",
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": "only this person's actions (login name)",
                },
                {
                    "name": "since",
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": "only actions at or after this time (ISO 8601 or Unix ms)",
                },
                {
                    "name": "format",
                    "in": "query",
                    "schema": {"enum": ["json", "csv"]},
                    "description": "csv: the same rows as a CSV file",
                },
            ],
            "responses": {"200": {"description": "the actions"}, **_ERRORS},
        }
    },
}

_CHANNEL_PATHS: dict[str, Any] = {
    "/api/v1/channels": {
        "get": {
            "summary": "Channels this node knows, latest version each (analyst role)",
            "responses": {"200": {"description": "channels"}, **_ERRORS},
        },
        "post": {
            "summary": "Found a channel: version 1 signed by this owner (admin role)",
            "requestBody": _json_body(
                ["id", "kind", "name", "members"],
                {
                    "id": {"type": "string"},
                    "kind": {"enum": ["programme", "jit"]},
                    "name": {"type": "string"},
                    "programme": {"enum": ["ccp", "aircop", "gmcp", "jit", "other"]},
                    "owners": _AGENCIES,
                    "threshold": {"type": "integer"},
                    "members": _AGENCIES,
                    "valid_days": {"type": "integer"},
                },
            ),
            "responses": {"201": _SIGNED, **_ERRORS},
        },
    },
    "/api/v1/channels/{channel}": {
        "get": {
            "summary": "One channel and the versions this node holds (analyst role)",
            "parameters": [_CHANNEL],
            "responses": {"200": {"description": "the channel"}, **_ERRORS},
        }
    },
    "/api/v1/channels/{channel}/members": {
        "post": {
            "summary": "Add or remove members: the next version (admin role, owner node)",
            "parameters": [_CHANNEL],
            "requestBody": _json_body(
                [], {"add": _AGENCIES, "remove": _AGENCIES, "valid_days": {"type": "integer"}}
            ),
            "responses": {"200": _SIGNED, **_ERRORS},
        }
    },
    "/api/v1/channels/{channel}/proposals": {
        "post": {
            "summary": "Sign another owner's proposal that the caller read (review) and "
            "confirmed by its fingerprint; a lower threshold or this agency leaving the "
            "owners must be named in accept (admin role)",
            "parameters": [_CHANNEL],
            "requestBody": _json_body(
                ["proposal", "confirm"],
                {
                    "proposal": {"type": "string"},
                    "confirm": {"type": "string"},
                    "accept": {
                        "type": "array",
                        "items": {"type": "string", "enum": ["lower_threshold", "leave_owners"]},
                    },
                },
            ),
            "responses": {"200": _SIGNED, **_ERRORS},
        }
    },
    "/api/v1/channels/{channel}/proposals/review": {
        "post": {
            "summary": "What another owner's proposal changes against the version in force "
            "here, its fingerprint, the changes that must be named, and who signed it "
            "(admin role; stores nothing)",
            "parameters": [_CHANNEL],
            "requestBody": _json_body(["proposal"], {"proposal": {"type": "string"}}),
            "responses": {"200": {"description": "the review"}, **_ERRORS},
        }
    },
    "/api/v1/channels/{channel}/join": {
        "post": {
            "summary": "Ask a programme channel's owner to admit this agency (admin role)",
            "parameters": [_CHANNEL],
            "requestBody": _json_body(
                ["owner"], {"owner": {"type": "string"}, "note": {"type": "string"}}
            ),
            "responses": {"200": {"description": "asked"}, **_ERRORS},
        }
    },
    "/api/v1/channels/{channel}/joins/{agency}": {
        "post": {
            "summary": "Approve or refuse a join request (admin role, owner node)",
            "parameters": [_CHANNEL, _AGENCY],
            "requestBody": _json_body(["decision"], {"decision": {"enum": ["approve", "refuse"]}}),
            "responses": {"200": _SIGNED, **_ERRORS},
        }
    },
    "/api/v1/channels/{channel}/alarm": {
        "post": {
            "summary": "End the pause of sends to a channel under alarm: keep the chain held, "
            "or replace it with the chain another member holds (admin role)",
            "parameters": [_CHANNEL],
            "requestBody": _json_body(
                ["decision"],
                {"decision": {"enum": ["keep", "replace"]}, "from": {"type": "string"}},
            ),
            "responses": {"200": {"description": "decided; sends resume"}, **_ERRORS},
        }
    },
}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Baliza node API",
        "version": "1",
        "description": "Agency-local API of a Baliza node: publish notices to partner agencies, "
        "read, search and follow what arrives. Bearer tokens carry a role: analyst (read), "
        "publisher (read and publish) or admin (everything).",
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["reason", "detail"],
                        "properties": {
                            "reason": {"type": "string", "description": "stable reason code"},
                            "path": {"type": "string", "description": "field at fault"},
                            "detail": {"type": "string"},
                        },
                    }
                },
            },
            "PublishRequest": {
                "type": "object",
                "required": ["notice", "recipients"],
                "additionalProperties": False,
                "properties": {
                    "notice": {
                        "type": "object",
                        "description": "notice in its JSON form (docs/spec)",
                    },
                    "recipients": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    "handling": {
                        "type": "object",
                        "properties": {
                            "tlp": {"enum": ["clear", "green", "amber", "amber+strict", "red"]},
                            "codes": {"type": "array", "items": {"enum": ["h0", "h1", "h2", "h3"]}},
                            "restrictions": {"type": "string"},
                        },
                    },
                    "supersedes": {"type": "string", "description": "envelope id replaced"},
                    "non_nominal": {
                        "type": "boolean",
                        "description": "send recipients the policy keeps from nominal data "
                        "a second envelope without the nominal section",
                    },
                },
            },
            "NoticeSummary": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "seq": {"type": "integer"},
                    "direction": {"enum": ["in", "out"]},
                    "kind": {"type": "string"},
                    "sender": {"type": "string"},
                    "recipients": {"type": "array", "items": {"type": "string"}},
                    "created_ms": {"type": "integer"},
                    "summary": {"type": "string"},
                    "refs": {"type": "array", "items": {"type": "object"}},
                },
            },
        },
    },
    "security": [{"bearer": []}],
    "paths": {
        "/api/v1/notices": {
            "post": {
                "summary": "Publish a notice (publisher role)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/PublishRequest"}
                        }
                    },
                },
                "responses": {"201": {"description": "sealed, stored and queued"}, **_ERRORS},
            },
            "get": {
                "summary": "List received and sent notices (analyst role)",
                "parameters": openapi_parameters("list"),
                "responses": {
                    "200": {"description": "a page: items and the next cursor"},
                    **_ERRORS,
                },
            },
        },
        "/api/v1/search": {
            "get": {
                "summary": "Full-text search, best match first, with the total count",
                "parameters": openapi_parameters("search"),
                "responses": {
                    "200": {"description": "items with score, total, and the next cursor"},
                    **_ERRORS,
                },
            }
        },
        "/api/v1/alerts": {
            "get": {
                "summary": "The alert board: pre-arrival alerts by expected arrival, open, "
                "answered (outcome, seizure) or overdue, one page with the total",
                "parameters": [
                    {
                        "name": "state",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": ["open", "answered", "overdue"]},
                        "description": "only alerts in this state",
                    },
                    {
                        "name": "offset",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 0, "default": 0},
                        "description": "skip this many alerts of the ordered board",
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": 1000,
                            "default": 200,
                        },
                        "description": "at most this many alerts in the page",
                    },
                ],
                "responses": {
                    "200": {
                        "description": "items (the page), total (all alerts in the state), "
                        "offset, limit, counts per state, complete",
                    },
                    **_ERRORS,
                },
            }
        },
        "/api/v1/notices/{id}": {
            "get": {
                "summary": "One notice in full, with hits, attachments held and delivery state "
                "(only reads: marking it read is POST …/read)",
                "parameters": [_ID, _SENDER],
                "responses": {"200": {"description": "the notice"}, **_ERRORS},
            }
        },
        "/api/v1/notices/{id}/read": {
            "post": {
                "summary": "Mark a received notice read: its sender gets a signed read receipt, "
                "once (analyst role; idempotent)",
                "parameters": [_ID, _SENDER],
                "responses": {
                    "200": {"description": "id, receipt_sent (sent now), read_ms (when read here)"},
                    **_ERRORS,
                },
            }
        },
        "/api/v1/attachments": {
            "post": {
                "summary": "Store attachment content (JPEG, PNG, WebP, HEIC, PDF, text, CSV, "
                "MP4; at most 10 MiB; the type is checked from the content)",
                "requestBody": {"content": {"application/octet-stream": {}}},
                "responses": {
                    "201": {"description": "sha256, media_type, size: list it in the notice"},
                    **_ERRORS,
                },
            }
        },
        "/api/v1/notices/{id}/attachments/{sha256}": {
            "get": {
                "summary": "Attachment content a notice lists, as a download",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                    {
                        "name": "sha256",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {"200": {"description": "the content"}, **_ERRORS},
            }
        },
        "/api/v1/notices/{id}/delivery": {
            "get": {
                "summary": "Delivery per recipient: pending, delivered, refused + reason, read, "
                "and the outcome answering an alert",
                "parameters": [_ID],
                "responses": {"200": {"description": "state per recipient"}, **_ERRORS},
            }
        },
        "/api/v1/notices/{id}/custody": {
            "get": {
                "summary": "Chain of custody: the notice's entries in this node's audit log "
                "(sent, received, receipts, read, outcomes), each with its leaf index and its "
                "inclusion proof checked against the newest signed head",
                "parameters": [_ID, _SENDER],
                "responses": {"200": {"description": "id, log, head, entries"}, **_ERRORS},
            }
        },
        "/api/v1/stream": {
            "get": {
                "summary": "Follow new notices (Server-Sent Events `notice`, and `hit` when a new "
                "notice names what an older one named; resumes after Last-Event-ID)",
                "parameters": openapi_parameters("stream"),
                "responses": {"200": {"description": "text/event-stream"}, **_ERRORS},
            }
        },
        "/api/v1/status": {
            "get": {
                "summary": "Peers and delivery state",
                "responses": {"200": {"description": "status"}, **_ERRORS},
            }
        },
        "/api/v1/notices/{id}/envelope": {
            "get": {
                "summary": "The envelope exactly as sent or received (evidence)",
                "parameters": [_ID, _SENDER],
                "responses": {
                    "200": {"description": "application/vnd.baliza+msgpack"},
                    **_ERRORS,
                },
            }
        },
        **_SHARING_PATHS,
        **inbox_api.openapi_paths(_ERRORS, _ID, _SENDER),
        **_WATCH_PATHS,
        **_EXCHANGE_PATHS,
        "/api/v1/admin/directory": {
            "get": {
                "summary": "The federation directory in force (admin role)",
                "responses": {"200": {"description": "directory"}, **_ERRORS},
            },
            "post": {
                "operationId": "applyDirectory",
                "summary": "Apply a signed directory version and pass it on to peers (admin)",
                "parameters": [
                    {
                        "name": "fingerprint",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "pins the first directory a node applies",
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/vnd.baliza+msgpack": {"schema": {}}},
                },
                "responses": {"200": {"description": "applied or already in force"}, **_ERRORS},
            },
        },
        "/api/v1/admin/directory/history": {
            "get": {
                "summary": "Every directory version applied here",
                "responses": {"200": {"description": "versions"}, **_ERRORS},
            }
        },
        "/api/v1/admin/peers": {
            "get": {
                "summary": "Members and this node's local blocks",
                "responses": {"200": {"description": "peers"}, **_ERRORS},
            }
        },
        "/api/v1/admin/peers/{agency}/block": {
            "post": {
                "summary": "Block (or pause) an agency at this node only",
                "parameters": [_AGENCY],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["reason"],
                                "properties": {
                                    "kind": {"enum": ["block", "pause"]},
                                    "reason": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "responses": {"200": {"description": "in force"}, **_ERRORS},
            },
            "delete": {
                "summary": "Lift a local block or pause",
                "parameters": [_AGENCY],
                "responses": {"200": {"description": "lifted"}, **_ERRORS},
            },
        },
        "/api/v1/admin/keys": {
            "get": {
                "summary": "This node's key sets and whether the directory vouches for them",
                "responses": {"200": {"description": "keys"}, **_ERRORS},
            }
        },
        "/api/v1/admin/audit/heads": {
            "get": _op(
                "The audit log: its size and root now, and the tree heads this node signed "
                "(spec chapter 11; admin role)",
                "log, size, root, heads",
            )
        },
        "/api/v1/admin/audit/entries/{id}/bundle": {
            "get": {
                **_op(
                    "The auditor's bundle (spec chapter 11 §4) for the first audit entry about "
                    "an envelope id or a trust action; `baliza audit verify` checks it offline",
                    "the bundle, canonical MessagePack",
                ),
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                    },
                    {
                        "name": "kind",
                        "in": "query",
                        "schema": {"type": "string", "enum": [k.value for k in EntryKind]},
                    },
                    {
                        "name": "peer",
                        "in": "query",
                        "schema": {"type": "string", "pattern": AGENCY_PATTERN},
                    },
                ],
            }
        },
        "/api/v1/admin/audit/peers": {
            "get": _op(
                "The signed tree heads kept from each peer (accepted, and kept as evidence) "
                "and the equivocation and rollback alarms (spec chapter 11 §6)",
                "heads, alarms",
            )
        },
        "/api/v1/admin/audit/peers/{agency}/check": {
            "post": {
                **_op(
                    "Check a peer's signed tree head now against the one held: fetched from "
                    "the peer, or handed in as `signed_head` (hex); a contradiction is refused "
                    "(audit_equivocation, audit_rollback) and raised as an alarm",
                    "peer, size, root of the head held",
                    body=True,
                ),
                "parameters": [_AGENCY],
            }
        },
        "/api/v1/admin/audit/delivered/{id}": {
            "get": {
                **_op(
                    "Ask the recipient `peer` for the inclusion proof of an envelope this node "
                    "delivered to it, and verify it against the recipient's signed head",
                    "verified, index, size, root",
                ),
                "parameters": [
                    _ID,
                    {
                        "name": "peer",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string", "pattern": AGENCY_PATTERN},
                    },
                ],
            }
        },
        "/api/v1/admin/events": {
            "get": {
                "summary": "Trust events: who changed what trust, when",
                "responses": {"200": {"description": "events"}, **_ERRORS},
            }
        },
        "/api/v1/admin/tokens": {
            "get": {
                "summary": "API tokens, revoked ones too, with their owners (never a secret)",
                "responses": {"200": {"description": "tokens"}, **_ERRORS},
            },
            "post": {
                "summary": "Create an API token (shown once), a person's or a service's",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["name", "role"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "role": {"enum": ["analyst", "publisher", "admin"]},
                                    "owner": {
                                        "type": ["string", "null"],
                                        "description": "the login of the person it acts"
                                        " for; absent or null: a named service's token",
                                    },
                                },
                            }
                        }
                    },
                },
                "responses": {"201": {"description": "the token"}, **_ERRORS},
            },
        },
        **_CHANNEL_PATHS,
        **_PEOPLE_PATHS,
        "/api/v1/openapi.json": {
            "get": {
                "security": [],
                "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3.1"}},
            }
        },
        "/healthz": {
            "get": {
                "security": [],
                "summary": "Health",
                "responses": {"200": {"description": "ok"}},
            }
        },
        "/metrics": {
            "get": {
                "security": [],
                "summary": "Prometheus metrics",
                "responses": {"200": {"description": "text"}},
            }
        },
    },
}
