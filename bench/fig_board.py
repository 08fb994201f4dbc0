"""Firestore reads and writes per turn with 10 and with 1,000 tasks on the board.

Two turns, each run once per board size in this process with the real adapters, the Firestore
client wrapped by a counter (bench/counting.py: billed reads and writes, and RPCs):

- **work turn** (the demo scenario's teammate rules against the local model server): look at its
  ready tasks, claim one, write an artifact, complete the task (which unblocks two dependents),
  report to the lead, look again, stop: 5 model calls, 6 tool calls;
- **approval turn** (the overhead figure's turn): one model call, one ``request_approval``.

The boards: the worker's own task and its two dependents, plus ready tasks owned by other agents
to make up 10 or 1,000. The turn's compact board view reads at most 10 ready tasks, so on the small
board (8 ready tasks) that query returns fewer documents than on the large one: the two figures
may differ by exactly that unfilled part of the limit, never by anything that grows with the board.
"""

from __future__ import annotations

import json
from dataclasses import replace

from bench import fixtures
from bench.counting import FirestoreCounter
from bench.env import SINK_TOPIC, Env
from bench.fig_overhead import SCENARIO as APPROVAL_SCENARIO

SIZES = (10, 1000)
BOARD_LIMIT = 10  # the turn's board view: at most 10 ready tasks


def run(env: Env) -> dict:
    from google.cloud import firestore

    from cloudswarm import runtime
    from cloudswarm.core.turn import run_turn
    from cloudswarm.gcp.bus import Bus
    from cloudswarm.gcp.store import FirestoreStore

    s = env.settings
    db = firestore.Client(project=s.project)
    counter = FirestoreCounter(db)
    deps = replace(
        runtime.deps(), store=FirestoreStore(s.project, db=db), bus=Bus(s.project, SINK_TOPIC)
    )
    approval = env.run_dir / "bench-turn.json"
    approval.write_text(json.dumps(APPROVAL_SCENARIO))
    out: dict = {"work": {}, "approval": {}}
    for size in SIZES:
        sid = _board(env.store, size)
        for shape, scenario, note in (
            ("work", "demo", "Task w-main is assigned to you and ready."),
            ("approval", str(approval), "Ask for approval."),
        ):
            env.model.reset(scenario)
            aid = f"{shape}er"
            fixtures.messages(env.store, sid, [("system", aid, note)])
            ready = _ready_count(env.store, sid)
            with counter.measure() as tally:
                outcome = run_turn(deps, sid, aid)
            assert outcome.kind == "done", (shape, size, outcome)
            calls = [r for r in env.model.requests() if r["status"] == 200]
            out[shape][str(size)] = {
                **tally.as_dict(),
                "model_calls": len(calls),
                "tool_calls": sum(len(r.get("tool_uses") or []) for r in calls),
                "ready_tasks_on_board": ready,
                "ready_tasks_in_board_view": min(BOARD_LIMIT, ready),
            }
    return _summary(out)


def _summary(out: dict) -> dict:
    verdicts = {}
    for shape, by_size in out.items():
        small, large = by_size[str(SIZES[0])], by_size[str(SIZES[-1])]
        slack = large["ready_tasks_in_board_view"] - small["ready_tasks_in_board_view"]
        verdicts[shape] = {
            "reads_delta": large["reads"] - small["reads"],
            "writes_delta": large["writes"] - small["writes"],
            "allowed_reads_delta": slack,
            "bounded": large["writes"] == small["writes"]
            and 0 <= large["reads"] - small["reads"] <= slack,
        }
    return {
        "turns": out,
        "verdicts": verdicts,
        "bounded": all(v["bounded"] for v in verdicts.values()),
    }


def _ready_count(store, sid: str) -> int:
    from google.cloud.firestore_v1.base_query import FieldFilter

    q = store.p.tasks(sid).where(filter=FieldFilter("status", "==", "ready")).count()
    return int(q.get()[0][0].value)


def _board(store, size: int) -> str:
    """A swarm whose board holds ``size`` tasks: the worker's task, two tasks it blocks, and
    ready tasks of other agents."""
    from cloudswarm.gcp.fs import now

    sid = fixtures.swarm(store, f"bench: a board of {size} tasks")
    fixtures.agents(store, sid, ["worker", "approvaler", "other"])
    fixtures.tasks(store, sid, size - 3, owner="other")
    base = {
        "description": "Seeded by the bench.",
        "result": None,
        "created_by": "bench",
        "created_at": now(),
        "updated_at": now(),
        "version": 1,
    }
    batch = store.db.batch()
    batch.set(
        store.p.task(sid, "w-main"),
        {
            **base,
            "title": "The worker's task",
            "status": "ready",
            "owner": "worker",
            "blocked_by": [],
            "waiting_on": [],
            "blocks": ["w-next-1", "w-next-2"],
        },
    )
    for dep in ("w-next-1", "w-next-2"):
        batch.set(
            store.p.task(sid, dep),
            {
                **base,
                "title": f"After the worker's task ({dep})",
                "status": "blocked",
                "owner": "other",
                "blocked_by": ["w-main"],
                "waiting_on": ["w-main"],
                "blocks": [],
            },
        )
    batch.commit()
    from google.cloud import firestore

    store.p.swarm(sid).update({"task_count": firestore.Increment(3)})
    return sid
