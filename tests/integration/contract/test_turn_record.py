"""The release's timeline record, carried out by both stores: written in the release's own
transaction (no round trip of its own), only by the turn that holds the lease, once per turn."""

from __future__ import annotations

import datetime as dt

from cloudswarm.core import lease, paths, timeline
from cloudswarm.core.models import Turn
from tests.integration.contract.test_team import acquire, new_swarm, ok

AT = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def record(turn_id: str, outcome: str = "done") -> dict:
    log = timeline.TurnLog(AT, started=0.0)
    log.model_call(1, 0.0, 1.5, tokens=120, cost=0.002)
    log.tool_call("claim_task", 1.5, 1.6, is_error=False)
    return timeline.turn_record(
        log, turn_id=turn_id, agent_id="lead", turn=0, outcome=outcome, detail="", ended=2.0
    )


def release(store, sid: str, turn_id: str, rec: dict | None) -> bool:
    rule = lease.release_lease(sid, "lead", turn_id, {"turns": 1}, record=rec)
    return ok(store, rule)["wake"]


def test_release_writes_the_turn_record_with_the_lease(store):
    sid = new_swarm(store)["swarm_id"]
    assert acquire(store, sid, "turn-1").kind == "acquired"
    release(store, sid, "turn-1", record("turn-1"))
    doc = store.executor.get(paths.turn(sid, "turn-1"))
    assert doc is not None
    rec = Turn.from_doc("turn-1", doc)
    assert (rec.agent_id, rec.outcome, rec.calls, rec.tokens) == ("lead", "done", 1, 120)
    assert rec.tools[0].name == "claim_task" and rec.model_calls[0].dur_s == 1.5
    assert isinstance(rec.ended_at, dt.datetime)  # the commit time, stamped by the store
    agent = store.executor.get(paths.agent(sid, "lead"))
    assert agent["lease"] is None and agent["turns"] == 1


def test_a_release_that_is_not_the_lease_holders_writes_no_record(store):
    sid = new_swarm(store)["swarm_id"]
    assert acquire(store, sid, "turn-1", ttl=0).kind == "acquired"
    assert acquire(store, sid, "turn-2").kind == "acquired"  # took the expired lease over
    release(store, sid, "turn-1", record("turn-1"))  # the dead turn's late release
    assert store.executor.get(paths.turn(sid, "turn-1")) is None
    release(store, sid, "turn-2", None)  # a release without a record writes none
    assert store.executor.get(paths.turn(sid, "turn-2")) is None


def test_a_replayed_release_leaves_one_record(store):
    sid = new_swarm(store)["swarm_id"]
    acquire(store, sid, "turn-1")
    release(store, sid, "turn-1", record("turn-1"))
    release(store, sid, "turn-1", record("turn-1", outcome="idle"))  # the lease is gone: no-op
    doc = store.executor.get(paths.turn(sid, "turn-1"))
    assert doc is not None and doc["outcome"] == "done"
