"""Write a busy swarm straight into Firestore, with the store's own field names.

For the UI's browser tests (the first view of a swarm with 20 agents and 200 tasks must render in
under a second) and for looking at the UI without running a swarm:

    set -a; . .run/env; set +a
    .venv/bin/python web/scripts/seed_demo.py [--agents 20] [--tasks 200]

It writes what the backend would have written (agents, tasks with dependencies, messages,
events, a pending approval, each agent's per-turn timeline records), using the store's document
builders, so a field the store renames
breaks this script rather than hiding from the UI tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import uuid

from google.cloud import firestore  # noqa: TID251 (a script, like emulators/)

from cloudswarm.core import timeline
from cloudswarm.core.documents import BUDGET_AXES as AXES
from cloudswarm.core.documents import event_doc, new_agent_doc
from cloudswarm.core.models import Role
from cloudswarm.gcp.executor import firestore_fields
from cloudswarm.gcp.store_effects import message_doc

GOAL = "Seeded: plan and write a 200-page handbook on running community events"
ACTIVITIES = ["thinking", "working", "waiting for mail", "calling write_artifact", "reading t12"]
TOOL_NAMES = ["claim_task", "complete_task", "send_message", "write_artifact", "list_tasks"]


def _ts(base: dt.datetime, seconds: float) -> dt.datetime:
    return base + dt.timedelta(seconds=seconds)


def _turns(rng: random.Random, aid: str, n: int, t0: dt.datetime, *, start_s: float, cost: float):
    """An agent's ``n`` turn records (the core's builder), spread over the half hour, their costs
    adding up to the agent's: a few model and tool calls each, now and then a retry."""
    span = (1800 - start_s - 60) / max(n, 1)
    for k in range(n):
        begin = start_s + 30 + k * span + rng.uniform(0, span * 0.3)
        log = timeline.TurnLog(_ts(t0, begin), started=0.0)
        at = 0.0
        for seq in range(1, rng.randint(1, 4) + 1):
            dur = rng.uniform(1.0, 12.0)
            log.model_call(seq, at, at + dur, rng.randint(2_000, 12_000), cost / n / 2)
            at += dur
            for _ in range(rng.randint(0, 2)):
                tool_s = rng.uniform(0.05, 1.5)
                name = rng.choice(TOOL_NAMES)
                log.tool_call(name, at, at + tool_s, is_error=rng.random() < 0.05)
                at += tool_s
        retry = rng.random() < 0.06
        rec = timeline.turn_record(
            log,
            turn_id=f"{aid}-{k:03d}",
            agent_id=aid,
            turn=k,
            outcome="retry" if retry else "done",
            detail="model overloaded (529); retrying in 2.1s" if retry else "end_turn",
            ended=at,
            retry_attempt=1 if k and rng.random() < 0.06 else 0,
        )
        rec["ended_at"] = _ts(t0, begin + at)  # the release's commit time, in the seeded past
        yield f"{aid}-{k:03d}", rec


