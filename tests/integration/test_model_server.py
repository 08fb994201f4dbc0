"""The local model server through the real Anthropic SDK and raw HTTP: wire format (JSON and SSE),
strict validation, usage and prompt caching, injected faults, hang-up detection, control API, CLI.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import anthropic
import pytest

from cloudswarm.core.tool_specs import TOOLS
from emulators.model_server import ModelServer
from tests.conftest import REPO_ROOT, wait_until

MODEL = "claude-sonnet-4-6"
CC = {"type": "ephemeral"}
LONG_SYSTEM = "You are a careful agent working in a team. " * 120  # ~1300 tokens


def turn(agent="lead", role="lead", **extra) -> dict:
    payload = {"agent": agent, "role": role, "swarm": "s-1", "inbox": [], "board": {}, **extra}
    text = f"<turn>{json.dumps(payload)}</turn>"
    return {"role": "user", "content": [{"type": "text", "text": text}]}


def http(server, method, path, body=None, headers=None):
    """(status, headers, parsed body) without raising on 4xx/5xx."""
    data = (
        body if isinstance(body, bytes) else (None if body is None else json.dumps(body).encode())
    )
    req = urllib.request.Request(server.url + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, json.loads(e.read() or b"null")


API_HEADERS = {"x-api-key": "test-key", "anthropic-version": "2023-06-01"}


@pytest.fixture(scope="module")
def server():
    srv = ModelServer(port=0, min_cache_tokens=1024).start()
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def fresh(server):
    assert http(server, "POST", "/_control/reset", {})[0] == 200
    assert http(server, "POST", "/_control/scenario", {"name": "demo"})[0] == 200


@pytest.fixture
def client(server):
    with anthropic.Anthropic(base_url=server.url, api_key="test-key", max_retries=0) as c:
        yield c


def faults(server, **config):
    status, _, body = http(server, "POST", "/_control/faults", config)
    assert status == 200, body


def entries(server, **query) -> list[dict]:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    return http(server, "GET", f"/_control/requests?{qs}")[2]["requests"]


# --- wire format ----------------------------------------------------------------------------


def test_non_streaming_answer_parses_with_the_sdk(client):
    m = client.messages.create(model=MODEL, max_tokens=4096, tools=TOOLS, messages=[turn()])
    assert m.id.startswith("msg_") and m.type == "message" and m.role == "assistant"
    assert m.model == MODEL
    assert m.stop_reason == "tool_use"
    assert m._request_id and m._request_id.startswith("req_")
    uses = [b for b in m.content if b.type == "tool_use"]
    assert [u.name for u in uses] == ["spawn_agent"] * 3 + ["create_task"] * 6
    assert all(u.id.startswith("toolu_") for u in uses)
    assert len({u.id for u in uses}) == len(uses)
    assert m.content[0].type == "text"
    u = m.usage
    assert u.input_tokens > 0 and u.output_tokens > 0
    assert u.cache_creation_input_tokens == 0 and u.cache_read_input_tokens == 0


def test_streaming_answer_parses_with_the_sdk_helper(client):
    kwargs = {"model": MODEL, "max_tokens": 4096, "tools": TOOLS, "messages": [turn()]}
    with client.messages.stream(**kwargs) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    plain = client.messages.create(**kwargs)
    assert final.id.startswith("msg_") and final.stop_reason == "tool_use" and final.model == MODEL
    assert "".join(texts) == final.content[0].text == plain.content[0].text
    assert [b.model_dump(exclude={"id"}) for b in final.content] == [
        b.model_dump(exclude={"id"}) for b in plain.content
    ]
    assert final.usage.input_tokens == plain.usage.input_tokens
    assert final.usage.output_tokens == plain.usage.output_tokens


def test_raw_stream_events_follow_the_real_order(client):
    events = list(
        client.messages.create(
            model=MODEL, max_tokens=4096, tools=TOOLS, messages=[turn()], stream=True
        )
    )
    types = [e.type for e in events]
    assert types[0] == "message_start" and types[1] == "content_block_start"
    assert types[-2:] == ["message_delta", "message_stop"]
    start = events[0].message
    assert start.stop_reason is None and start.content == [] and start.usage.input_tokens > 0
    assert events[-2].delta.stop_reason == "tool_use" and events[-2].usage.output_tokens > 1
    by_index: dict[int, list] = {}
    for e in events:
        if e.type == "content_block_delta":
            by_index.setdefault(e.index, []).append(e.delta)
    assert all(d.type == "text_delta" for d in by_index[0])
    for index in range(1, len(by_index)):
        deltas = by_index[index]
        assert all(d.type == "input_json_delta" for d in deltas)
        assert len([d for d in deltas if d.partial_json]) >= 2  # the input arrives in pieces
        json.loads("".join(d.partial_json for d in deltas))


def test_the_ping_event_is_sent_and_skipped_by_the_sdk(server):
    body = {"model": MODEL, "max_tokens": 50, "stream": True, "messages": [turn()]}
    req = urllib.request.Request(server.url + "/v1/messages", json.dumps(body).encode())
    for k, v in {**API_HEADERS, "content-type": "application/json"}.items():
        req.add_header(k, v)
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["request-id"].startswith("req_")
        raw = r.read().decode()
    names = [line[len("event: ") :] for line in raw.splitlines() if line.startswith("event: ")]
    assert names.count("ping") == 1 and names.index("ping") == 2


def _as_params(message) -> dict:
    return {
        "role": "assistant",
        "content": [b.model_dump(exclude_none=True) for b in message.content],
    }


def _results(message, *payloads) -> dict:
    uses = [b for b in message.content if b.type == "tool_use"]
    assert len(uses) == len(payloads)
    return {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": u.id, "content": json.dumps(p)}
            for u, p in zip(uses, payloads, strict=True)
        ],
    }


def test_a_teammate_tool_use_round_trip(client):
    convo = [turn("builder", "teammate")]

    def step():
        m = client.messages.create(model=MODEL, max_tokens=4096, tools=TOOLS, messages=convo)
        convo.append(_as_params(m))
        return m

    m = step()
    assert [(b.name, b.input) for b in m.content] == [
        ("list_tasks", {"owner": "me", "status": "ready"})
    ]
    convo.append(_results(m, {"tasks": [{"id": "scaffold", "status": "ready"}], "count": 1}))
    m = step()
    assert [(b.name, b.input) for b in m.content] == [("claim_task", {"task_id": "scaffold"})]
    convo.append(_results(m, {"task": {"id": "scaffold", "status": "in_progress"}}))
    m = step()
    assert m.stop_reason == "tool_use"
    assert [b.name for b in m.content if b.type == "tool_use"] == [
        "write_artifact",
        "complete_task",
        "send_message",
    ]
    convo.append(_results(m, {"version": 1}, {"task": {"id": "scaffold"}}, {"sent": 1}))
    m = step()
    assert [b.name for b in m.content] == ["list_tasks"]
    convo.append(_results(m, {"tasks": [], "count": 0}))
    m = step()
    assert m.stop_reason == "end_turn" and m.content[0].type == "text"


def test_max_tokens_cuts_the_answer(client):
    m = client.messages.create(model=MODEL, max_tokens=30, tools=TOOLS, messages=[turn()])
    assert m.stop_reason == "max_tokens"
    assert m.usage.output_tokens <= 30
    assert all(b.type == "text" for b in m.content)


def test_count_tokens_matches_the_usage_of_a_call(client):
    kwargs = {"model": MODEL, "tools": TOOLS, "messages": [turn()]}
    counted = client.messages.count_tokens(**kwargs)
    m = client.messages.create(max_tokens=4096, **kwargs)
    assert counted.input_tokens == m.usage.input_tokens


# --- strictness -----------------------------------------------------------------------------


def _valid() -> dict:
    return {"model": MODEL, "max_tokens": 100, "tools": TOOLS, "messages": [turn()]}


def _with(**changes) -> dict:
    body = _valid()
    for key, value in changes.items():
        if value is None:
            body.pop(key)
        else:
            body[key] = value
    return body


TU = {"type": "tool_use", "id": "toolu_1", "name": "list_tasks", "input": {}}
TR = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "{}"}
TEXT = {"type": "text", "text": "hello"}


def _convo(*messages) -> dict:
    return _with(messages=[turn(), *messages])


def _cached_blocks(n: int) -> list[dict]:
    return [{"type": "text", "text": f"part {i}", "cache_control": CC} for i in range(n)]


def _tools(*tools) -> list[dict]:
    return [{"name": "t", "input_schema": {"type": "object"}}, *tools]


INVALID = {
    "missing model": (_with(model=None), "model: Field required"),
    "model not a string": (_with(model=5), "model"),
    "missing max_tokens": (_with(max_tokens=None), "max_tokens: Field required"),
    "max_tokens zero": (_with(max_tokens=0), "greater than or equal to 1"),
    "max_tokens not int": (_with(max_tokens="10"), "valid integer"),
    "max_tokens too large": (_with(max_tokens=10**6), "maximum allowed"),
    "unknown field": (_with(temperatur=0.5), "Extra inputs are not permitted"),
    "stream not bool": (_with(stream="yes"), "stream"),
    "missing messages": (_with(messages=None), "messages: Field required"),
    "empty messages": (_with(messages=[]), "at least one message"),
    "first message from assistant": (
        _with(messages=[{"role": "assistant", "content": "hi"}, turn()]),
        'first message must use the "user" role',
    ),
    "bad role": (_with(messages=[{"role": "system", "content": "x"}]), "role"),
    "extra message key": (_with(messages=[{**turn(), "name": "x"}]), "Extra inputs"),
    "empty content": (_with(messages=[{"role": "user", "content": []}]), "non-empty content"),
    "empty text block": (
        _with(messages=[{"role": "user", "content": [{"type": "text", "text": ""}]}]),
        "text content blocks must be non-empty",
    ),
    "whitespace text block": (
        _with(messages=[{"role": "user", "content": [{"type": "text", "text": "  \n"}]}]),
        "non-whitespace",
    ),
    "unknown block type": (
        _with(messages=[{"role": "user", "content": [{"type": "video", "url": "x"}]}]),
        "does not match any of the expected tags",
    ),
    "tool_use not answered": (
        _convo({"role": "assistant", "content": [TU]}, {"role": "user", "content": [TEXT]}),
        "without `tool_result` blocks immediately after: toolu_1",
    ),
    "tool_use answered too late": (
        _convo(
            {"role": "assistant", "content": [TU]},
            {"role": "user", "content": [TEXT]},
            {"role": "assistant", "content": [TEXT]},
            {"role": "user", "content": [TR]},
        ),
        "toolu_1",
    ),
    "tool_result not first": (
        _convo({"role": "assistant", "content": [TU]}, {"role": "user", "content": [TEXT, TR]}),
        "must come first",
    ),
    "tool_result for an unknown id": (
        _convo(
            {"role": "assistant", "content": [TU]},
            {"role": "user", "content": [TR, {**TR, "tool_use_id": "toolu_nope"}]},
        ),
        "unexpected `tool_use_id`",
    ),
    "tool_result without a tool_use": (
        _convo({"role": "assistant", "content": [TEXT]}, {"role": "user", "content": [TR]}),
        "unexpected `tool_use_id`",
    ),
    "tool_use in a user message": (
        _with(messages=[{"role": "user", "content": [TU]}]),
        "assistant",
    ),
    "duplicate tool_use ids": (
        _convo({"role": "assistant", "content": [TU, TU]}, {"role": "user", "content": [TR]}),
        "ids must be unique",
    ),
    "tool blocks without tools": (
        {
            k: v
            for k, v in _convo(
                {"role": "assistant", "content": [TU]}, {"role": "user", "content": [TR]}
            ).items()
            if k != "tools"
        },
        "must define tools",
    ),
    "five cache breakpoints": (
        _with(system=_cached_blocks(5)),
        "A maximum of 4 blocks with cache_control may be provided. Found 5.",
    ),
    "bad cache_control": (
        _with(system=[{"type": "text", "text": "x", "cache_control": {"type": "forever"}}]),
        "ephemeral",
    ),
    "bad tool name": (
        _with(tools=_tools({"name": "has space", "input_schema": {"type": "object"}})),
        "String should match pattern",
    ),
    "tool name too long": (
        _with(tools=_tools({"name": "x" * 65, "input_schema": {"type": "object"}})),
        "String should match pattern",
    ),
    "tool without input_schema": (_with(tools=_tools({"name": "u"})), "input_schema: Field"),
    "tool schema not an object": (
        _with(tools=_tools({"name": "u", "input_schema": {"type": "string"}})),
        "input_schema.type",
    ),
    "duplicate tool names": (
        _with(tools=_tools({"name": "t", "input_schema": {"type": "object"}})),
        "Tool names must be unique",
    ),
    "tool_choice unknown tool": (
        _with(tool_choice={"type": "tool", "name": "nope"}),
        "Tool 'nope' not found",
    ),
    "tool_choice without tools": (_with(tools=None, tool_choice={"type": "any"}), "tool_choice"),
    "prefill ending in whitespace": (
        _convo({"role": "assistant", "content": "The answer is "}),
        "final assistant content cannot end with trailing whitespace",
    ),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_requests_the_real_api_rejects_are_rejected(server, case):
    body, fragment = INVALID[case]
    status, headers, answer = http(server, "POST", "/v1/messages", body, API_HEADERS)
    assert status == 400, answer
    assert answer["type"] == "error"
    assert answer["error"]["type"] == "invalid_request_error"
    assert fragment in answer["error"]["message"]
    assert headers["request-id"].startswith("req_")


VALID = {
    "a lead turn": _valid(),
    "consecutive user messages": _with(messages=[turn(), {"role": "user", "content": "more"}]),
    "a full tool round trip": _convo(
        {"role": "assistant", "content": [TEXT, TU]},
        {"role": "user", "content": [TR, TEXT]},
    ),
    "results split over consecutive user messages": _convo(
        {"role": "assistant", "content": [TU]},
        {"role": "user", "content": [TR]},
        {"role": "user", "content": [TEXT]},
    ),
    "an error result": _convo(
        {"role": "assistant", "content": [TU]},
        {"role": "user", "content": [{**TR, "content": '{"error": "no"}', "is_error": True}]},
    ),
    "prefill": _convo({"role": "assistant", "content": "The answer is"}),
    "four breakpoints": _with(system=_cached_blocks(4)),
    "string system and tool_choice": _with(system="Be brief.", tool_choice={"type": "auto"}),
    "top-level cache_control": _with(cache_control=CC),
    "no tools at all": _with(tools=None),
}


@pytest.mark.parametrize("case", list(VALID))
def test_valid_requests_are_accepted(server, case):
    status, headers, answer = http(server, "POST", "/v1/messages", VALID[case], API_HEADERS)
    assert status == 200, answer
    assert answer["type"] == "message" and headers["request-id"].startswith("req_")


def test_an_unknown_model_is_not_found(client):
    with pytest.raises(anthropic.NotFoundError) as e:
        client.messages.create(model="gpt-4", max_tokens=10, messages=[turn()])
    assert e.value.body["error"]["type"] == "not_found_error"


def test_a_missing_api_key_is_401(server):
    status, headers, answer = http(
        server, "POST", "/v1/messages", _valid(), {"anthropic-version": "2023-06-01"}
    )
    assert status == 401 and answer["error"]["type"] == "authentication_error"
    assert headers["request-id"]


def test_a_body_that_is_not_json_is_400(server):
    status, _, answer = http(server, "POST", "/v1/messages", b"{nope", API_HEADERS)
    assert status == 400 and answer["error"]["type"] == "invalid_request_error"


def test_the_sdk_surfaces_a_400_as_bad_request(client):
    with pytest.raises(anthropic.BadRequestError) as e:
        client.messages.create(model=MODEL, max_tokens=10, messages=[], tools=TOOLS)
    assert e.value.status_code == 400


# --- usage and prompt caching ---------------------------------------------------------------


def _cached_call(client, text="What next?"):
    return client.messages.create(
        model=MODEL,
        max_tokens=1024,
        system=[{"type": "text", "text": LONG_SYSTEM, "cache_control": CC}],
        messages=[{"role": "user", "content": text}],
    )


def test_a_repeated_prefix_is_read_from_the_cache(client, server):
    first = _cached_call(client).usage
    assert first.cache_creation_input_tokens > 1024 and first.cache_read_input_tokens == 0
    second = _cached_call(client, "Something else?").usage
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.cache_creation_input_tokens == 0 and second.input_tokens > 0
    stats = http(server, "GET", "/_control/stats")[2]
    read, write = second.cache_read_input_tokens, first.cache_creation_input_tokens
    fresh = first.input_tokens + second.input_tokens
    assert stats["cache_read_share"] == round(read / (read + write + fresh), 4)
    assert stats["tokens"]["cache_read_input_tokens"] == read


def test_a_short_prefix_is_not_cached(client):
    for _ in range(2):
        usage = client.messages.create(
            model=MODEL,
            max_tokens=100,
            system=[{"type": "text", "text": "Short.", "cache_control": CC}],
            messages=[turn()],
        ).usage
        assert usage.cache_creation_input_tokens == usage.cache_read_input_tokens == 0


def test_the_platforms_request_shape_reads_the_cache_from_the_second_call(client):
    """tools + system + newest message marked, as cloudswarm.core.prompt builds requests."""
    tools = [dict(t) for t in TOOLS]
    tools[-1] = {**tools[-1], "cache_control": CC}
    system = [{"type": "text", "text": "You are the lead.", "cache_control": CC}]
    first_msg = turn()
    first_msg["content"][0]["cache_control"] = CC
    first = client.messages.create(
        model=MODEL, max_tokens=4096, tools=tools, system=system, messages=[first_msg]
    )
    assert first.usage.cache_creation_input_tokens > 0
    plain_first = turn()  # as stored: only the newest message carries a breakpoint
    results = _results(first, *[{"ok": True}] * len(first.content[1:]))
    results["content"][-1]["cache_control"] = CC
    second = client.messages.create(
        model=MODEL,
        max_tokens=4096,
        tools=tools,
        system=system,
        messages=[plain_first, _as_params(first), results],
    )
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    assert second.usage.cache_creation_input_tokens > 0


def test_the_cache_minimum_is_settable(server, client):
    assert http(server, "POST", "/_control/cache", {"min_tokens": 1, "clear": True})[0] == 200
    try:
        first = client.messages.create(
            model=MODEL,
            max_tokens=100,
            system=[{"type": "text", "text": "Short.", "cache_control": CC}],
            messages=[turn()],
        )
        assert first.usage.cache_creation_input_tokens > 0
    finally:
        http(server, "POST", "/_control/cache", {"min_tokens": 1024})


# --- faults ---------------------------------------------------------------------------------


def test_429_carries_retry_after_and_surfaces_as_rate_limit_error(server, client):
    faults(server, rate_429=1.0, retry_after_s=7)
    with pytest.raises(anthropic.RateLimitError) as e:
        client.messages.create(model=MODEL, max_tokens=10, messages=[turn()])
    assert e.value.status_code == 429
    assert e.value.response.headers["retry-after"] == "7"
    assert e.value.body["error"]["type"] == "rate_limit_error"
    assert entries(server)[-1]["fault"] == "429"


def test_529_surfaces_as_overloaded(server, client):
    faults(server, rate_529=1.0)
    with pytest.raises(anthropic.OverloadedError) as e:
        client.messages.create(model=MODEL, max_tokens=10, messages=[turn()])
    assert e.value.status_code == 529 and e.value.body["error"]["type"] == "overloaded_error"


def test_500_surfaces_as_internal_server_error(server, client):
    faults(server, rate_500=1.0)
    with pytest.raises(anthropic.InternalServerError) as e:
        client.messages.create(model=MODEL, max_tokens=10, messages=[turn()], stream=True)
    assert e.value.status_code == 500 and e.value.body["error"]["type"] == "api_error"


def test_queued_faults_are_consumed_in_order_and_the_sdk_retries_through_them(server):
    faults(server, next=["429", "529"], retry_after_s=0.05)
    with anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=2) as retrying:
        m = retrying.messages.create(model=MODEL, max_tokens=4096, messages=[turn()], tools=TOOLS)
    assert m.stop_reason == "tool_use"
    assert [e["status"] for e in entries(server)] == [429, 529, 200]


def test_seeded_random_faults_repeat(server, client):
    def run() -> list[int]:
        http(server, "POST", "/_control/reset", {})
        faults(server, seed=42, rate_429=0.3, rate_500=0.2)
        for _ in range(12):
            with contextlib.suppress(anthropic.APIStatusError):
                client.messages.create(model=MODEL, max_tokens=10, messages=[turn()])
        return [e["status"] for e in entries(server)]

    first = run()
    assert run() == first and {200, 429} <= set(first)


def test_faults_can_target_one_agent(server, client):
    faults(server, rate_500=1.0, agents=["builder"])
    client.messages.create(model=MODEL, max_tokens=4096, messages=[turn()], tools=TOOLS)
    with pytest.raises(anthropic.InternalServerError):
        client.messages.create(model=MODEL, max_tokens=10, messages=[turn("builder", "teammate")])


def test_an_error_event_mid_stream_raises(server, client):
    faults(server, next=["stream_error"])
    kwargs = {"model": MODEL, "max_tokens": 4096, "messages": [turn()]}
    with pytest.raises(anthropic.APIStatusError) as e, client.messages.stream(**kwargs) as stream:
        stream.get_final_message()
    assert e.value.body["error"]["type"] == "overloaded_error"
    assert entries(server)[-1]["fault"] == "stream_error"


def test_latency_beyond_the_client_timeout_is_recorded_as_a_hang_up(server):
    faults(server, latency_s=5)
    impatient = anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0, timeout=0.3)
    with impatient as c, pytest.raises(anthropic.APITimeoutError):
        c.messages.create(model=MODEL, max_tokens=10, messages=[turn()])
    closed = wait_until(lambda: entries(server)[-1]["closed_by_client_at"], timeout=3)
    assert closed is not None
    assert entries(server)[-1]["status"] == 499


def test_a_stall_holds_the_stream_silent(server, client):
    faults(server, stall_s=0.4)
    began = time.monotonic()
    with client.messages.stream(model=MODEL, max_tokens=4096, messages=[turn()]) as stream:
        final = stream.get_final_message()
    assert time.monotonic() - began >= 0.4 and final.stop_reason == "end_turn"
    assert entries(server)[-1]["fault"] == "stall"


def _close_after_first_delta(client, server) -> float:
    with client.messages.stream(
        model=MODEL, max_tokens=4096, messages=[turn()], tools=TOOLS
    ) as stream:
        for event in stream:
            if event.type == "content_block_delta":
                break
        assert http(server, "GET", "/_control/stats")[2]["open_streams"] == 1
    return time.time()


def test_a_client_hanging_up_a_slow_stream_is_recorded(server, client):
    faults(server, slow_stream_delay_s=0.3)
    closed_at = _close_after_first_delta(client, server)
    entry = wait_until(lambda: entries(server)[-1]["closed_by_client_at"] and entries(server)[-1])
    assert entry is not None
    # Noticed without waiting out the pause between events.
    assert entry["closed_by_client_at"] - closed_at < 0.25
    assert entry["stream"] and entry["status"] == 200 and entry["events_sent"] < 10
    stats = wait_until(
        lambda: (s := http(server, "GET", "/_control/stats")[2])["open_streams"] == 0 and s
    )
    assert stats["closed_by_client"] == 1


def test_the_kill_scenario_streams_slowly_until_the_client_hangs_up(server, client):
    assert http(server, "POST", "/_control/scenario", {"name": "kill"})[0] == 200
    began = time.time()
    with client.messages.stream(model=MODEL, max_tokens=4096, messages=[turn()]) as stream:
        for i, _ in enumerate(stream.text_stream):
            if i == 5:
                break
    assert time.time() - began < 2
    entry = wait_until(lambda: entries(server)[-1]["closed_by_client_at"] and entries(server)[-1])
    assert entry and entry["rule"] == "slow-talk"


def test_a_bug_in_the_emulator_answers_500_instead_of_dropping_the_line(
    server, client, monkeypatch
):
    class Broken:
        name = "broken"

        def decide(self, body):
            raise RuntimeError("boom")

    monkeypatch.setattr(server, "scenario", Broken())
    with pytest.raises(anthropic.InternalServerError) as e:
        client.messages.create(model=MODEL, max_tokens=10, messages=[turn()])
    assert e.value.body["error"]["type"] == "api_error"


# --- control API ----------------------------------------------------------------------------


def test_health_and_fault_settings(server):
    status, _, health = http(server, "GET", "/_control/health")
    assert status == 200 and health["ok"] and health["service"] == "cloudswarm-model-server"
    faults(server, rate_429=0.5, next=["500"])
    assert http(server, "GET", "/_control/faults")[2]["faults"]["rate_429"] == 0.5
    assert http(server, "POST", "/_control/faults", {"rate_429": 2})[0] == 400
    assert http(server, "POST", "/_control/faults", {"rate_428": 0.1})[0] == 400
    assert http(server, "POST", "/_control/scenario", {"name": "nope"})[0] == 400
    http(server, "POST", "/_control/reset", {})
    assert http(server, "GET", "/_control/faults")[2]["faults"]["next"] == []


def test_the_request_log_names_agents_rules_and_usage(server, client):
    client.messages.create(model=MODEL, max_tokens=4096, tools=TOOLS, messages=[turn()])
    client.messages.create(model=MODEL, max_tokens=4096, messages=[turn("builder", "teammate")])
    everything = entries(server)
    assert [e["agent"] for e in everything] == ["lead", "builder"]
    lead = everything[0]
    assert lead["rule"] == "lead-plan" and lead["status"] == 200 and lead["model"] == MODEL
    assert lead["usage"]["input_tokens"] > 0 and lead["tool_uses"][0] == "spawn_agent"
    assert lead["message_id"].startswith("msg_") and lead["stream"] is False
    # The teammate request defined no tools, so the policy's list_tasks call was dropped.
    assert "dropped 1 undefined tool_uses" in everything[1]["rule"]
    assert [e["agent"] for e in entries(server, agent="builder")] == ["builder"]
    assert entries(server, since=lead["seq"])[0]["agent"] == "builder"
    stats = http(server, "GET", "/_control/stats")[2]
    assert stats["requests"] == 2 and stats["by_status"] == {"200": 2}


# --- the command line -----------------------------------------------------------------------


def test_the_cli_serves_logs_and_stops_on_sigterm(tmp_path: Path):
    log = tmp_path / "requests.jsonl"
    cmd = [sys.executable, "-m", "emulators.model_server", "--host", "127.0.0.1", "--port", "0"]
    cmd += ["--scenario", "demo", "--log", str(log), "--rate-429", "1", "--retry-after", "3"]
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        line: list[str] = []
        ready = threading.Event()
        threading.Thread(
            target=lambda: (line.append(proc.stdout.readline()), ready.set()), daemon=True
        ).start()
        assert ready.wait(20), "the server did not announce itself"
        url = line[0].split("listening on ")[1].split()[0]
        with anthropic.Anthropic(base_url=url, api_key="k", max_retries=0) as c:
            with pytest.raises(anthropic.RateLimitError) as e:
                c.messages.create(model=MODEL, max_tokens=10, messages=[turn()])
            assert e.value.response.headers["retry-after"] == "3"
            req = urllib.request.Request(url + "/_control/reset", b"{}", method="POST")
            urllib.request.urlopen(req, timeout=5).close()
            assert c.messages.create(model=MODEL, max_tokens=10, messages=[turn()]).id
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        records = [json.loads(x) for x in log.read_text().splitlines()]
        assert [r["entry"]["status"] for r in records] == [429, 200]
        assert records[1]["request"]["messages"] == [turn()]
        assert records[1]["response"]["type"] == "message"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        if proc.stdout:
            proc.stdout.close()
