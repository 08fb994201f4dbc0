"""The OpenAPI 3.1 document, built from the route table and the pydantic models it names.

Nothing here is written by hand per route: paths, parameters, bodies, responses and security all
come from the ``Route`` declarations the dispatcher serves, so the two cannot drift apart.
"""

from __future__ import annotations

import copy
from functools import cache

from pydantic import BaseModel

from cloudswarm.api.routing import ID_PATTERN, PARAM_KIND, ROLES, WEBHOOK_PATTERN, Route
from cloudswarm.api.schemas import ErrorBody

STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    400: "Malformed request (bad JSON, unexpected query parameters)",
    401: "Missing, invalid, expired or revoked credentials",
    403: "The key's role does not allow this",
    404: "No such resource",
    409: "Conflicts with the current state",
    413: "Body too large",
    415: "Body is not application/json",
    422: "Body or query parameters fail validation",
    429: "Rate limit exceeded for this key; see Retry-After",
    500: "Internal error",
    503: "A backing service is unavailable; see Retry-After",
}
WEBHOOK_HEADERS = {
    "X-Hub-Signature-256": "GitHub-style `sha256=<hex>` HMAC-SHA256 of the raw body "
    "(or of `<timestamp>.<body>` when X-CloudSwarm-Timestamp is sent).",
    "X-CloudSwarm-Signature": "Same as X-Hub-Signature-256 (either header is accepted).",
    "X-CloudSwarm-Timestamp": "Unix seconds when the delivery was signed.",
    "X-CloudSwarm-Delivery": "Unique delivery id (replays are refused).",
    "X-GitHub-Delivery": "GitHub's delivery id (used when X-CloudSwarm-Delivery is absent).",
    "X-GitHub-Event": "GitHub's event name (`ping` is answered without starting anything).",
}


class _Components:
    def __init__(self):
        self.schemas: dict[str, dict] = {}

    def ref(self, model: type[BaseModel], mode: str) -> dict:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)
        for name, sub in schema.pop("$defs", {}).items():
            self.schemas[name] = sub
        self.schemas[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}


def _drop_null(schema: dict) -> dict:
    """Query parameters are never null on the wire: keep the non-null branch of ``X | None``."""
    options = schema.get("anyOf")
    if options:
        rest = [o for o in options if o.get("type") != "null"]
        if len(rest) == 1:
            merged = {k: v for k, v in schema.items() if k != "anyOf"}
            return {**rest[0], **merged}
    return schema


def _query_params(model: type[BaseModel]) -> list[dict]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema["properties"].items():
        prop = _drop_null(copy.deepcopy(prop))
        prop.pop("title", None)
        params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    return params


def _path_params(route: Route) -> list[dict]:
    out = []
    for p in route.path_params:
        pattern = WEBHOOK_PATTERN if PARAM_KIND.get(p) == "hook" else ID_PATTERN
        out.append(
            {
                "name": p,
                "in": "path",
                "required": True,
                "schema": {"type": "string", "pattern": f"^{pattern}$"},
            }
        )
    return out


def error_statuses(route: Route) -> list[int]:
    codes = {400, 500, 503, *route.errors}
    if route.auth == "bearer":
        codes |= {401, 429}
        if route.role != ROLES[0]:
            codes.add(403)
    if route.body is not None or route.auth == "webhook":
        codes |= {413, 415, 422}
    if route.query is not None:
        codes.add(422)
    if route.path_params:
        codes.add(404)
    return sorted(codes)


def _operation(route: Route, comp: _Components) -> dict:
    op: dict = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "description": route.description,
        "tags": [route.tag],
        "parameters": _path_params(route) + (_query_params(route.query) if route.query else []),
    }
    if route.role:
        op["x-required-role"] = route.role
    if route.auth == "bearer":
        op["security"] = [{"bearer": []}]
    elif route.auth == "webhook":
        op["security"] = []
        op["parameters"] += [
            {
                "name": h,
                "in": "header",
                "required": False,
                "description": d,
                "schema": {"type": "string"},
            }
            for h, d in WEBHOOK_HEADERS.items()
        ]
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    else:
        op["security"] = []
    if route.body is not None:
        op["requestBody"] = {
            "required": route.body_required,
            "content": {"application/json": {"schema": comp.ref(route.body, "validation")}},
        }
    ok: dict = {"description": STATUS_TEXT.get(route.status, "OK")}
    if route.stream or route.media:
        kinds = route.media or (route.stream,)
        ok["content"] = {m: {"schema": {"type": "string"}} for m in kinds}
    elif route.response is not None:
        ok["content"] = {"application/json": {"schema": comp.ref(route.response, "serialization")}}
    else:
        ok["content"] = {"application/json": {"schema": {"type": "object"}}}
    responses = {str(route.status): ok}
    for extra in route.also:
        responses[str(extra)] = ok
    err = comp.ref(ErrorBody, "serialization")
    for code in error_statuses(route):
        responses[str(code)] = {
            "description": STATUS_TEXT.get(code, "Error"),
            "content": {"application/json": {"schema": err}},
        }
    op["responses"] = responses
    return op


@cache
def document() -> dict:
    from cloudswarm.api.routes import ROUTE_TABLE  # imports every route module

    comp = _Components()
    paths: dict[str, dict] = {}
    for r in ROUTE_TABLE:
        paths.setdefault(r.path, {})[r.method.lower()] = _operation(r, comp)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "CloudSwarm API",
            "version": "1",
            "description": (
                "Control plane of CloudSwarm. Exchange an API key for a short-lived JWT at "
                "POST /api/auth/token and send it as `Authorization: Bearer <token>`. Errors are "
                'always `{"error": {"code": "...", "message": "..."}}`.'
            ),
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(comp.schemas.items())),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