def seed_big_swarm(
    db: firestore.Client, *, agents: int = 20, tasks: int = 200, seed: int = 7
) -> str:
    """Create the swarm; return its id. Deterministic for a given seed (ids aside)."""
    rng = random.Random(seed)
    sid = "s-seed" + uuid.uuid4().hex[:8]
    t0 = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)
    swarm_ref = db.collection("swarms").document(sid)
    writes: list[tuple[firestore.DocumentReference, dict]] = []

    names = ["lead"] + [f"worker-{i:02d}" for i in range(1, agents)]
    statuses = ["running", "idle", "idle", "running", "idle", "failed", "idle", "stopped"]
    total_cost = 0.0
    for i, name in enumerate(names):
        lead = i == 0
        doc = new_agent_doc(
            name=name,
            role=Role.LEAD if lead else Role.TEAMMATE,
            model="claude-sonnet-4-5",
            instructions="Plan the work and keep the team moving." if lead else f"Own part {i}.",
            parent_id=None if lead else "lead",
            depth=0 if lead else 1,
        )
        status = "running" if lead else statuses[i % len(statuses)]
        cost = round(rng.uniform(0.01, 0.4), 4)
        total_cost += cost
        inp, out = rng.randint(5_000, 90_000), rng.randint(500, 9_000)
        doc.update(
            created_at=_ts(t0, i),
            status=status,
            activity=rng.choice(ACTIVITIES) if status == "running" else status,
            turns=rng.randint(1, 30),
            usage={
                "input_tokens": inp,
                "output_tokens": out,
                "cache_read_tokens": inp // 2,
                "cache_write_tokens": inp // 10,
                "cost_usd": cost,
            },
            allowance={"usd": cost + 0.1, "tokens": inp + out + 20_000, "turns": 40},
            spent={"usd": cost, "tokens": inp + out, "turns": 10},
            last_error="loop guard: 12 turns without task progress" if status == "failed" else None,
        )
        if not lead:
            doc["role_description"] = rng.choice(["researcher", "writer", "editor", "reviewer"])
        writes.append((swarm_ref.collection("agents").document(name), doc))
        for turn_id, rec in _turns(rng, name, doc["turns"], t0, start_s=i, cost=cost):
            writes.append((swarm_ref.collection("turns").document(turn_id), rec))

    done_upto, busy_upto, ready_upto = int(tasks * 0.4), int(tasks * 0.5), int(tasks * 0.65)
    status_of: dict[str, str] = {}
    blocks: dict[str, list[str]] = {}
    docs: dict[str, dict] = {}
    for i in range(tasks):
        tid = f"t{i + 1}"
        deps = sorted({f"t{rng.randint(1, i)}" for _ in range(rng.randint(0, 2))}) if i else []
        if i < done_upto:
            # Done tasks depend only on done tasks.
            deps = [d for d in deps if status_of[d] == "done"]
            status = "done"
        elif i < ready_upto:
            deps = [d for d in deps if status_of[d] == "done"]
            status = "in_progress" if i < busy_upto else "ready"
        else:
            status = "blocked" if any(status_of[d] != "done" for d in deps) or not deps else "ready"
            if not deps:
                deps = [f"t{rng.randint(busy_upto - 10, i)}"]
                status = "blocked" if status_of[deps[0]] != "done" else "ready"
        status_of[tid] = status
        for d in deps:
            blocks.setdefault(d, []).append(tid)
        owner = names[1 + i % (agents - 1)] if agents > 1 and status != "ready" else None
        docs[tid] = {
            "title": f"Chapter {i // 10 + 1}, section {i % 10 + 1}: "
            + rng.choice(["outline", "draft", "fact-check", "edit", "illustrate", "review"]),
            "description": "",
            "status": status,
            "owner": owner,
            "blocked_by": deps,
            "waiting_on": [d for d in deps if status_of[d] != "done"],
            "blocks": [],
            "result": "Written to handbook/ch.md" if status == "done" else None,
            "created_by": "lead",
            "created_at": _ts(t0, 60 + i),
            "updated_at": _ts(t0, 60 + i),
            "version": 1,
        }
    for tid, d in docs.items():
        d["blocks"] = blocks.get(tid, [])
        writes.append((swarm_ref.collection("tasks").document(tid), d))

    for i in range(120):
        a, b = rng.sample(names, 2)
        m = message_doc(a, b, f"Status of section {i}: draft is ready for your review.")
        m.update(created_at=_ts(t0, 300 + i * 10), read=i < 100)
        writes.append((swarm_ref.collection("messages").document(f"m{i:04d}"), m))
        e = event_doc("message", a, f"{a} → {b}: status of section {i}", {"to": [b]})
        e["at"] = _ts(t0, 300 + i * 10)
        writes.append((swarm_ref.collection("events").document(f"e{i:04d}"), e))
    for i, tid in enumerate(list(docs)[:done_upto:4]):
        e = event_doc("task_done", docs[tid]["owner"] or "lead", f"completed {tid}", {"task": tid})
        e["at"] = _ts(t0, 1500 + i)
        writes.append((swarm_ref.collection("events").document(f"d{i:04d}"), e))

    for i, tid in enumerate(t for t in docs if docs[t]["status"] == "in_progress"):
        owner = docs[tid]["owner"] or "lead"
        e = event_doc("task_claimed", owner, f"{owner} claimed {tid}", {"task": tid})
        e["at"] = _ts(t0, 600 + i * 20)
        writes.append((swarm_ref.collection("events").document(f"c{i:04d}"), e))

    asker = names[min(3, agents - 1)]
    writes.append(
        (
            swarm_ref.collection("approvals").document("ap-publish"),
            {
                "agent_id": asker,
                "action": "publish the handbook to the public site",
                "detail": "All chapters are reviewed. Publishing makes them visible to everyone.",
                "status": "pending",
                "created_at": _ts(t0, 1700),
                "decided_by": None,
                "comment": None,
            },
        )
    )
    for ref, d in writes:
        if ref.id == asker and ref.parent.id == "agents":
            d.update(status="waiting_approval", activity="waiting for approval: publish")
    last_turn = max(
        (ref for ref, d in writes if ref.parent.id == "turns" and d["agent_id"] == asker),
        key=lambda ref: ref.id,
    )
    for ref, d in writes:
        if ref is last_turn:
            d.update(approval="ap-publish", detail="a tool ended the turn")

    swarm = {
        "goal": GOAL,
        "status": "running",
        "lead_id": "lead",
        "created_at": t0,
        "updated_at": t0,
        "created_by": "seed",
        "budget": {"usd": round(total_cost * 2, 2), "tokens": None, "turns": None, "wall_s": None},
        "granted": {a: 0 for a in AXES} | {"usd": round(total_cost * 1.3, 4)},
        "agent_count": agents,
        "task_count": tasks,
        "tasks_done": done_upto,
        "status_reason": None,
        "summary": None,
        "template": None,
        "request_id": None,
    }
    writes.insert(0, (swarm_ref, swarm))
    for i in range(0, len(writes), 400):
        batch = db.batch()
        for ref, d in writes[i : i + 400]:
            batch.set(ref, firestore_fields(d))  # the core's builders carry SERVER_TIME
        batch.commit()
    return sid


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--tasks", type=int, default=200)
    args = parser.parse_args()
    db = firestore.Client()
    sid = seed_big_swarm(db, agents=args.agents, tasks=args.tasks)
    print(sid)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
