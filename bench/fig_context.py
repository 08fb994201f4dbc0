"""Context management on a long run: one agent, 200 model calls, large tool results.

The long-run scenario (emulators/model_server/scenarios/longrun.json) has one agent work through
50 tasks alone: list its ready tasks, claim one, read the page seeded for it (about 4,000 tokens),
complete it naming what it read. Each step is decided from the last tool result alone, so the
run goes on across compactions and cleared results. The turns run in this process with the real
adapters (run_turn, the Claude client, Firestore, GCS) against the stack's model server, which
applies the edits to each request it receives and counts tokens on what remains.

The same run three times, on fresh swarms: without context management (``context`` with both
edits off: no compaction of any kind, so the conversation grows with every page), with the
defaults (compaction at 50,000 input tokens; clearing at 100,000, keeping the 4 newest results),
and with clearing alone (at 30,000), which shows what clearing's moving cache boundary costs.
From the model server's log, per call: input tokens read (uncached + cache writes + cache reads:
the context the answer read), and the billed cost at list price (cache reads and writes at their
prices, a compaction's own usage included). Cache share: cache reads over all input tokens
(a compaction's included) after the agent's first call. The turn's growth: the largest rise of
the context from one call to the next (one page read).
Completed: every task done, each result naming the page its task read.
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import replace

from bench import fixtures
from bench.env import SINK_TOPIC, Env

MODEL = "claude-sonnet-4-6"
PAGES = 50  # 4 calls per page: 200 calls
PAGE_TEXT = "Findings on {tid}: the figures in this fetched page are the ones the task needs. "
PAGE_REPEAT = 200  # about 16,000 characters: some 4,000 tokens once in a tool result
RUNS = {
    "unmanaged": {"compaction": False, "clear_tool_results": False},
    "managed": None,  # the defaults
    "clearing_only": {"compaction": False, "clear_tool_results": {"trigger_tokens": 30_000}},
}
MAX_TURNS = 50


def run(env: Env, pages: int = PAGES) -> dict:
    out = {name: _one(env, name, spec, pages) for name, spec in RUNS.items()}
    base = out["unmanaged"]["cost_usd"]
    for name in out:
        out[name]["cost_vs_unmanaged"] = round(out[name]["cost_usd"] / base, 4) if base else None
    managed = out["managed"]
    trigger = managed["settings"]["compaction"]["trigger_tokens"]
    growth = managed["turn_growth_tokens"]
    out["targets"] = {
        "p95_within_trigger_plus_growth": managed["input_tokens_per_call"]["p95"]
        <= trigger + growth,
        "cost_at_most_40pct": (managed["cost_vs_unmanaged"] or 1) <= 0.40,
        "cache_share_at_least_70pct": managed["cache_share_after_first_call"] >= 0.70,
        "both_complete": all(out[n]["completed"] for n in RUNS),
    }
    return out


def _one(env: Env, name: str, spec: dict | None, pages: int) -> dict:
    from cloudswarm import runtime
    from cloudswarm.core import board, context, pricing
    from cloudswarm.core.models import Usage
    from cloudswarm.core.turn import run_turn
    from cloudswarm.gcp.bus import Bus

    deps = replace(runtime.deps(), bus=Bus(env.settings.project, SINK_TOPIC))
    env.model.reset("longrun")
    settings = context.validate(spec)
    sid = fixtures.swarm(env.store, f"bench: a long run, {name}")
    env.store.p.swarm(sid).update({"context": settings})
    fixtures.agents(env.store, sid, ["reader"], allowance_usd=50.0)
    env.store.p.agents(sid).document("reader").update({"model": MODEL})
    ids = fixtures.tasks(env.store, sid, pages, owner="reader", prefix="p")
    for tid in ids:
        data = (PAGE_TEXT.format(tid=tid) * PAGE_REPEAT).encode()
        obj = deps.workspace.put(sid, data)
        env.store.apply(board.write_artifact(sid, "bench", tid, obj, len(data), None), what="seed")
    fixtures.messages(env.store, sid, [("system", "reader", "Work through your tasks.")])
    outcomes = []
    for _ in range(MAX_TURNS):
        outcome = run_turn(deps, sid, "reader")
        outcomes.append(outcome.kind)
        if outcome.kind in ("done", "idle"):
            break
        if outcome.kind != "continued":
            break
    calls = sorted(
        (r for r in env.model.requests() if r["status"] == 200 and r.get("usage")),
        key=lambda r: r["seq"],
    )
    price = pricing.price(MODEL)
    per_call, cost, compactions = [], 0.0, 0
    first = {"input": 0, "write": 0, "read": 0}
    after = {"input": 0, "write": 0, "read": 0}
    for i, r in enumerate(calls):
        u = r["usage"]
        got = {
            "input": u.get("input_tokens", 0),
            "write": u.get("cache_creation_input_tokens", 0),
            "read": u.get("cache_read_input_tokens", 0),
        }
        per_call.append(sum(got.values()))
        parts = [u, *(it for it in u.get("iterations") or [] if it.get("type") == "compaction")]
        compactions += len(parts) - 1
        for part in parts:
            usage = Usage(
                input_tokens=part.get("input_tokens", 0),
                output_tokens=part.get("output_tokens", 0),
                cache_read_tokens=part.get("cache_read_input_tokens", 0),
                cache_write_tokens=part.get("cache_creation_input_tokens", 0),
            )
            cost += pricing.cost(MODEL, usage)
            if part is not u:
                got = {
                    "input": got["input"] + usage.input_tokens,
                    "write": got["write"] + usage.cache_write_tokens,
                    "read": got["read"] + usage.cache_read_tokens,
                }
        for k, v in got.items():
            (after if i else first)[k] += v
    tasks = env.store.list_tasks(sid, status=None, owner="reader", limit=pages + 10)
    done = [t for t in tasks if t["status"] == "done"]
    named = all(t["id"] in str(t.get("result", "")) for t in done)
    whole = sum(after.values())
    ordered = sorted(per_call)
    return {
        "settings": settings,
        "calls": len(calls),
        "turns": outcomes,
        "input_tokens_per_call": {
            "p50": ordered[len(ordered) // 2] if ordered else 0,
            "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else 0,
            "max": ordered[-1] if ordered else 0,
            "mean": round(statistics.fmean(ordered)) if ordered else 0,
        },
        # What one step adds at most: the largest rise of the context from one call to the next.
        "turn_growth_tokens": max((b - a for a, b in itertools.pairwise(per_call)), default=0),
        "cost_usd": round(cost, 4),
        "price_per_mtok": {"input": price.input, "cache_read": price.cache_read},
        "cache_share_after_first_call": round(after["read"] / whole, 4) if whole else 0.0,
        "tokens_after_first_call": after,
        "compactions": compactions,
        "tasks_done": len(done),
        "completed": len(done) == pages and named,
    }
