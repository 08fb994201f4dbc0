"""A scheduled swarm on the whole stack: the scheduler stand-in fires a declared schedule twice
for the same time (a retried fire), one swarm starts, and it runs the demo plan to completion
with no turn or effect repeated."""

from __future__ import annotations

from pathlib import Path

import requests
from google.cloud.firestore_v1.base_query import FieldFilter

from cloudswarm import runtime
from tests.e2e.conftest import wait_for_status
from tests.e2e.swarm_checks import assert_exactly_once

FUNCTION_ENV = {
    "CLOUDSWARM_SCHEDULES_FILE": str(Path(__file__).with_name("schedules.tfvars.json")),
    "CLOUDSWARM_LEASE_TTL_S": "20",
    "CLOUDSWARM_TURN_WALL_S": "15",
    "CLOUDSWARM_MODEL_TIMEOUT_S": "8",
}
AT = "2026-12-01T08:00:00Z"  # 03:00 in New York: a time the schedule is due


def _fire(stack) -> dict:
    http = requests.Session()
    http.trust_env = False
    url = f"http://127.0.0.1:{stack.config.ports['scheduler']}/_control/fire"
    resp = http.post(url, json={"schedule": "nightly-demo", "at": AT}, timeout=60)
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["status"] == 200, out
    return out["response"]


def test_a_schedule_fired_twice_for_the_same_time_runs_one_swarm_to_completion(
    full_stack, model_server
):
    first, second = _fire(full_stack), _fire(full_stack)
    assert first["created"] is True and second["created"] is False
    sid = first["swarm_id"]
    assert second["swarm_id"] == sid
    swarm = wait_for_status(sid, {"completed", "failed", "paused"})
    assert swarm["status"] == "completed", swarm
    assert swarm["created_by"] == "schedule:nightly-demo"
    rid = f"schedule:nightly-demo:{AT}"
    q = runtime.store().db.collection("swarms").where(filter=FieldFilter("request_id", "==", rid))
    assert [s.id for s in q.stream()] == [sid]
    # The second fire rang the lead again: harmless, no turn or effect happened twice.
    assert_exactly_once(sid, model_server.requests, expected_tasks=6)
