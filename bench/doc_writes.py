"""Writes per document during a measuring window, by kind, and what they come to at 1,000 agents.

The function processes count their own commits by document path (``bench/probe``); this module
takes the difference of two snapshots, sorts documents into kinds and finds the busiest of each.
Firestore's guideline is about one sustained write per second per document.

Projection to a swarm of ``AGENTS`` agents each turning every ``TURN_EVERY_S`` seconds, from the
measured writes per turn:

- an agent's document (``agent``) is written by that agent's own turns (the lease, its steps,
  its release) and by doorbells that find it busy (``wake_pending``, set at most once per turn
  of it): its writes per turn of its own agent, times that agent's turn rate (0.1/s). The busiest
  is the agent document with the most writes per turn of its agent in the window (a doorbell's
  write with no turn of its agent in the window counts as one turn's);
- a document of one item (``task``, ``message``, ``effect``, ``event``, a turn's record) is
  written a few times in its life, by the turns that touch it: at most once per such turn, so
  its writes in the window over one turn period (10 s) bound its rate;
- the ``swarm`` document is written by every agent's turns: its rate scales with the swarm's;
- a shard (``counters``: a swarm's budget shards; ``day``: the daily cap's shards) takes the
  turns of the agents that hash to it: the kind's writes per turn, times the swarm's turn rate,
  times the share of ``AGENTS`` agents the busiest shard gets by the same hash.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

GUIDELINE_PER_S = 1.0
AGENTS = 1000
TURN_EVERY_S = 10.0

KINDS = (
    ("swarm", re.compile(r"^swarms/[^/]+$")),
    ("agent", re.compile(r"^swarms/[^/]+/agents/[^/]+$")),
    ("task", re.compile(r"^swarms/[^/]+/tasks/[^/]+$")),
    ("counters", re.compile(r"^swarms/[^/]+/budget/[^/]+$")),
    ("day", re.compile(r"^budget_days/.+$")),
    ("message", re.compile(r"^swarms/[^/]+/messages/[^/]+$")),
    ("event", re.compile(r"^swarms/[^/]+/events/[^/]+$")),
    ("effect", re.compile(r"^swarms/[^/]+/effects/[^/]+$")),
    ("control", re.compile(r"^control/.+$")),
)
SCOPE = {"swarm": "swarm", "counters": "shard", "day": "shard"}  # the rest: one agent's turns


def kind(path: str) -> str:
    return next((k for k, rx in KINDS if rx.match(path)), "other")


def snapshot(folder: Path) -> Counter:
    """The running totals of every function process, summed."""
    total: Counter = Counter()
    for f in folder.glob("*.json"):
        try:
            total.update(json.loads(f.read_text()))
        except (OSError, ValueError):
            continue  # being replaced: the next snapshot has it
    return total


def busiest_share(n_shards: int, agents: int = AGENTS, prefix: str = "s/r") -> float:
    """The share of ``agents`` agents the busiest of ``n_shards`` shards gets, by the hash the
    grants use (``core/shards.py``)."""
    from cloudswarm.core import shards

    counts = Counter(shards.start(f"{prefix}{i:04d}", n_shards) for i in range(agents))
    return max(counts.values()) / agents


def summarize(
    before: Counter,
    after: Counter,
    *,
    sid: str,
    window_s: float,
    turns: int,
    agents: int,
    turns_by_agent: dict[str, int] | None = None,
) -> dict:
    """Per kind: documents written, total writes, the busiest document and its writes/s, writes
    per turn, and the projected busiest rate at ``AGENTS`` agents. ``turns_by_agent``: the
    turns each agent finished in the window."""
    from cloudswarm.core import shards

    diff = {p: after[p] - before.get(p, 0) for p in after if after[p] > before.get(p, 0)}
    own = f"swarms/{sid}"
    mine = {
        p: n
        for p, n in diff.items()
        if p == own or p.startswith(own + "/") or p.startswith("budget_days/")
    }
    by_kind: dict[str, dict] = {}
    for path, n in mine.items():
        k = by_kind.setdefault(kind(path), {"docs": 0, "writes": 0, "busiest": "", "max": 0})
        k["docs"] += 1
        k["writes"] += n
        if n > k["max"]:
            k["busiest"], k["max"] = path, n
    turns = max(turns, 1)
    target_agent_turn_s = 1 / TURN_EVERY_S
    target_swarm_turn_s = AGENTS / TURN_EVERY_S
    n_shards = {"counters": shards.SWARM_SHARDS, "day": shards.DAY_SHARDS}
    per_own_turn = {
        p: n / max((turns_by_agent or {}).get(p.rsplit("/", 1)[-1], 0), 1)
        for p, n in mine.items()
        if kind(p) == "agent"
    }
    out = {}
    for k, v in sorted(by_kind.items()):
        scope = SCOPE.get(k, "agent")
        if scope == "swarm":
            projected = v["max"] / turns * target_swarm_turn_s
        elif scope == "shard":
            projected = v["writes"] / turns * target_swarm_turn_s * busiest_share(n_shards[k])
        elif k == "agent":  # its own agent's turns (and doorbells, once per turn at most)
            projected = max(per_own_turn.values()) * target_agent_turn_s
        else:  # an item: a few writes in its life, one per turn that touches it at most
            projected = v["max"] * target_agent_turn_s
        out[k] = {
            "docs": v["docs"],
            "writes": v["writes"],
            "busiest": v["busiest"].split("/", 2)[-1] if k != "day" else v["busiest"],
            "busiest_per_s": round(v["max"] / window_s, 3),
            "writes_per_turn": round(v["writes"] / turns, 4),
            "projected_per_s": round(projected, 3),
        }
    hottest = max(out.items(), key=lambda kv: kv[1]["busiest_per_s"], default=(None, {}))
    projected = max(out.items(), key=lambda kv: kv[1]["projected_per_s"], default=(None, {}))
    return {
        "kinds": out,
        "busiest_kind": hottest[0],
        "busiest_per_s": hottest[1].get("busiest_per_s"),
        "projected_kind": projected[0],
        "projected_per_s": projected[1].get("projected_per_s"),
    }
