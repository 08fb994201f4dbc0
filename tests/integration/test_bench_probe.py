"""The bench's write probe (bench/probe/sitecustomize.py) counts, in a process started with it,
every document write that process commits to the Firestore emulator, by document path: batched
writes and transactions alike, so the bench's per-document figures see the budget shards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from bench import doc_writes

PROBE = Path(__file__).resolve().parents[2] / "bench" / "probe"

CHILD = textwrap.dedent(
    """
    import json, sys, time
    from cloudswarm import runtime
    from cloudswarm.core import budget
    from cloudswarm.core.models import Budget

    store = runtime.store()
    sid, _ = store.create_swarm(goal="probe", model="m", budget=Budget(usd=16.0), created_by="t")
    err, grant = store.grant_allowance(
        sid, "lead", {"usd": 0.1}, {"usd": 0.1}, daily_cap_usd=100, day=budget.today()
    )
    assert err is None, err
    # The probe (a daemon thread, no flush at exit) writes its totals twice a second;
    # this child must outlive one write, and has no event of the probe to wait on.
    time.sleep(1.2)  # wait-ok
    print(json.dumps({"sid": sid, "day": budget.today()}))
    """
)


def test_the_probe_counts_each_commit_by_document(stack, tmp_path):
    out = tmp_path / "writes"
    env = {
        **os.environ,
        "CLOUDSWARM_BENCH_WRITES": str(out),
        "PYTHONPATH": os.pathsep.join(p for p in (str(PROBE), os.environ.get("PYTHONPATH")) if p),
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout.strip().splitlines()[-1])
    sid, day = made["sid"], made["day"]
    counts = doc_writes.snapshot(out)
    mine = {p: n for p, n in counts.items() if sid in p or p.startswith(f"budget_days/{day}/")}
    kinds = {doc_writes.kind(p) for p in mine}
    # The creation's batch (swarm, lead, goal) and the grant's transaction (the lead, one
    # budget shard, as a sixteenth of the budget covers it, and a day shard): the swarm
    # document is not written by the grant.
    assert mine[f"swarms/{sid}"] == 1 and mine[f"swarms/{sid}/agents/lead"] == 2
    assert {"swarm", "agent", "message", "counters", "day"} <= kinds
    assert sum(n for p, n in mine.items() if doc_writes.kind(p) == "counters") == 1
    assert sum(n for p, n in mine.items() if doc_writes.kind(p) == "day") >= 1
