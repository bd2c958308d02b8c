"""The OpenAPI 3.1 document of the agency-local API, served at /api/v1/openapi.json.

Written by hand next to the handlers it describes (``api.py``), so it says
what the handlers do, including every error answer and its reason codes.
"""

from __future__ import annotations

from typing import Any

_ERROR = {
    "description": "Refused: a stable reason code, the field path and a sentence.",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
# Every status a token route can answer with an error body: the client's
# faults, a busy node (429), a body that did not arrive in time (408), and
# the node's own failures (500 internal, 503 database unavailable).
_ERRORS = {
    str(code): _ERROR for code in (400, 401, 403, 404, 408, 409, 413, 415, 422, 429, 500, 503)
}
# The formats the handlers enforce (baliza.protocol.ids); a test keeps them equal.
ENVELOPE_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
AGENCY_PATTERN = r"^[a-z]{2}(\.[a-z0-9][a-z0-9-]{0,30}){1,3}$"
_FILTERS: list[dict[str, Any]] = [
    {
        "name": name,
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}
        if kind == "integer"
        else {"type": "string", "minLength": 1},
        "description": text,
    }
    for name, kind, text in [
        ("after", "integer", "cursor: return notices stored after this sequence number"),
        (
            "latest",
            "integer",
            "1: the most recent `limit` notices instead of those after the cursor",
        ),
        ("limit", "integer", "page size, at most 200"),
        ("kind", "string", "message kind, e.g. notice.seizure"),
        ("sender", "string", "sending agency id"),
        ("programme", "string", "ccp, aircop, gmcp, jit, other"),
        ("since", "integer", "created at or after (Unix ms)"),
        ("until", "integer", "created before (Unix ms)"),
        ("location", "string", "UN/LOCODE or IATA code"),
        ("container", "string", "ISO 6346 container number"),
        ("vessel", "string", "IMO number, e.g. IMO9074729"),
        ("flight", "string", "flight designator"),
        ("awb", "string", "air waybill number"),
        ("company", "string", "company name"),
        ("document", "string", "document, e.g. PA:123456"),
        ("q", "string", "full-text search"),
        ("direction", "string", "in (received) or out (sent)"),
    ]
]

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
                "parameters": _FILTERS,
                "responses": {
                    "200": {"description": "a page: items and the next cursor"},
                    **_ERRORS,
                },
            },
        },
        "/api/v1/notices/{id}": {
            "get": {
                "summary": "One notice in full, with hits and delivery state",
                "parameters": [_ID, _SENDER],
                "responses": {"200": {"description": "the notice"}, **_ERRORS},
            }
        },
        "/api/v1/notices/{id}/delivery": {
            "get": {
                "summary": "Delivery state per recipient: pending, delivered, refused + reason",
                "parameters": [_ID],
                "responses": {"200": {"description": "state per recipient"}, **_ERRORS},
            }
        },
        "/api/v1/stream": {
            "get": {
                "summary": "Follow new notices (Server-Sent Events; resumes after Last-Event-ID)",
                "parameters": _FILTERS,
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
        "/api/v1/admin/events": {
            "get": {
                "summary": "Trust events: who changed what trust, when",
                "responses": {"200": {"description": "events"}, **_ERRORS},
            }
        },
        "/api/v1/admin/tokens": {
            "post": {
                "summary": "Create an API token (shown once)",
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
                                },
                            }
                        }
                    },
                },
                "responses": {"201": {"description": "the token"}, **_ERRORS},
            }
        },
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
