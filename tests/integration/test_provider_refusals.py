"""What the model provider lacks is refused when a swarm starts, whichever way it starts: through
the real API function and the real swarm_trigger function, run with the Vertex AI provider (which
offers web search alone among the server tools)."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
import requests
from google.cloud.firestore_v1.base_query import FieldFilter

from cloudswarm import runtime
from tests.integration.test_api_fixtures import Api, error_of, functions, new_key

VERTEX = {"CLOUDSWARM_MODEL_PROVIDER": "vertex"}


@pytest.fixture(scope="module")
def vertex_functions(stack):
    with functions(stack, ["api", "swarm_trigger"], VERTEX) as fns:
        yield fns


@pytest.fixture(scope="module")
def api(vertex_functions) -> Api:
    return Api(vertex_functions["api"].url)


@pytest.fixture(scope="module")
def operator(api, project) -> str:
    runtime.store().set_kill_switch(engaged=False, reason="test setup", actor="tests")
    return api.token(new_key(project, "operator")[1])


def _swarm_count() -> int:
    return sum(1 for _ in runtime.store().db.collection("swarms").stream())


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        ({"tools": {"web_fetch": {"max_uses": 2}}}, "unsupported_by_provider", "web_fetch"),
        ({"tools": {"code_execution": {}}}, "unsupported_by_provider", "code_execution"),
    ],
)
def test_the_api_refuses_what_the_provider_lacks_and_starts_nothing(
    api, operator, body, code, words
):
    before = _swarm_count()
    resp = api.request("POST", "/api/swarms", operator, json={"goal": "g", **body})
    assert resp.status_code == 422, resp.text
    error = error_of(resp)
    assert words in error["message"] and "Vertex AI" in error["message"], error
    assert error["code"] == code, error
    assert _swarm_count() == before


def test_the_api_starts_a_swarm_with_the_tool_the_provider_runs(api, operator):
    tools = {"web_search": {"max_uses": 2}}
    resp = api.request("POST", "/api/swarms", operator, json={"goal": "g", "tools": tools})
    assert resp.status_code == 201, resp.text


def test_a_pubsub_request_the_provider_cannot_serve_is_dead_lettered_not_retried(
    vertex_functions,
):
    rid = f"req-{uuid.uuid4().hex[:8]}"
    data = {"request_id": rid, "goal": "g", "tools": {"web_fetch": {"max_uses": 1}}}
    mid = uuid.uuid4().hex
    body = {
        "message": {
            "data": base64.b64encode(json.dumps(data).encode()).decode(),
            "attributes": {},
            "messageId": mid,
        },
        "subscription": "projects/cloudswarm-local/subscriptions/cloudswarm-swarm-requests-push",
    }
    http = requests.Session()
    http.trust_env = False
    resp = http.post(vertex_functions["swarm_trigger"].url + "/", json=body, timeout=60)
    assert resp.status_code < 300, resp.text  # acked: a redelivery could never succeed
    swarms = runtime.store().db.collection("swarms")
    assert list(swarms.where(filter=FieldFilter("request_id", "==", rid)).stream()) == []
    dead = runtime.store().db.collection("dead_letters")
    reasons = [
        d.get("reason")
        for d in (s.to_dict() for s in dead.stream())
        if ((d.get("payload") or {}).get("message") or {}).get("messageId") == mid
    ]
    assert len(reasons) == 1 and "web_fetch" in reasons[0] and "Vertex AI" in reasons[0], reasons
