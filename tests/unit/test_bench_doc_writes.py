"""The bench's write-rate maths: kinds by path, the busiest document, the 1,000-agent projection."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from bench import doc_writes
from cloudswarm.core import shards


def test_documents_are_sorted_into_kinds_by_path():
    kinds = {
        "swarms/s-1": "swarm",
        "swarms/s-1/agents/w1": "agent",
        "swarms/s-1/tasks/t1": "task",
        "swarms/s-1/budget/3": "counters",
        "budget_days/2026-12-01/shards/7": "day",
        "swarms/s-1/messages/m1": "message",
        "swarms/s-1/events/e1": "event",
        "swarms/s-1/effects/tu1": "effect",
        "control/kill_switch": "control",
        "processed/x": "other",
    }
    assert {p: doc_writes.kind(p) for p in kinds} == kinds


def test_snapshots_sum_every_process_and_skip_a_file_being_replaced(tmp_path):
    (tmp_path / "1.json").write_text(json.dumps({"swarms/s/agents/a": 3}))
    (tmp_path / "2.json").write_text(json.dumps({"swarms/s/agents/a": 2, "swarms/s": 1}))
    (tmp_path / "3.json").write_text("{")  # half written
    assert doc_writes.snapshot(tmp_path) == Counter({"swarms/s/agents/a": 5, "swarms/s": 1})


def test_the_projection_scales_each_kind_by_who_writes_it():
    # 10 agents, 20 turns in a 10 s window: each agent turns 0.2/s.
    before = Counter({"swarms/s/agents/a0": 4})
    after = Counter(
        {
            "swarms/s/agents/a0": 4 + 30,  # 3 writes/s on one agent's document
            "swarms/s/agents/a1": 10,
            "swarms/s/agents/a2": 3,  # a doorbell's write, and no turn of a2 in the window
            "swarms/s/messages/m1": 2,  # sent, then read
            "swarms/s": 5,  # 0.25 writes per turn on the swarm document
            "swarms/s/budget/1": 6,
            "swarms/s/budget/2": 4,  # counters: 10 writes, 0.5 per turn
            "swarms/other/agents/x": 99,  # other swarms: not counted
            "swarms/s2/agents/a0": 99,
        }
    )
    own = {"a0": 6, "a1": 1}  # the turns each agent finished in the window
    got = doc_writes.summarize(
        before, after, sid="s", window_s=10, turns=20, agents=10, turns_by_agent=own
    )
    k = got["kinds"]
    assert k["agent"]["busiest"] == "agents/a0" and k["agent"]["busiest_per_s"] == 3.0
    # An agent's document follows its own agent's turns: a0 5 writes per turn, a1 10 (the
    # busiest per turn), a2 3 (no turn: counted as one); at a turn every 10 s, 1/s for a1.
    assert k["agent"]["projected_per_s"] == pytest.approx(1.0)
    # An item is written at most once per turn that touches it: 2 writes in 10 s at most.
    assert k["message"]["projected_per_s"] == pytest.approx(0.2)
    # The swarm document follows the swarm's: 0.25 per turn at 100 turns/s.
    assert k["swarm"]["projected_per_s"] == pytest.approx(25.0)
    share = doc_writes.busiest_share(shards.SWARM_SHARDS)
    assert k["counters"]["projected_per_s"] == pytest.approx(round(0.5 * 100 * share, 3))
    assert 1 / shards.SWARM_SHARDS <= share < 2 / shards.SWARM_SHARDS
    assert (got["busiest_kind"], got["projected_kind"]) == ("agent", "swarm")
    assert got["projected_per_s"] == pytest.approx(25.0)


def test_the_projection_is_made_from_the_largest_point_that_had_warmed_up():
    from bench import report

    def point(agents: int, warmed: bool, projected: float, kind: str) -> dict:
        writes = {
            "busiest_per_s": 0.5,
            "busiest_kind": "agent",
            "projected_per_s": projected,
            "projected_kind": kind,
        }
        return {"agents": agents, "warmed": warmed, "doc_writes": writes}

    steady = [point(50, True, 0.8, "agent"), point(100, True, 0.6, "agent")]
    row = report._hot_docs({"points": [*steady, point(200, False, 7.9, "counters")]})
    assert row is not None and row["met"] is True
    assert "from the 100-agent point: 0.60/s (agent)" in row["measured"]
    assert "200 agents, still warming up: 7.90/s (counters)" in row["measured"]
    # A steady point over the guideline fails the row.
    row = report._hot_docs({"points": [point(50, True, 1.2, "swarm"), point(200, False, 0.1, "x")]})
    assert row is not None and row["met"] is False
