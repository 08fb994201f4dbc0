"""A real swarm through Pub/Sub push, functions-framework and the local model server."""

from __future__ import annotations

import time

from cloudswarm import runtime, service
from cloudswarm.core.models import Budget
from tests.conftest import wait_until
from tests.e2e.conftest import wait_for_status
from tests.e2e.swarm_checks import MostWorkingAtOnce, assert_exactly_once

# Short leases, and a model timeout short enough that one call fits inside the lease's fence.
FUNCTION_ENV = {
    "CLOUDSWARM_LEASE_TTL_S": "20",
    "CLOUDSWARM_TURN_WALL_S": "15",
    "CLOUDSWARM_MODEL_TIMEOUT_S": "8",
}


def test_lead_and_three_teammates_complete_a_dependent_plan(full_stack, model_server):
    # Each model call takes a second, as a real model's does at the least, so turns overlap
    # the way they do with Claude; the stack's pusher must then run all four at once.
    model_server.faults(latency_s=1.0)
    sid, _ = service.start_swarm("demo", actor="e2e", budget=Budget(usd=5))
    with MostWorkingAtOnce(sid) as working:
        swarm = wait_for_status(sid, {"completed", "failed", "paused"})
    assert swarm["status"] == "completed", swarm
    agents = {a["id"] for a in runtime.store().list_agents(sid)}
    assert agents == {"lead", "researcher", "builder", "reviewer"}
    assert working.most == agents, f"at most {sorted(working.most)} worked at once"
    assert_exactly_once(sid, model_server.requests, expected_tasks=6)
    # The default provider: Anthropic's Messages API path (test_swarm_vertex.py runs Vertex's).
    assert {(r["wire"], r["path"]) for r in model_server.requests()} == {
        ("anthropic", "/v1/messages")
    }


def test_the_large_team_works_side_by_side(full_stack, model_server):
    # The large scenario's nine teammates start together and its stages overlap; with a second
    # per model call, the stack's pusher must run eight agents' turns at once or more, as Cloud
    # Functions scales out (the emulator's own push ran two).
    model_server._call("/_control/scenario", {"name": "large"})
    try:
        model_server.faults(latency_s=1.0)
        sid, _ = service.start_swarm("large", actor="e2e", budget=Budget(usd=20))
        with MostWorkingAtOnce(sid) as working:
            swarm = wait_for_status(sid, {"completed", "failed", "paused"}, timeout=300)
        assert swarm["status"] == "completed", swarm
        assert len(working.most) >= 8, f"at most {sorted(working.most)} worked at once"
        assert_exactly_once(sid, model_server.requests, expected_tasks=30)
    finally:
        model_server._call("/_control/scenario", {"name": "demo"})


def test_kill_switch_closes_a_streaming_call_within_a_second_and_release_resumes(
    full_stack, model_server
):
    model_server.faults(slow_stream_delay_s=0.5)
    sid, _ = service.start_swarm("demo", actor="e2e", budget=Budget(usd=5))
    streaming = wait_until(
        lambda: [r for r in model_server.requests() if r.get("stream") and not r.get("done_at")],
        timeout=60,
    )
    assert streaming, "no call started streaming"
    engaged_at = time.time()
    service.set_kill_switch(engaged=True, actor="e2e", reason="drill")
    seq = streaming[0]["seq"]
    closed = wait_until(
        lambda: next(
            (r for r in model_server.requests() if r["seq"] == seq and r.get("done_at")), None
        ),
        timeout=10,
    )
    assert closed and closed.get("closed_by_client_at"), closed
    assert closed["closed_by_client_at"] - engaged_at < 1.0
    # Once every turn has let go of its lease, no agent may call the model again.
    store = runtime.store()
    assert wait_until(lambda: all(a["lease"] is None for a in store.list_agents(sid)), 30)
    late = [r for r in model_server.requests() if r["time"] > engaged_at + 1.0]
    assert late == [], late
    model_server.faults(slow_stream_delay_s=0)
    service.set_kill_switch(engaged=False, actor="e2e", reason="drill over")
    swarm = wait_for_status(sid, {"completed", "failed", "paused"})
    assert swarm["status"] == "completed", swarm


