"""Prompt caching: the share of input tokens served from the cache after each agent's first call.

The demo scenario (a lead and three teammates, six dependent tasks) runs through the whole stack
against the local model server, which keeps a prompt cache and reports ``usage`` as the API does:
``input_tokens`` (uncached), ``cache_creation_input_tokens`` and ``cache_read_input_tokens``. From
the server's request log, for every call but each agent's first:
share = cache reads / (uncached input + cache writes + cache reads).
"""

from __future__ import annotations

from bench.env import Env
from bench.fixtures import BUDGET


def run(env: Env, timeout: float = 180) -> dict:
    from bench.env import wait_for
    from cloudswarm import service

    env.model.reset("demo")
    sid, _ = service.start_swarm("demo", actor="bench", budget=BUDGET)
    swarm = wait_for(
        lambda: (s := env.store.get_swarm(sid))["status"] != "running" and s,
        timeout,
        0.25,
        "the demo swarm to finish",
    )
    calls = sorted(
        (r for r in env.model.requests() if r["status"] == 200 and r.get("usage")),
        key=lambda r: r["seq"],
    )
    firsts: set[str] = set()
    after = {"input": 0, "write": 0, "read": 0}
    total = {"input": 0, "write": 0, "read": 0}
    for r in calls:
        u = r["usage"]
        got = {
            "input": u.get("input_tokens", 0),
            "write": u.get("cache_creation_input_tokens", 0),
            "read": u.get("cache_read_input_tokens", 0),
        }
        for k, v in got.items():
            total[k] += v
        if r["agent"] in firsts:
            for k, v in got.items():
                after[k] += v
        firsts.add(r["agent"])

    def share(t: dict) -> float:
        whole = t["input"] + t["write"] + t["read"]
        return round(t["read"] / whole, 4) if whole else 0.0

    return {
        "swarm_status": swarm["status"],
        "calls": len(calls),
        "agents": len(firsts),
        "share_after_first_call": share(after),
        "share_all_calls": share(total),
        "tokens_after_first_call": after,
        "tokens_all_calls": total,
    }
