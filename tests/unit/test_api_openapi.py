"""The OpenAPI document describes exactly the routes served, and is itself valid."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import schemathesis

from cloudswarm.api.app import URLS
from cloudswarm.api.openapi import document
from cloudswarm.api.routes import ROUTE_TABLE

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_the_document_lists_exactly_the_served_routes():
    doc = document()
    described = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    served = {(r.method, r.path) for r in ROUTE_TABLE}
    assert described == served
    # ...and the dispatcher's URL map serves each of them (with the path parameters named).
    adapter = URLS.bind("api")
    for method, path in served:
        concrete = re.sub(r"\{(\w+)\}", lambda m: "lead" if m[1] != "name" else "hook", path)
        route_index, params = adapter.match(concrete, method)
        assert ROUTE_TABLE[route_index].path == path
        assert set(params) == set(re.findall(r"\{(\w+)\}", path))


def test_operation_ids_are_unique_and_security_matches_the_route():
    ops = [op for ops in document()["paths"].values() for op in ops.values()]
    assert len({op["operationId"] for op in ops}) == len(ops)
    by_id = {r.operation_id: r for r in ROUTE_TABLE}
    for op in ops:
        route = by_id[op["operationId"]]
        if route.auth == "bearer":
            assert op["security"] == [{"bearer": []}]
            assert {"401", "429"} <= set(op["responses"])
            assert ("403" in op["responses"]) == (route.role != "viewer")
        else:
            assert op["security"] == []


def test_every_schema_is_valid_json_schema_and_schemathesis_loads_it():
    doc = document()
    for name, schema in doc["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema), name
    loaded = schemathesis.openapi.from_dict(doc)
    assert len(list(loaded.get_all_operations())) == len(ROUTE_TABLE)


def test_error_responses_share_the_one_error_schema():
    for ops in document()["paths"].values():
        for op in ops.values():
            for status, resp in op["responses"].items():
                if status.startswith(("4", "5")):
                    ref = resp["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ErrorBody")


def test_the_api_docs_mention_every_route():
    text = DOCS.read_text()
    missing = [f"{r.method} {r.path}" for r in ROUTE_TABLE if f"{r.method} {r.path}" not in text]
    assert missing == []


def test_the_document_names_the_models_a_swarm_may_take():
    """schemathesis's positive data found `"model": "0"` allowed by the document and refused
    by the API: the pattern now lists the priced ids and aliases, with a date or without."""
    from cloudswarm.core import pricing

    body = document()["components"]["schemas"]["SwarmCreate"]["properties"]["model"]
    pattern = next(s["pattern"] for s in body["anyOf"] if "pattern" in s)
    for model in pricing.accepted_ids():
        for candidate in (model, f"{model}-20250929", f"{model}@20250929"):
            assert re.match(pattern, candidate), candidate
            pricing.canonical_model(candidate)  # the API's own check takes it too
    for refused in ("0", "claude-sonnet-4-5x", "claude-sonnet-4-5-2025", "gpt-4"):
        assert not re.match(pattern, refused), refused
