"""The local model server's Vertex AI paths through the real ``anthropic.AnthropicVertex`` client,
and CloudSwarm's Claude adapter on Vertex: wire format, refusals, faults and their translation.
"""

from __future__ import annotations

import json

import anthropic
import pytest

from cloudswarm.core.tool_specs import TOOLS
from cloudswarm.errors import PermanentError, TransientError
from cloudswarm.llm.claude import Claude
from emulators.model_server import ModelServer
from emulators.model_server.journal import fingerprint
from tests.integration.test_model_server import API_HEADERS, MODEL, entries, faults, http, turn

PROJECT, REGION = "proj-1", "us-east5"
VERTEX_MODEL = "claude-sonnet-4-5@20250929"
BASE = f"/v1/projects/{PROJECT}/locations/{REGION}/publishers/anthropic/models"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("vertex") / "requests.jsonl"
    srv = ModelServer(port=0, log_path=str(log)).start()
    srv.log_file = log
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def fresh(server):
    assert http(server, "POST", "/_control/reset", {})[0] == 200
    server.log_file.write_text("")


@pytest.fixture
def vertex(server):
    with anthropic.AnthropicVertex(
        region=REGION,
        project_id=PROJECT,
        access_token="test-token",
        base_url=server.url + "/v1",
        max_retries=0,
    ) as c:
        yield c


def logged(server) -> list[dict]:
    return [json.loads(line) for line in server.log_file.read_text().splitlines()]


def test_a_plain_call_goes_to_raw_predict_with_the_model_in_the_path(server, vertex):
    m = vertex.messages.create(model=VERTEX_MODEL, max_tokens=4096, tools=TOOLS, messages=[turn()])
    assert m.stop_reason == "tool_use" and m.model == VERTEX_MODEL
    assert m._request_id.startswith("req_vrtx_")
    assert [b.name for b in m.content if b.type == "tool_use"][:3] == ["spawn_agent"] * 3
    (entry,) = entries(server)
    assert entry["path"] == f"{BASE}/{VERTEX_MODEL}:rawPredict"
    assert (entry["wire"], entry["auth"], entry["model"]) == ("vertex", ["bearer"], VERTEX_MODEL)
    (record,) = logged(server)
    assert "model" not in record["request"]  # the SDK moves it into the path
    assert record["request"]["anthropic_version"]


def test_a_stream_goes_to_stream_raw_predict_and_matches_the_plain_answer(server, vertex):
    kwargs = {"model": "claude-sonnet-4-6", "max_tokens": 4096, "tools": TOOLS}
    with vertex.messages.stream(messages=[turn("builder", "teammate")], **kwargs) as stream:
        final = stream.get_final_message()
    plain = vertex.messages.create(messages=[turn("builder", "teammate")], **kwargs)
    assert [b.name for b in final.content] == [b.name for b in plain.content] == ["list_tasks"]
    streamed, created = entries(server)
    assert streamed["path"].endswith("/claude-sonnet-4-6:streamRawPredict") and streamed["stream"]
    assert created["path"].endswith("/claude-sonnet-4-6:rawPredict") and not created["stream"]
    assert streamed["agent"] == "builder"


def test_count_tokens_has_its_own_vertex_path(server, vertex):
    counted = vertex.messages.count_tokens(model=MODEL, tools=TOOLS, messages=[turn()])
    m = vertex.messages.create(model=MODEL, max_tokens=4096, tools=TOOLS, messages=[turn()])
    assert counted.input_tokens == m.usage.input_tokens
    assert entries(server)[0]["path"] == f"{BASE}/count-tokens:rawPredict"


def _raw(server, body, headers=None, method="rawPredict", model=VERTEX_MODEL):
    return http(server, "POST", f"{BASE}/{model}:{method}", body, headers)


VALID = {"anthropic_version": "vertex-2023-10-16", "max_tokens": 100, "messages": [turn()]}
BEARER = {"authorization": "Bearer t"}


def test_the_documented_version_value_is_accepted_too(server):
    status, _, answer = _raw(server, VALID, BEARER)
    assert status == 200 and answer["model"] == VERTEX_MODEL, answer


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Bearer "}, {"authorization": "Basic dTpw"}, API_HEADERS],
    ids=["none", "empty bearer", "basic", "api key only"],
)
def test_vertex_refuses_a_request_without_a_bearer_token(server, headers):
    status, _, answer = _raw(server, VALID, headers)
    assert status == 401
    assert answer["error"]["status"] == "UNAUTHENTICATED" and answer["error"]["code"] == 401
    assert entries(server)[-1]["status"] == 401


