"""The invariants every chaos run must keep, checked once the swarm has finished."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from cloudswarm import runtime
from cloudswarm.gcp.journal import Journal
from cloudswarm.settings import settings
from tests.conftest import wait_until

# The chaos settings every chaos module gives the functions: crashes at every step of a turn,
# every doorbell delivered twice, short leases so a crashed turn is recovered within seconds,
# and a model timeout short enough that a stalled stream fails (and is retried) quickly. The
# lease outlives the longest live turn (wall 2 s + one call of at most 1.5 s, no SDK retry), so
# the watchdog never takes a live turn for a dead one.
CHAOS_ENV = {
    "CLOUDSWARM_CHAOS_CRASH_POINTS": "after_lease,after_model,after_save,after_tool,before_release",
    "CLOUDSWARM_CHAOS_DUPLICATE_DOORBELLS": "1",
    "CLOUDSWARM_LEASE_TTL_S": "5",
    "CLOUDSWARM_TURN_WALL_S": "2",
    "CLOUDSWARM_MODEL_TIMEOUT_S": "1.5",
    "CLOUDSWARM_MODEL_MAX_RETRIES": "0",
}
STALL_S = 3  # a stalled stream is silent longer than the model timeout
# A turn invocation that neither calls the model nor consumes mail (busy, idle, inactive) is
# cheap, but a hot loop makes them without end. Each model request and each message legitimately
# causes a few (a doorbell and its duplicate, a coalesced re-ring, a retry, a watchdog), for the
# swarm and for each agent alike.
INVOCATIONS_PER_EVENT = 4
SLACK = 10


def turn_lines(run_dir: Path, sid: str) -> list[dict]:
    """agent_turn's ``turn <kind>: ...`` records for a swarm, across restarts (rotated logs)."""
    out = []
    for path in sorted(run_dir.glob("agent_turn.log*")):
        for raw in path.read_text(errors="replace").splitlines():
            try:
                rec = json.loads(raw)
            except ValueError:
                continue
            msg = rec.get("message", "") if isinstance(rec, dict) else ""
            if rec.get("swarm_id") == sid and msg.startswith("turn ") and ":" in msg:
                rec["kind"] = msg[5:].split(":", 1)[0]
                out.append(rec)
    return sorted(out, key=lambda r: r["time"])


def crashes(run_dir: Path) -> Counter:
    """Turns the chaos settings killed, by the step they died at (across restarts)."""
    found: Counter = Counter()
    for path in run_dir.glob("agent_turn.log*"):
        found.update(
            re.findall(
                r"ChaosCrash: chaos: turn \w+ of \S+ killed at (\w+)",
                path.read_text(errors="replace"),
            )
        )
    return found


def assert_chaos_invariants(
    run_dir: Path,
    sid: str,
    model_requests: list[dict],
    *,
    tasks: int,
    agents: int,
    kills: list[tuple[float, float]] = (),
) -> dict:
    """Completed exactly once, nothing lost or doubled, within budget, no lease held, no hot
    loop. ``kills``: (from, to) times agent_turn's process was being killed and restarted.
    Returns what it counted, for the test's own assertions and its report. (The same checks as
    swarm_checks.assert_exactly_once, with room for answers lost with a killed process.)"""
    store = runtime.store()
    swarm = store.get_swarm(sid)
    assert swarm["status"] == "completed", swarm
    mine = [r for r in model_requests if r.get("agent")]

    # Every task completed exactly once.
    board = store.list_tasks(sid, status=None, owner=None, limit=100)
    assert len(board) == tasks and {t["status"] for t in board} == {"done"}, board
    events = [e.to_dict() for e in store.p.events(sid).stream()]
    done = Counter(e["data"]["task"] for e in events if e["kind"] == "task_done")
    assert done == {t["id"]: 1 for t in board}, done
    # No message lost or duplicated: one report per task to the lead, no message twice.
    messages = [m.to_dict() for m in store.p.messages(sid).stream()]
    sent = Counter((m["from"], m["to"], m["body"]) for m in messages if m.get("kind") == "message")
    assert sent and max(sent.values()) == 1, sent
    assert sum(1 for k in sent if k[1] == "lead") == tasks, sent

    # A transcript for every answer the platform received: at least every answer that surely
    # reached a live turn, at most every answer the server sent. (A stream that broke mid-answer
    # never reached anyone; one answered as the process was being killed may or may not have.)
    def answered(r: dict) -> bool:
        return (
            r["status"] == 200
            and not r.get("closed_by_client_at")
            and "stream_error" not in (r.get("fault") or "")
        )

    def near_a_kill(r: dict) -> bool:
        end = r.get("done_at") or r["time"]
        return any(r["time"] <= to and end >= start - 0.5 for start, to in kills)

    journal = Journal(runtime.blobs(), settings().bucket("transcripts"))
    listed = store.list_agents(sid)
    transcripts = sum(len(journal.transcript_objects(sid, a["id"])) for a in listed)
    sure = sum(1 for r in mine if answered(r) and not near_a_kill(r))
    assert sure <= transcripts <= sum(1 for r in mine if answered(r)), (transcripts, sure)
    # A turn still finishing (or killed, waiting for its watchdog at lease expiry) may hold a
    # lease when the swarm completes; none may hold one past the lease's lifetime.
    ttl = float(CHAOS_ENV["CLOUDSWARM_LEASE_TTL_S"])

    def held() -> list[str]:
        return [a["id"] for a in store.list_agents(sid) if a.get("lease")]

    assert wait_until(lambda: not held(), timeout=ttl + 10, every=0.25), f"leases held: {held()}"
    assert len(listed) == agents, [a["id"] for a in listed]

    budget = (swarm.get("budget") or {}).get("usd")
    spent = sum(a["usage"]["cost_usd"] for a in listed)
    assert budget is not None and 0 < spent <= budget, (spent, budget)
    assert swarm["granted"]["usd"] <= budget, swarm["granted"]

    lines = turn_lines(run_dir, sid)
    events = len(mine) + len(messages)
    assert len(lines) <= INVOCATIONS_PER_EVENT * events, (len(lines), events)
    per_agent = Counter(r.get("agent_id") for r in lines)
    causes = Counter(r["agent"] for r in mine) + Counter(m["to"] for m in messages)
    loops = {
        a: (n, causes[a])
        for a, n in per_agent.items()
        if n > INVOCATIONS_PER_EVENT * causes[a] + SLACK
    }
    assert not loops, f"woken far more often than mail and model calls explain: {loops}"
    return {
        "model_requests": len(mine),
        "faults": Counter(r["fault"] for r in mine if r.get("fault")),
        "statuses": Counter(r["status"] for r in mine),
        "invocations": Counter(r["kind"] for r in lines),
        "messages": len(messages),
        "crashes": crashes(run_dir),
        "spent_usd": round(spent, 4),
        "budget_usd": budget,
        "most_invocations": per_agent.most_common(1)[0] if per_agent else None,
    }
