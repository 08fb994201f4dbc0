"""Kill switch time-to-halt: engage it while N agents stream, time until the last stream closes.

N agents each get one message; the model server plays the ``kill`` scenario (every answer is a
slow ~30 s text stream), so once every agent's call is streaming, N streams are open at once. The
bench engages the global switch through the service layer (as the API and the CLI do) and reads
the model server's request log: **time to halt** is from the moment before the switch is written
to the moment the last of those streams was closed by its client. Then it waits until every turn
has given its lease back, and counts the model requests that arrived after the switch was
engaged: the target is none. Before the switch, while every stream is open, one agent is
interrupted and another paused through the service layer (as the API does): **interrupt** and
**pause to closed** are from the moment before each request to the moment its agent's stream was
closed by its client (the path is the kill switch's: the process's halt watch reads the swarm's
per-agent interrupt counts with the swarm).
"""

from __future__ import annotations

import time

from bench import fixtures
from bench.env import Env, wait_for

AGENTS = 50


def run(env: Env, n: int = AGENTS) -> dict:
    from cloudswarm import service
    from cloudswarm.core.models import SwarmStatus
    from cloudswarm.gcp.bus import Bus

    store, s = env.store, env.settings
    env.model.reset("kill")
    sid = fixtures.swarm(store, f"bench: halt {n} streaming agents")
    names = [f"k{i:03d}" for i in range(n)]
    fixtures.agents(store, sid, names)
    fixtures.messages(store, sid, [("human:bench", a, "Think out loud, slowly.") for a in names])
    bus = Bus(s.project, s.topic("agent-doorbell"))
    for a in names:
        bus.ring(sid, a)

    def streaming():
        live = [
            r
            for r in env.model.requests()
            if r.get("stream") and r.get("events_sent", 0) > 0 and not r.get("done_at")
        ]
        return live if len({r["agent"] for r in live}) >= n else None

    live = wait_for(streaming, 120, 0.1, f"{n} streams open at once")
    # One agent interrupted and one paused while every stream is open: each must close its own
    # stream alone, by the same halt watch the kill switch uses.
    steered = {}
    for name, act in (
        ("interrupt", lambda a: service.interrupt_agent(sid, a, "Stop: redirect.", actor="bench")),
        ("pause", lambda a: service.pause_agent(sid, a, actor="bench", reason="bench: pause")),
    ):
        target = next(r for r in live if r["agent"] not in {x["agent"] for x in steered.values()})
        sent = time.time()
        act(target["agent"])
        closed_one = wait_for(
            lambda seq=target["seq"]: next(
                (r for r in env.model.requests() if r["seq"] == seq and r.get("done_at")), None
            ),
            30,
            0.02,
            f"the {name}ed agent's stream to close",
        )
        end = closed_one.get("closed_by_client_at") or closed_one["done_at"]
        steered[name] = {"agent": target["agent"], "seconds": round(end - sent, 3)}
    live = [r for r in live if r["agent"] not in {x["agent"] for x in steered.values()}]
    engaged = time.time()
    service.set_kill_switch(engaged=True, actor="bench", reason="bench: time to halt")
    seqs = {r["seq"] for r in live}

    def closed():
        rs = [r for r in env.model.requests() if r["seq"] in seqs]
        return rs if all(r.get("done_at") for r in rs) else None

    done = wait_for(closed, 30, 0.05, "every stream to close")
    released = wait_for(
        lambda: all(not a.get("lease") for a in store.list_agents(sid, limit=1000)),
        60,
        0.1,
        "every lease to be given back",
    )
    quiet_until = time.time() + 2.0
    time.sleep(2.0)
    late = [r for r in env.model.requests() if r["time"] > engaged]
    del released
    last_close = max((r.get("closed_by_client_at") or r["done_at"]) for r in done)
    by_client = sum(1 for r in done if r.get("closed_by_client_at"))
    # Leave the platform usable: end this swarm and the earlier figures' (whose agents would
    # otherwise wake with the release), then release the switch.
    service.set_swarm_status(sid, SwarmStatus.KILLED, actor="bench", reason="bench over")
    for other in fixtures.CREATED:
        if other != sid and store.get_swarm(other)["status"] == "running":
            service.set_swarm_status(other, SwarmStatus.COMPLETED, actor="bench", reason="done")
    service.set_kill_switch(engaged=False, actor="bench", reason="bench over")
    closes = sorted((r.get("closed_by_client_at") or r["done_at"]) - engaged for r in done)
    return {
        "agents": n,
        "streams_open": len(live),
        "time_to_halt_s": round(last_close - engaged, 3),
        "median_close_s": round(closes[len(closes) // 2], 3),
        "closed_by_client": by_client,
        "requests_after_engage": len(late),
        "interrupt_to_closed_s": steered["interrupt"]["seconds"],
        "pause_to_closed_s": steered["pause"]["seconds"],
        "watched_until": round(quiet_until - engaged, 1),
    }
