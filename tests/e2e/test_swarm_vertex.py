"""The demo swarm with CLOUDSWARM_MODEL_PROVIDER=vertex: the functions reach the local model
server by Vertex AI's paths through the SDK's AnthropicVertex, with a bearer token and no API key
anywhere (test_swarm.py runs the same swarm through Anthropic's API)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cloudswarm import runtime, service
from cloudswarm.core import pricing
from cloudswarm.core.models import Budget, Usage
from cloudswarm.llm.claude import EMULATOR_TOKEN
from emulators.model_server.journal import fingerprint
from tests.conftest import pids_with_env
from tests.e2e.conftest import wait_for_status
from tests.e2e.swarm_checks import assert_exactly_once
from tests.e2e.test_swarm import FUNCTION_ENV as SWARM_ENV

REGION = "us-east5"  # a regional endpoint: its prices carry the premium (core/prices.json)
FUNCTION_ENV = {
    **SWARM_ENV,
    "CLOUDSWARM_MODEL_PROVIDER": "vertex",
    "CLOUDSWARM_VERTEX_REGION": REGION,
}


def _usage(entry: dict) -> Usage:
    u = entry["usage"]
    return Usage(
        input_tokens=u["input_tokens"],
        output_tokens=u["output_tokens"],
        cache_read_tokens=u.get("cache_read_input_tokens") or 0,
        cache_write_tokens=u.get("cache_creation_input_tokens") or 0,
    )


def test_the_demo_swarm_completes_on_vertex_without_an_api_key(full_stack, model_server):
    sid, _ = service.start_swarm("demo", actor="e2e", budget=Budget(usd=5))
    swarm = wait_for_status(sid, {"completed", "failed", "paused"})
    assert swarm["status"] == "completed", swarm
    agents = runtime.store().list_agents(sid)
    assert {a["id"] for a in agents} == {"lead", "researcher", "builder", "reviewer"}
    requests = model_server.requests()
    assert_exactly_once(sid, model_server.requests, expected_tasks=6)

    # Every call went by Vertex AI's streaming path, the model in the path in Vertex's form.
    project = runtime.settings().project
    path = re.compile(
        rf"^/v1/projects/{project}/locations/{REGION}/publishers/anthropic/models/"
        r"claude-sonnet-4-6:streamRawPredict$"
    )
    assert requests and all(path.match(r["path"]) for r in requests), requests[:3]
    assert {r["wire"] for r in requests} == {"vertex"}
    # No API key was sent: no x-api-key header, and the bearer token is the emulator's
    # placeholder (the SDK sends an API key as a bearer token too, so the token is compared).
    assert all(r["auth"] == ["bearer"] for r in requests)
    assert {r["credential"] for r in requests} == {fingerprint(EMULATOR_TOKEN)}

    # Spend is priced at Vertex's regional tariff.
    tariff = pricing.tariff("vertex", REGION)
    billed = sum(
        pricing.cost(r["model"], _usage(r), tariff) for r in requests if r["status"] == 200
    )
    spent = sum(a["usage"]["cost_usd"] for a in agents)
    assert spent == pytest.approx(billed, rel=1e-9)
    assert spent > sum(pricing.cost(r["model"], _usage(r)) for r in requests if r["status"] == 200)


def test_no_function_of_the_vertex_stack_holds_an_api_key(full_stack):
    pids = pids_with_env(full_stack.config.marker)
    assert pids
    for pid in pids:
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue  # exited meanwhile
        names = {entry.split(b"=", 1)[0] for entry in environ}
        assert b"ANTHROPIC_API_KEY" not in names, pid