def test_budget_admitting_about_three_calls_stops_before_the_cap(full_stack, model_server):
    from cloudswarm.core import pricing

    # A call's worst case: its request (~10 kB) at the cache-write price plus max_tokens, twice
    # over while the swarm's default compaction may run. Each call reserves that much and gives
    # back what it did not spend, so this cap admits a call or a few of the demo (which needs
    # about 30) before the next worst case no longer fits.
    per_call = pricing.worst_case_cost(runtime.settings().default_model, 10_000, 4096)
    cap = 3 * per_call
    sid, _ = service.start_swarm("demo", actor="e2e", budget=Budget(usd=cap))
    swarm = wait_for_status(sid, {"completed", "failed", "paused"})
    assert swarm["status"] == "paused" and "budget" in (swarm.get("status_reason") or "")
    agents = runtime.store().list_agents(sid)
    spent = sum(a["usage"]["cost_usd"] for a in agents)
    assert 0 < spent <= cap
    # What was handed out (its budget shards' sum) stayed within the cap, and is what the
    # agents hold (an ended swarm's unspent part went back with it).
    granted = runtime.store().swarm_granted(sid)["usd"]
    assert spent <= granted + 1e-9 <= cap + 2e-9, (spent, granted, cap)
    calls = [r for r in model_server.requests() if r["status"] == 200]
    assert 1 <= len(calls) <= 10


def test_malformed_and_misaddressed_doorbells_are_dropped_with_a_record(full_stack):
    bus = runtime.bus()
    topic = runtime.settings().topic("agent-doorbell")
    bus.publish(topic, b"", {"swarm_id": "../etc", "agent_id": "lead"})
    store = runtime.store()
    recorded = wait_until(
        lambda: [d.to_dict() for d in store.p.dead_letters().stream()], timeout=30
    )
    assert recorded and recorded[0]["source"] == "agent-doorbell"
    assert "swarm_id" in recorded[0]["reason"]
    # A doorbell for an agent that does not exist is acknowledged, not retried forever.
    log = full_stack.run_dir / "agent_turn.log"
    bus.ring("s-does-not-exist", "lead")
    assert wait_until(lambda: "turn missing" in log.read_text(), timeout=30)


def test_billing_budget_alert_engages_the_kill_switch_once(full_stack):
    import json

    topic = runtime.settings().topic("budget-alerts")
    alert = {
        "budgetDisplayName": "cloudswarm",
        "costAmount": 120.0,
        "budgetAmount": 100.0,
        "currencyCode": "USD",
    }
    store = runtime.store()
    try:
        runtime.bus().publish(
            topic, json.dumps({"costAmount": 10.0, "budgetAmount": 100.0}).encode()
        )
        runtime.bus().publish(topic, json.dumps(alert).encode())
        kill = wait_until(lambda: (k := store.get_kill_switch()).get("engaged") and k, timeout=30)
        assert kill["actor"] == "budget" and "120.00 of 100.00" in kill["reason"]
        audit = [a.to_dict() for a in store.p.kill_switch().collection("audit").stream()]
        assert [a["actor"] for a in audit].count("budget") == 1
    finally:
        service.set_kill_switch(engaged=False, actor="e2e", reason="budget drill over")


def test_sweep_moves_dead_lettered_doorbells_into_firestore(full_stack):
    import json
    import urllib.request

    s = runtime.settings()
    runtime.bus().publish(
        s.topic("agent-doorbell-dead"), b"", {"swarm_id": "s-gone", "agent_id": "w9"}
    )
    sweep = urllib.request.Request(
        full_stack.env()["CLOUDSWARM_DISPATCH_URL"] + "/sweep", data=b"{}", method="POST"
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def swept():
        with opener.open(sweep, timeout=30) as resp:
            json.loads(resp.read())
        return [
            d.to_dict()
            for d in runtime.store().p.dead_letters().stream()
            if d.get("payload").get("attributes", {}).get("agent_id") == "w9"
        ]

    letters = wait_until(swept, timeout=30, every=0.5)
    assert letters and letters[0]["source"] == "agent-doorbell"
    assert "undeliverable" in letters[0]["reason"]
