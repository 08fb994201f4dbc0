"""The large scenario (a lead, 9 teammates, 30 tasks in 5 stages) under seeded faults: turns
killed at every step, duplicate doorbells, model errors and stalls, and agent_turn's process
killed and restarted mid-run. The invariants of tests/e2e/chaos_checks.py must hold at the end."""

from __future__ import annotations

import time

from cloudswarm import runtime, service
from cloudswarm.core.models import Budget
from tests.conftest import wait_until
from tests.e2e.chaos_checks import CHAOS_ENV, STALL_S, assert_chaos_invariants
from tests.e2e.conftest import wait_for_status

FUNCTION_ENV = {**CHAOS_ENV, "CLOUDSWARM_CHAOS_CRASH_RATE": "0.02", "CLOUDSWARM_CHAOS_SEED": "11"}


def test_large_swarm_keeps_its_invariants_under_faults(full_stack, model_server):
    model_server._call("/_control/scenario", {"name": "large"})
    try:
        model_server.faults(
            seed=29, rate_429=0.03, rate_529=0.03, rate_500=0.03, stall_s=STALL_S, rate_stall=0.02
        )
        sid, _ = service.start_swarm("large", actor="chaos", budget=Budget(usd=20))
        store = runtime.store()
        assert wait_until(lambda: store.get_swarm(sid)["tasks_done"] >= 12, timeout=240)
        killed = time.time()
        full_stack.restart("agent_turn")
        kills = [(killed, time.time())]
        wait_for_status(sid, {"completed", "failed", "paused"}, timeout=300)
    finally:
        model_server._call("/_control/scenario", {"name": "demo"})
    seen = assert_chaos_invariants(
        full_stack.run_dir, sid, model_server.requests, tasks=30, agents=10, kills=kills
    )
    print("chaos run:", seen)  # what the faults did, in the test report
    assert seen["crashes"] and seen["faults"], seen