def test_vertex_refuses_a_body_without_anthropic_version(server):
    body = {k: v for k, v in VALID.items() if k != "anthropic_version"}
    status, headers, answer = _raw(server, body, BEARER)
    assert status == 400
    assert answer["error"] == {
        "type": "invalid_request_error",
        "message": "anthropic_version: Field required",
    }
    assert headers["request-id"].startswith("req_vrtx_")
    status, _, answer = _raw(server, {**VALID, "anthropic_version": 5}, BEARER)
    assert status == 400 and "anthropic_version" in answer["error"]["message"]


def test_the_messages_rules_still_apply_by_the_vertex_paths(server):
    status, _, answer = _raw(server, {**VALID, "max_tokens": 0}, BEARER)
    assert status == 400 and "greater than or equal to 1" in answer["error"]["message"]
    status, _, answer = _raw(server, VALID, BEARER, model="gpt-4")
    assert status == 404 and answer["error"]["type"] == "not_found_error"
    status, _, answer = _raw(server, b"{nope", BEARER)
    assert status == 400 and "parsing the body" in answer["error"]["message"]


def test_context_edits_are_refused_by_the_vertex_paths(server):
    edits = {"edits": [{"type": "clear_tool_uses_20250919"}]}
    status, _, answer = _raw(server, {**VALID, "context_management": edits}, BEARER)
    assert status == 400 and "context_management" in answer["error"]["message"]


def test_the_path_names_the_model_even_when_the_body_names_another(server):
    status, _, answer = _raw(server, {**VALID, "model": "claude-haiku-4-5"}, BEARER)
    assert status == 200 and answer["model"] == VERTEX_MODEL


def test_a_rate_limit_is_vertexs_quota_refusal_in_googles_envelope(server, vertex):
    faults(server, next=["429"])
    with pytest.raises(anthropic.RateLimitError) as info:
        vertex.messages.create(model=VERTEX_MODEL, max_tokens=100, messages=[turn()])
    error = info.value.body["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED" and error["code"] == 429
    assert "Quota exceeded" in error["message"]
    assert entries(server)[-1]["fault"]


# --- CloudSwarm's adapter on Vertex ---------------------------------------------------------


def _claude(server, **kwargs) -> Claude:
    return Claude.on_vertex(
        project=PROJECT,
        region=REGION,
        base_url=server.url + "/v1",
        emulated=True,
        timeout_s=10,
        max_retries=0,
        **kwargs,
    )


def _request(model="claude-sonnet-4-5") -> dict:
    return {"model": model, "max_tokens": 4096, "tools": TOOLS, "messages": [turn()]}


def test_the_adapter_streams_with_vertex_model_ids_and_no_api_key(server):
    response = _claude(server).call(_request(), should_abort=lambda: False)
    assert response.stop_reason == "tool_use" and response.usage["output_tokens"] > 0
    (entry,) = entries(server)
    assert entry["path"] == f"{BASE}/{VERTEX_MODEL}:streamRawPredict"
    assert entry["auth"] == ["bearer"]


def test_the_adapter_translates_vertex_quota_into_a_transient_error(server):
    faults(server, next=["429"])
    with pytest.raises(TransientError, match="429"):
        _claude(server).call(_request(), should_abort=lambda: False)
    faults(server, next=["stream_error"])
    with pytest.raises(TransientError):
        _claude(server).call(_request(), should_abort=lambda: False)


def test_the_adapter_translates_a_refused_credential_into_a_permanent_error(server):
    # A credential that is not a Google access token (the SDK keeps an Authorization it is given).
    client = anthropic.AnthropicVertex(
        region=REGION,
        project_id=PROJECT,
        base_url=server.url + "/v1",
        default_headers={"Authorization": "Basic dTpw"},
    )
    claude = Claude(timeout_s=10, max_retries=0, client=client, provider="vertex")
    with pytest.raises(PermanentError, match="401"):
        claude.call(_request(), should_abort=lambda: False)


def test_the_log_tells_the_credential_sent_without_holding_it(server, vertex):
    # The pinned SDK sends an API key as a bearer token too: only the fingerprint tells them apart.
    with anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0) as c:
        c.messages.create(model=MODEL, max_tokens=10, messages=[turn()])
    vertex.messages.create(model=MODEL, max_tokens=10, messages=[turn()])
    by_key, by_token = entries(server)
    assert (by_key["wire"], by_key["path"], by_key["credential"]) == (
        "anthropic",
        "/v1/messages",
        fingerprint("k"),
    )
    assert (by_token["wire"], by_token["credential"]) == ("vertex", fingerprint("test-token"))
    assert "test-token" not in server.log_file.read_text()
    http(server, "POST", "/v1/messages", _request("claude-sonnet-4-6"), API_HEADERS)
    assert entries(server)[-1]["auth"] == ["x-api-key"]


def test_a_model_the_provider_does_not_serve_fails_the_call_for_good_before_sending(server):
    with pytest.raises(PermanentError, match="claude-unknown-1"):
        _claude(server).call(_request("claude-unknown-1"), should_abort=lambda: False)
    assert entries(server) == []
