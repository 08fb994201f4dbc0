"""The demo swarm under every kind of fault at once, seeded: turns killed at each step of a turn,
every doorbell delivered twice, model 429/529/500, streams broken mid-answer and stalled past the
client's timeout, and agent_turn's process killed and restarted mid-run. The invariants of
tests/e2e/chaos_checks.py must hold when it finishes."""

from __future__ import annotations

import time

from cloudswarm import runtime, service
from cloudswarm.core.models import Budget
from tests.conftest import wait_until
from tests.e2e.chaos_checks import CHAOS_ENV, STALL_S, assert_chaos_invariants
from tests.e2e.conftest import wait_for_status

FUNCTION_ENV = {**CHAOS_ENV, "CLOUDSWARM_CHAOS_CRASH_RATE": "0.05", "CLOUDSWARM_CHAOS_SEED": "5"}


def test_demo_swarm_keeps_its_invariants_under_every_fault(full_stack, model_server):
    model_server.faults(
        seed=13,
        rate_429=0.05,
        rate_529=0.05,
        rate_500=0.05,
        rate_stream_error=0.04,
        stall_s=STALL_S,
        rate_stall=0.04,
        retry_after_s=1,
    )
    sid, _ = service.start_swarm("demo", actor="chaos", budget=Budget(usd=5))
    store = runtime.store()
    assert wait_until(lambda: store.get_swarm(sid).get("tasks_done", 0) >= 2, timeout=200)
    killed = time.time()
    full_stack.restart("agent_turn")  # a crash of the whole process, turns in flight included
    kills = [(killed, time.time())]
    wait_for_status(sid, {"completed", "failed", "paused"}, timeout=240)
    seen = assert_chaos_invariants(
        full_stack.run_dir, sid, model_server.requests, tasks=6, agents=4, kills=kills
    )
    print("chaos run:", seen)  # what the faults did, in the test report
    # The faults were really there.
    assert {"429", "529", "500"} <= set(seen["faults"]), seen
    assert seen["crashes"], seen
    assert seen["invocations"]["busy"] or seen["invocations"]["idle"], seen  # duplicates
