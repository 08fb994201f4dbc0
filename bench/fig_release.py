"""Kill switch release: time until every halted swarm's agents are working again.

``SWARMS`` swarms of ``AGENTS`` agents each, every agent with mail, are halted by the global
switch (each agent is rung while the switch is engaged: its turn finds it so and leaves the mail
unread). The bench then releases the switch through the service layer, which rings every agent
with unread mail at once, and reads agent_turn's log: **time to resume** is from the moment
before the release is written to the end of the last agent's first turn after it. Counted too:
transactions that failed for contention (``Failed to commit transaction`` in any function's
log since the release) and leases still held once the swarms are quiet (a lease left for its
watchdog would hold its agent for the lease's lifetime).
"""

from __future__ import annotations

import time

from bench import fixtures
from bench.env import Env, wait_for

SWARMS = 20
AGENTS = 5
CONTENTION = "Failed to commit transaction"


def run(env: Env, swarms: int = SWARMS, agents: int = AGENTS) -> dict:
    from cloudswarm import service
    from cloudswarm.core.models import SwarmStatus
    from cloudswarm.gcp.bus import Bus

    store, s = env.store, env.settings
    env.model.reset("demo")  # a teammate with no task answers with text: one call a turn
    bus = Bus(s.project, s.topic("agent-doorbell"))
    logs = sorted(env.run_dir.glob("*.log"))
    offsets = {p: p.stat().st_size for p in logs}
    env.turn_log.poll()
    mark = len(env.turn_log.turns)
    service.set_kill_switch(engaged=True, actor="bench", reason="bench: release drill")
    team: dict[str, list[str]] = {}
    for i in range(swarms):
        sid = fixtures.swarm(store, f"bench: release drill {i}")
        names = [f"w{j}" for j in range(agents)]
        # No allowance seeded: the first turn of each agent takes its own, as after a spawn.
        fixtures.agents(store, sid, names, allowance_usd=0.0)
        fixtures.messages(store, sid, [("human:bench", a, "Back to work.") for a in names])
        team[sid] = names

    def turns(*kinds: str, since: float = 0.0):
        env.turn_log.poll()
        return [
            r
            for r in env.turn_log.turns[mark:]
            if r["kind"] in kinds and r.get("swarm_id") in team and r["t"] >= since
        ]

    everyone = swarms * agents
    # Doorbells reach agent_turn through the stack's pusher, as every other figure's do.
    for sid, names in team.items():
        for a in names:
            bus.ring(sid, a)
    wait_for(lambda: len(turns("inactive")) >= everyone, 120, 0.2, "every agent halted")
    released = time.time()
    service.set_kill_switch(engaged=False, actor="bench", reason="bench: release")

    def resumed():
        after = turns("done", "idle", since=released)
        seen = {(r["swarm_id"], r["agent_id"]): r["t"] for r in after}
        return seen if len(seen) >= everyone else None

    first = wait_for(resumed, 300, 0.2, "every agent to turn after the release")
    stuck = _leases_after_quiet(store, team)
    for sid in team:
        service.set_swarm_status(sid, SwarmStatus.KILLED, actor="bench", reason="bench over")
    failed = 0
    for p in logs:
        with p.open("rb") as f:
            f.seek(offsets.get(p, 0))
            failed += f.read().decode(errors="replace").count(CONTENTION)
    times = sorted(t - released for t in first.values())
    return {
        "swarms": swarms,
        "agents_per_swarm": agents,
        "time_to_resume_s": round(times[-1], 3),
        "median_resume_s": round(times[len(times) // 2], 3),
        "contention_failures": failed,
        "leases_left": stuck,
    }


def _leases_after_quiet(store, team: dict[str, list[str]], timeout: float = 30) -> list[str]:
    """Leases still held once every turn has had time to end (none should be)."""

    def held():
        return [
            f"{sid}/{a['id']}"
            for sid in team
            for a in store.list_agents(sid, limit=100)
            if a.get("lease")
        ]

    try:
        wait_for(lambda: not held(), timeout, 0.5, "every lease to be given back")
    except TimeoutError:
        return held()
    return []
