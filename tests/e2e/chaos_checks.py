"""The invariants every chaos run must keep, checked once the swarm has finished."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
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
# cheap, but a hot loop makes them without end. Each model request, each message and each turn
# that failed legitimately causes a few (a doorbell and its duplicate, a coalesced re-ring, a
# retry, a watchdog; a failed turn's redelivered doorbell and its duplicate find the dead turn's
# lease held until it expires), for the swarm and for each agent alike.
INVOCATIONS_PER_EVENT = 4
SLACK = 10


def _records(run_dir: Path, sid: str) -> Iterator[dict]:
    """agent_turn's JSON log records for a swarm, across restarts (rotated logs)."""
    for path in sorted(run_dir.glob("agent_turn.log*")):
        for raw in path.read_text(errors="replace").splitlines():
            try:
                rec = json.loads(raw)
            except ValueError:
                continue
            if isinstance(rec, dict) and rec.get("swarm_id") == sid:
                yield rec


def turn_lines(run_dir: Path, sid: str) -> list[dict]:
    """agent_turn's ``turn <kind>: ...`` records for a swarm, across restarts (rotated logs)."""
    out = []
    for rec in _records(run_dir, sid):
        msg = rec.get("message", "")
        if msg.startswith("turn ") and ":" in msg:
            rec["kind"] = msg[5:].split(":", 1)[0]
            out.append(rec)
    return sorted(out, key=lambda r: r["time"])


# How a turn that had taken the lease can end with its answer's tool calls unfinished: its
# process died ("turn failed", a chaos crash included), a transient error (an outage) left it to
# a retry, its lease ran short, or the swarm stopped under it. A turn that never took the lease
# ran nothing.
CUT_SHORT = frozenset({"failed", "retry", "continued", "halted"})
NOT_LEASED = frozenset({"busy", "inactive", "missing"})


def turn_ends(run_dir: Path, sid: str) -> list[dict]:
    """How each of the swarm's turns ended: its ``turn <kind>`` line, or kind ``failed`` for
    one that raised (a chaos crash included), in time order."""
    out = []
    for rec in _records(run_dir, sid):
        if rec.get("message", "").startswith("turn failed"):
            out.append({**rec, "kind": "failed"})
    return sorted([*turn_lines(run_dir, sid), *out], key=lambda r: r["time"])


def unexplained_missing_reports(run_dir: Path, sid: str, board: list[dict]) -> list[tuple]:
    """Tasks done with no ``Done: <task>`` report to the lead, but for those whose owner's last
    turn to take the lease after completing the task was cut short (CUT_SHORT), no later turn
    of its having taken the lease: the lead, seeing every task done, finished the swarm first,
    and the turn that resumed the answer then found the swarm ended and sent nothing more."""
    store = runtime.store()
    events = [e.to_dict() for e in store.p.events(sid).stream()]
    completed_at = {
        e["data"]["task"]: e["at"].timestamp() for e in events if e["kind"] == "task_done"
    }
    reported = {
        m["body"].removeprefix("Done: ")
        for m in (d.to_dict() for d in store.p.messages(sid).stream())
        if m.get("kind") == "message" and m.get("to") == "lead"
    }
    ends = turn_ends(run_dir, sid)

    def cut_short(task: dict) -> bool:
        after = [
            r["kind"]
            for r in ends
            if r.get("agent_id") == task["owner"]
            and epoch(r["time"]) >= completed_at[task["id"]] - 1
            and r["kind"] not in NOT_LEASED
        ]
        return bool(after) and after[-1] in CUT_SHORT

    return [(t["id"], t["owner"]) for t in board if t["id"] not in reported and not cut_short(t)]


def epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


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
    model_requests: Callable[[], list[dict]],
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
    # A turn still finishing (or killed, waiting for its watchdog at lease expiry) may hold a
    # lease when the swarm completes; none may hold one past the lease's lifetime.
    ttl = float(CHAOS_ENV["CLOUDSWARM_LEASE_TTL_S"])

    def held() -> list[str]:
        return [a["id"] for a in store.list_agents(sid) if a.get("lease")]

    assert wait_until(lambda: not held(), timeout=ttl + 10, every=0.25), f"leases held: {held()}"
    # Read once no turn runs: a turn still running as the swarm completed may yet be answered.
    mine = [r for r in model_requests() if r.get("agent")]

    # Every task completed exactly once.
    board = store.list_tasks(sid, status=None, owner=None, limit=100)
    assert len(board) == tasks and {t["status"] for t in board} == {"done"}, board
    events = [e.to_dict() for e in store.p.events(sid).stream()]
    done = Counter(e["data"]["task"] for e in events if e["kind"] == "task_done")
    assert done == {t["id"]: 1 for t in board}, done
    # No message lost or duplicated: no message twice, and a report to the lead for every task
    # but one whose sender's turn was cut short after completing it (unexplained_missing_reports).
    messages = [m.to_dict() for m in store.p.messages(sid).stream()]
    sent = Counter((m["from"], m["to"], m["body"]) for m in messages if m.get("kind") == "message")
    assert sent and max(sent.values()) == 1, sent
    unexplained = unexplained_missing_reports(run_dir, sid, board)
    assert not unexplained, f"reports missing with no cut-short turn to explain them: {unexplained}"

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
    assert len(listed) == agents, [a["id"] for a in listed]

    budget = (swarm.get("budget") or {}).get("usd")
    spent = sum(a["usage"]["cost_usd"] for a in listed)
    assert budget is not None and 0 < spent <= budget, (spent, budget)
    granted = store.swarm_granted(sid)  # the sum of its budget shards
    assert spent <= granted["usd"] + 1e-9 <= budget + 2e-9, (spent, granted, budget)

    lines = turn_lines(run_dir, sid)
    failed = Counter(r.get("agent_id") for r in turn_ends(run_dir, sid) if r["kind"] == "failed")
    events = len(mine) + len(messages) + sum(failed.values())
    assert len(lines) <= INVOCATIONS_PER_EVENT * events, (len(lines), events)
    per_agent = Counter(r.get("agent_id") for r in lines)
    causes = Counter(r["agent"] for r in mine) + Counter(m["to"] for m in messages) + failed
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
