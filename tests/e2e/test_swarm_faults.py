"""The demo swarm under faults keeps exactly-once results: every doorbell delivered twice, a fifth
of the turns crashing between their model call and their release, a fifth of the model calls
answered with 429, 529 or 500."""

from __future__ import annotations

from cloudswarm import service
from cloudswarm.core.models import Budget
from tests.e2e.conftest import wait_for_status
from tests.e2e.swarm_checks import assert_exactly_once

FUNCTION_ENV = {
    "CLOUDSWARM_CHAOS_CRASH_RATE": "0.2",
    "CLOUDSWARM_CHAOS_SEED": "7",
    "CLOUDSWARM_CHAOS_DUPLICATE_DOORBELLS": "1",
    # Short leases so the watchdog recovers crashed turns within seconds.
    "CLOUDSWARM_LEASE_TTL_S": "4",
    "CLOUDSWARM_TURN_WALL_S": "3",
    # One call (timeout x 2 attempts) fits inside the lease's fence (3.6 s).
    "CLOUDSWARM_MODEL_TIMEOUT_S": "1.5",
}


def test_demo_swarm_survives_duplicates_crashes_and_model_errors(full_stack, model_server):
    model_server.faults(seed=11, rate_429=0.07, rate_529=0.07, rate_500=0.06, retry_after_s=1)
    sid, _ = service.start_swarm("demo", actor="chaos", budget=Budget(usd=5))
    swarm = wait_for_status(sid, {"completed", "failed", "paused"}, timeout=300)
    assert swarm["status"] == "completed", swarm
    requests = model_server.requests()
    faults = [r for r in requests if r["status"] in (429, 529, 500)]
    assert faults, "the model server injected no errors"
    assert_exactly_once(sid, model_server.requests, expected_tasks=6)
