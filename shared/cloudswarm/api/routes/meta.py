"""Health and the API's own description; both need no token."""

from __future__ import annotations

import datetime as dt

from cloudswarm.api.routing import Call, route
from cloudswarm.api.schemas import Health


@route("GET", "/api/health", tag="meta", role=None, auth="none", response=Health)
def health(call: Call):
    """Liveness: answers without touching any backing service."""
    return {"status": "ok", "time": dt.datetime.now(dt.UTC)}


@route("GET", "/api/openapi.json", tag="meta", role=None, auth="none")
def openapi_document(call: Call):
    """This API's OpenAPI 3.1 document."""
    from cloudswarm.api.openapi import document

    return document()
