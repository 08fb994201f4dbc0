"""Releasing the kill switch over twenty halted swarms resumes every one of them at once.

Each swarm's lead is rung while the switch is engaged (its goal stays unread), then the switch
is released: every lead wakes at the same moment, spawns two teammates (each spawn grants the
teammate's first allowance in its own transaction, from the budget and daily-cap shards) and
every teammate turns. No transaction may fail for contention, and no lease may be left for its
watchdog (the leases here live 560 s, far past the test: a stuck one would keep its swarm from
ever reaching the end state the test waits for).
"""

from __future__ import annotations

import json
from pathlib import Path

from cloudswarm import runtime, service
from cloudswarm.core.models import Budget
from tests.conftest import wait_until

SWARMS = 20
TEAM = ("alpha", "beta")
SCENARIO = {
    "name": "release",
    "fallback_text": "Nothing more to do.",
    "data": {"teammates": [{"name": n, "instructions": f"You are {n}."} for n in TEAM]},
    "rules": [
        {
            "name": "lead-spawn",
            "when": {"role": "lead", "last": "turn"},
            "then": {
                "text": "Starting the team.",
                "tool_uses": [
                    {
                        "name": "spawn_agent",
                        "for_each": "data.teammates",
                        "unless_called": "name",
                        "input": {"name": "${item.name}", "instructions": "${item.instructions}"},
                    }
                ],
            },
        },
        {"name": "lead-done", "when": {"role": "lead"}, "then": {"text": "The team is up."}},
        {"name": "teammate", "when": {"role": "teammate"}, "then": {"text": "At work."}},
    ],
}
CONTENTION = ("Failed to commit transaction", "ABORTED", "Aborted due to cross-transaction")


def _turn_lines(log: Path, kind: str) -> int:
    if not log.exists():
        return 0
    return sum(1 for line in log.read_text().splitlines() if f'"turn {kind}:' in line)


def _resumed(store, sids: list[str]) -> bool:
    """Every swarm's lead and both teammates finished a turn, and no lease is held."""
    for sid in sids:
        agents = store.list_agents(sid, limit=10)
        if len(agents) != 1 + len(TEAM):
            return False
        if any(a.get("lease") or not a.get("turns") for a in agents):
            return False
    return True


def test_releasing_the_kill_switch_resumes_twenty_swarms_at_once(
    full_stack, model_server, tmp_path
):
    scenario = tmp_path / "release.json"
    scenario.write_text(json.dumps(SCENARIO))
    model_server._call("/_control/scenario", {"name": str(scenario)})
    store = runtime.store()
    log = Path(full_stack.run_dir) / "agent_turn.log"
    halted_before = _turn_lines(log, "inactive")
    service.set_kill_switch(engaged=True, actor="e2e", reason="drill")
    sids = [
        service.start_swarm(f"release drill {i}", actor="e2e", budget=Budget(usd=5))[0]
        for i in range(SWARMS)
    ]
    # Every lead's doorbell found the switch engaged and left its goal unread.
    assert wait_until(lambda: _turn_lines(log, "inactive") - halted_before >= SWARMS, 120)
    assert not any(a.get("turns") for sid in sids for a in store.list_agents(sid, limit=10))

    service.set_kill_switch(engaged=False, actor="e2e", reason="drill over")
    assert wait_until(lambda: _resumed(store, sids), 240, every=0.5), [
        (sid, [(a["id"], a.get("turns"), a.get("lease"), a.get("activity")) for a in agents])
        for sid in sids
        if not _resumed(store, [sid]) and (agents := store.list_agents(sid, limit=10))
    ]
    for sid in sids:
        for a in store.list_agents(sid, limit=10):
            assert a["status"] == "idle" and "recovered" not in (a.get("activity") or ""), a
            if a["id"] != "lead":  # the spawn granted its first allowance
                assert a["allowance"]["usd"] > 0, a
    logs = {p.name: p.read_text() for p in Path(full_stack.run_dir).glob("*.log")}
    failed = {name: [m for m in CONTENTION if m in text] for name, text in logs.items()}
    assert not {name: ms for name, ms in failed.items() if ms}
